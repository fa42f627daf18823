/*
 * control_client.h — the C client of a mounted fsynclab filesystem's control socket (protocol in
 * fusefs/control.h). `fsynclab inject|clear|status|reboot` and the scenario runner both use it, so
 * a rule is spelled one way everywhere: control_client_rule_from_argv() turns `fsynclab inject`
 * options into the rule object the daemon takes.
 *
 * Every call connects to the socket of mount point MNT, sends one JSON line, waits (with a timeout)
 * for one line back, and closes. Errors come back as a negative errno plus a one-line message in
 * err: -ENOENT/-ECONNREFUSED "no fsynclab daemon for MNT", -ETIMEDOUT, or the daemon's own reason
 * (with its errno when it sent one, else -EIO).
 */
#ifndef FSYNCLAB_CONTROL_CLIENT_H
#define FSYNCLAB_CONTROL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Default time to wait for an answer; reboot and sync wait longer (they do the work first). */
#define CONTROL_CLIENT_TIMEOUT_MS      10000
#define CONTROL_CLIENT_LONG_TIMEOUT_MS 300000

/*
 * control_client_request - send REQ (not consumed) to the daemon serving MNT and return its answer
 * in *resp (the caller decrefs). Succeeds only for an {"ok":true,...} answer. timeout_ms bounds the
 * whole exchange (<= 0: CONTROL_CLIENT_TIMEOUT_MS). Returns 0 or -errno with a message in err.
 */
int control_client_request(const char *mnt, json_t *req, int timeout_ms, json_t **resp, char *err,
                           size_t errlen);

/* control_client_ping - is a daemon serving MNT? *info (may be NULL) gets {"pid","mountpoint",..}. */
int control_client_ping(const char *mnt, json_t **info, char *err, size_t errlen);

/* control_client_inject - arm RULE (not consumed). Returns the rule id (> 0) or -errno. */
int64_t control_client_inject(const char *mnt, json_t *rule, char *err, size_t errlen);

/* control_client_clear - disarm rule ID, or every rule when ID is 0. Returns 0 or -errno. */
int control_client_clear(const char *mnt, uint64_t id, char *err, size_t errlen);

/* control_client_status - the daemon's status object (rules, files, errors...) in *status. */
int control_client_status(const char *mnt, json_t **status, char *err, size_t errlen);

/* control_client_reboot - power cut; returns once the daemon has dropped its cache. */
int control_client_reboot(const char *mnt, char *err, size_t errlen);

/* control_client_sync - write back every dirty page, like sync(1). */
int control_client_sync(const char *mnt, char *err, size_t errlen);

/*
 * control_client_rule_from_argv - build a rule object from `fsynclab inject` options (ARGV holds
 * only the options: "--op", "writeback", "--block", "0", ...; both "--opt VALUE" and "--opt=VALUE").
 * block_size is not needed: blocks stay block numbers and the daemon converts them. The rule is
 * also checked with fault_rule_validate_json(). Returns 0 with *rule set (the caller decrefs), or
 * -EINVAL with a message in err that names the offending word.
 */
int control_client_rule_from_argv(int argc, char **argv, json_t **rule, char *err, size_t errlen);

/*
 * control_client_rule_describe - one line for a rule object (as given, or from status with its
 * counters): "writeback *.log block 0 -> EIO [times 1]". Missing keys are left out, never fatal.
 * Writes at most len bytes into buf (always terminated) and returns buf.
 */
char *control_client_rule_describe(json_t *rule, char *buf, size_t len);

/* control_client_inject_usage - the option summary of `fsynclab inject`, for help texts. */
const char *control_client_inject_usage(void);

#endif
