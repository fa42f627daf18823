/*
 * commands.h — the table of `fsynclab` subcommands.
 *
 * Each subcommand lives in its own file (harness/cmd_<name>.c) and has the signature of main():
 * it parses its own arguments (argv[0] is the subcommand name) and returns the process exit status
 * (0 success, 1 a check or operation failed, 2 bad usage).
 */
#ifndef FSYNCLAB_COMMANDS_H
#define FSYNCLAB_COMMANDS_H

int cmd_wal(int argc, char **argv);     /* wal dump DIR [--json]                    (cmd_wal.c) */
int cmd_bench(int argc, char **argv);   /* bench wal|fs ...                         (cmd_bench.c) */
int cmd_mount(int argc, char **argv);   /* mount [opts] BACKING MNT                 (cmd_mount.c) */
int cmd_inject(int argc, char **argv);  /* inject MNT --op OP ...                   (cmd_inject.c) */
int cmd_clear(int argc, char **argv);   /* clear MNT [ID]                           (cmd_clear.c) */
int cmd_reboot(int argc, char **argv);  /* reboot MNT: power cut                    (cmd_reboot.c) */
int cmd_status(int argc, char **argv);  /* status MNT [--json]                      (cmd_status.c) */
int cmd_umount(int argc, char **argv);  /* umount MNT: clean shutdown               (cmd_umount.c) */
int cmd_compare(int argc, char **argv); /* compare [SCENARIO|DIR ...]: emulated vs kernel (cmd_compare.c) */
int cmd_run(int argc, char **argv);     /* run [SCENARIO|DIR ...] [opts]            (cmd_run.c) */

/* `bench` subcommands, each in its own file. */
int bench_wal(int argc, char **argv); /* bench wal ... (bench_wal.c) */
int bench_fs(int argc, char **argv);  /* bench fs ...  (bench_fs.c) */

#endif
