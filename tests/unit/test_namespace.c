/*
 * test_namespace.c — the namespace journal (fusefs/namespace.c) on a real temporary directory,
 * without a mount: every operation is undone newest first to exactly the durable namespace, and
 * each commit rule (journal, per-inode, posix; the periodic commit) makes durable what it should,
 * with the earlier operations those depend on.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "namespace.h"

struct fixture {
	char dir[64];
	int rootfd;
	struct namespace *ns;
};

static int rm_rf(const char *path)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int setup_rule(void **state, enum namespace_rule rule)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_namespace.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->rootfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0 || namespace_new(f->rootfd, rule, false, &f->ns) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_journal(void **state)
{
	return setup_rule(state, NAMESPACE_RULE_JOURNAL);
}

static int setup_per_inode(void **state)
{
	return setup_rule(state, NAMESPACE_RULE_PER_INODE);
}

static int setup_posix(void **state)
{
	return setup_rule(state, NAMESPACE_RULE_POSIX);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	namespace_free(f->ns);
	close(f->rootfd);
	assert_int_equal(rm_rf(f->dir), 0);
	free(f);
	return 0;
}

/* ---- helpers: operations as the ops_*.c files do them ---- */

static void full(struct fixture *f, const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", f->dir, rel);
}

static bool exists(struct fixture *f, const char *rel)
{
	char p[256];
	struct stat st;

	full(f, rel, p, sizeof(p));
	return lstat(p, &st) == 0;
}

static int dirfd_of(struct fixture *f, const char *rel)
{
	char p[256];

	full(f, rel, p, sizeof(p));
	return open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Write TEXT to REL directly (the "disk"), no journal: durable content. */
static void put(struct fixture *f, const char *rel, const char *text)
{
	char p[256];
	int fd;

	full(f, rel, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void get(struct fixture *f, const char *rel, char *buf, size_t len)
{
	char p[256];
	ssize_t n;
	int fd;

	full(f, rel, p, sizeof(p));
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void stat_of(struct fixture *f, const char *rel, struct stat *st)
{
	char p[256];

	full(f, rel, p, sizeof(p));
	assert_int_equal(lstat(p, st), 0);
}

/* Create REL (a file, or a directory when DIR) through the journal. */
static void ns_make(struct fixture *f, const char *rel, bool dir)
{
	char p[256];
	struct stat st;

	full(f, rel, p, sizeof(p));
	namespace_lock(f->ns);
	assert_int_equal(dir ? mkdir(p, 0755) : mknod(p, S_IFREG | 0644, 0), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(namespace_record_locked(f->ns, dir ? NAMESPACE_OP_MKDIR : NAMESPACE_OP_CREATE, rel,
	                                         st.st_dev, st.st_ino),
	                 0);
	namespace_unlock(f->ns);
}

static int ns_unlink(struct fixture *f, const char *dir, const char *name, bool isdir)
{
	int dfd = dirfd_of(f, dir), rc;

	assert_true(dfd >= 0);
	rc = namespace_unlink(f->ns, dfd, dir, name, isdir);
	close(dfd);
	return rc;
}

static int ns_rename(struct fixture *f, const char *od, const char *on, const char *nd, const char *nn,
                     unsigned flags)
{
	int ofd = dirfd_of(f, od), nfd = dirfd_of(f, nd), rc;

	assert_true(ofd >= 0 && nfd >= 0);
	rc = namespace_rename(f->ns, ofd, od, on, nfd, nd, nn, flags);
	close(ofd);
	close(nfd);
	return rc;
}

static int ns_truncate(struct fixture *f, const char *rel, uint64_t size)
{
	char p[256];
	int fd, rc;

	full(f, rel, p, sizeof(p));
	fd = open(p, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	rc = namespace_truncate(f->ns, -1, fd, rel, size);
	close(fd);
	return rc;
}

static int commit_file(struct fixture *f, const char *rel, bool dir)
{
	struct stat st;

	stat_of(f, rel, &st);
	return namespace_commit_fsync(f->ns, dir, rel, st.st_dev, st.st_ino);
}

/* ---- undo ---- */

/* Every kind of operation is undone, newest first, to the durable namespace. */
static void test_power_cut_undoes_every_operation(void **state)
{
	struct fixture *f = *state;
	char buf[64];

	put(f, "target", "old target");
	put(f, "victim", "unlinked");
	put(f, "cut", "0123456789");
	ns_make(f, "d", true);
	ns_make(f, "d/new", false);
	put(f, "src", "new target");
	assert_int_equal(ns_rename(f, "", "src", "", "target", 0), 0);
	assert_int_equal(ns_unlink(f, "", "victim", false), 0);
	assert_int_equal(ns_truncate(f, "cut", 4), 0);
	assert_int_equal(namespace_pending_older(f->ns, 0), 5);
	assert_false(exists(f, "victim"));
	get(f, "target", buf, sizeof(buf));
	assert_string_equal(buf, "new target");

	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 5);
	assert_false(exists(f, "d"));
	get(f, "target", buf, sizeof(buf));
	assert_string_equal(buf, "old target");
	get(f, "src", buf, sizeof(buf));
	assert_string_equal(buf, "new target");
	get(f, "victim", buf, sizeof(buf));
	assert_string_equal(buf, "unlinked");
	get(f, "cut", buf, sizeof(buf));
	assert_string_equal(buf, "0123456789");
	assert_int_equal(namespace_pending_older(f->ns, 0), 0);
	/* Nothing is left in the hidden directory. */
	assert_true(exists(f, NAMESPACE_HIDDEN_NAME));
	{
		char p[256], cmd[300];

		full(f, NAMESPACE_HIDDEN_NAME, p, sizeof(p));
		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", p);
		assert_int_equal(system(cmd), 0);
	}
}

/* rmdir, a directory rename, rename flags, and a directory replacing an empty one. */
static void test_directories_and_rename_flags(void **state)
{
	struct fixture *f = *state;
	char p[256];

	assert_int_equal(mkdir((full(f, "empty", p, sizeof(p)), p), 0755), 0);
	assert_int_equal(mkdir((full(f, "full", p, sizeof(p)), p), 0755), 0);
	put(f, "full/x", "x");
	put(f, "a", "A");
	put(f, "b", "B");
	assert_int_equal(ns_unlink(f, "", "full", true), -ENOTEMPTY);
	assert_int_equal(ns_unlink(f, "", "a", true), -ENOTDIR);
	assert_int_equal(ns_unlink(f, "", "full", false), -EISDIR);
	assert_int_equal(ns_rename(f, "", "a", "", "b", RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(ns_rename(f, "", "a", "", "b", RENAME_EXCHANGE), 0);
	ns_make(f, "newdir", true);
	assert_int_equal(ns_rename(f, "", "newdir", "", "empty", 0), 0); /* over an empty directory */
	assert_int_equal(ns_rename(f, "", "full", "", "moved", 0), 0);
	assert_int_equal(ns_unlink(f, "moved", "x", false), 0);
	assert_int_equal(namespace_pending_older(f->ns, 0), 5);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 5);
	{
		char buf[8];

		get(f, "a", buf, sizeof(buf));
		assert_string_equal(buf, "A");
		get(f, "full/x", buf, sizeof(buf));
		assert_string_equal(buf, "x");
	}
	assert_true(exists(f, "empty"));
	assert_false(exists(f, "newdir"));
	assert_false(exists(f, "moved"));
}

/* Undo reports every name it changed (for the kernel's dentries). */
struct seen {
	char names[8][64];
	int n;
};

static void touched(void *arg, const char *parent, const char *name)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->names[s->n++], 64, "%s|%s", parent, name);
}

static void test_undo_reports_touched_names(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};

	ns_make(f, "d", true);
	ns_make(f, "d/f", false);
	assert_int_equal(namespace_undo_all(f->ns, touched, &s), 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "d|f");
	assert_string_equal(s.names[1], "|d");
}

/* An unlinked name kept for undo is not a link, and /proc's view of it maps to its old name. */
static void test_hidden_links_and_stash_origin(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char p[256], origin[64];
	int fd;

	put(f, "gone", "g");
	stat_of(f, "gone", &st);
	full(f, "gone", p, sizeof(p));
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(namespace_hidden_links(f->ns, st.st_dev, st.st_ino), 0);
	assert_int_equal(ns_unlink(f, "", "gone", false), 0);
	assert_int_equal(namespace_hidden_links(f->ns, st.st_dev, st.st_ino), 1);
	{
		char proc[64], link[512];
		ssize_t n;
		size_t dl = strlen(f->dir);

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		n = readlink(proc, link, sizeof(link) - 1);
		assert_true(n > 0);
		link[n] = '\0';
		assert_true(namespace_stash_origin(f->ns, link + dl + 1, origin, sizeof(origin)));
		assert_string_equal(origin, "gone");
		assert_false(namespace_stash_origin(f->ns, "gone", origin, sizeof(origin)));
	}
	assert_int_equal(namespace_commit_older(f->ns, 0), 1);
	assert_int_equal(namespace_hidden_links(f->ns, st.st_dev, st.st_ino), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_nlink, 0); /* committed: really gone */
	close(fd);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 0);
	assert_false(exists(f, "gone"));
}

/* ---- commit rules ---- */

/* Journal: an fsync of anything commits every earlier operation; a later one stays pending. */
static void test_journal_commits_everything(void **state)
{
	struct fixture *f = *state;

	ns_make(f, "a", false);
	ns_make(f, "d", true);
	put(f, "other", "o");
	assert_int_equal(commit_file(f, "other", false), 2);
	ns_make(f, "late", false);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 1);
	assert_true(exists(f, "a"));
	assert_true(exists(f, "d"));
	assert_false(exists(f, "late"));
}

/* Per-inode (btrfs): a file's fsync commits its own entries (and new parents), nothing else. */
static void test_per_inode_file_fsync(void **state)
{
	struct fixture *f = *state;

	ns_make(f, "unrelated", false);
	ns_make(f, "n1", true);
	ns_make(f, "n1/f", false);
	ns_make(f, "n1/sibling", false);
	put(f, "n1/f", "data");
	assert_int_equal(commit_file(f, "n1/f", false), 2); /* n1/f, and the mkdir it depends on */
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 2);
	assert_true(exists(f, "n1/f"));
	assert_false(exists(f, "n1/sibling"));
	assert_false(exists(f, "unrelated"));
}

/* Per-inode: a directory fsync commits that directory's entries; a rename commits with its file. */
static void test_per_inode_dir_fsync_and_rename(void **state)
{
	struct fixture *f = *state;
	char p[256];

	assert_int_equal(mkdir((full(f, "d1", p, sizeof(p)), p), 0755), 0);
	assert_int_equal(mkdir((full(f, "d2", p, sizeof(p)), p), 0755), 0);
	ns_make(f, "d1/x", false);
	ns_make(f, "d2/y", false);
	assert_int_equal(commit_file(f, "d1", true), 1);
	put(f, "tmp", "v2");
	assert_int_equal(ns_rename(f, "", "tmp", "", "data", 0), 0);
	assert_int_equal(commit_file(f, "data", false), 1);
	ns_make(f, "d2/z", false);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 2);
	assert_true(exists(f, "d1/x"));
	assert_false(exists(f, "d2/y"));
	assert_false(exists(f, "d2/z"));
	assert_true(exists(f, "data"));
	assert_false(exists(f, "tmp"));
}

/* btrfs logs a file's whole directory when that directory lost an entry (rename or unlink out of
 * it) in the running transaction: an unrelated file's fsync then persists the rename. */
static void test_per_inode_directory_with_rename_is_logged_whole(void **state)
{
	struct fixture *f = *state;
	char p[256];

	assert_int_equal(mkdir((full(f, "d", p, sizeof(p)), p), 0755), 0);
	put(f, "other", "o");
	put(f, "d/other", "o");
	put(f, "tmp", "v2");
	ns_make(f, "d/new", false);
	assert_int_equal(commit_file(f, "d/other", false), 0); /* d lost nothing: only d/other's own */
	assert_int_equal(ns_rename(f, "", "tmp", "", "config", 0), 0);
	ns_make(f, "sibling", false);
	assert_int_equal(commit_file(f, "d/other", false), 0);
	assert_int_equal(commit_file(f, "other", false), 2); /* "" lost tmp: the rename and sibling */
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 1);
	assert_true(exists(f, "config"));
	assert_true(exists(f, "sibling"));
	assert_false(exists(f, "d/new"));
}

/* A committed operation pulls in the earlier ones on related paths (dir rename then a create). */
static void test_closure_over_directory_rename(void **state)
{
	struct fixture *f = *state;

	ns_make(f, "a", true);
	ns_make(f, "a/x", false);
	assert_int_equal(ns_rename(f, "", "a", "", "b", 0), 0);
	ns_make(f, "b/y", false);
	ns_make(f, "elsewhere", false);
	assert_int_equal(commit_file(f, "b/y", false), 4);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 1);
	assert_true(exists(f, "b/x"));
	assert_true(exists(f, "b/y"));
	assert_false(exists(f, "elsewhere"));
}

/* Truncates of one inode commit together with its fsync; a truncate undo restores the bytes. */
static void test_per_inode_truncate(void **state)
{
	struct fixture *f = *state;
	char buf[32];

	put(f, "t", "0123456789");
	put(f, "u", "abcdef");
	assert_int_equal(ns_truncate(f, "t", 8), 0);
	assert_int_equal(ns_truncate(f, "t", 2), 0);
	assert_int_equal(ns_truncate(f, "t", 2), 0); /* no change: not recorded */
	assert_int_equal(ns_truncate(f, "u", 1), 0);
	assert_int_equal(namespace_pending_older(f->ns, 0), 3);
	assert_int_equal(commit_file(f, "t", false), 2);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 1);
	get(f, "t", buf, sizeof(buf));
	assert_string_equal(buf, "01");
	get(f, "u", buf, sizeof(buf));
	assert_string_equal(buf, "abcdef");
}

/* POSIX minimum: a file's fsync persists its size, never a name; the directory fsync does. */
static void test_posix_only_directory_fsync_persists_names(void **state)
{
	struct fixture *f = *state;

	put(f, "t", "0123");
	ns_make(f, "seg.tmp", false);
	assert_int_equal(ns_rename(f, "", "seg.tmp", "", "seg", 0), 0);
	assert_int_equal(ns_truncate(f, "t", 1), 0);
	assert_int_equal(commit_file(f, "seg", false), 0);
	assert_int_equal(commit_file(f, "t", false), 1);
	ns_make(f, "later", false);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 3);
	assert_false(exists(f, "seg"));
	assert_false(exists(f, "seg.tmp"));
	ns_make(f, "seg", false);
	assert_int_equal(commit_file(f, "", true), 1);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 0);
	assert_true(exists(f, "seg"));
}

/* The periodic commit takes operations at least as old as the interval. */
static void test_commit_older(void **state)
{
	struct fixture *f = *state;
	struct timespec ts = {0, 60 * 1000 * 1000};

	ns_make(f, "old", false);
	nanosleep(&ts, NULL);
	ns_make(f, "young", false);
	assert_int_equal(namespace_pending_older(f->ns, 50 * 1000 * 1000), 1);
	assert_int_equal(namespace_commit_older(f->ns, 50 * 1000 * 1000), 1);
	assert_int_equal(namespace_undo_all(f->ns, NULL, NULL), 1);
	assert_true(exists(f, "old"));
	assert_false(exists(f, "young"));
}

/* Leftovers of a killed daemon are emptied at the next start; status lists pending operations. */
static void test_leftovers_and_status(void **state)
{
	struct fixture *f = *state;
	struct namespace *again;
	json_t *st;
	char p[256];

	put(f, "x", "x");
	assert_int_equal(ns_unlink(f, "", "x", false), 0);
	st = namespace_status_json(f->ns);
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(st, "rule")), "journal");
	assert_int_equal(json_array_size(json_object_get(st, "pending")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(st, "pending"), 0), "op")),
	    "unlink");
	json_decref(st);
	assert_int_equal(namespace_new(f->rootfd, NAMESPACE_RULE_JOURNAL, true, &again), 0);
	full(f, NAMESPACE_HIDDEN_NAME, p, sizeof(p));
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", p);
		assert_int_equal(system(cmd), 0);
	}
	namespace_free(again);
	assert_true(namespace_is_hidden(NAMESPACE_HIDDEN_NAME));
	assert_false(namespace_is_hidden("x"));
	assert_int_equal(namespace_rule_for_profile("btrfs"), NAMESPACE_RULE_PER_INODE);
	assert_int_equal(namespace_rule_for_profile("xfs"), NAMESPACE_RULE_JOURNAL);
	assert_int_equal(namespace_rule_for_profile("keep-dirty"), NAMESPACE_RULE_JOURNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_cut_undoes_every_operation, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_directories_and_rename_flags, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_undo_reports_touched_names, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_hidden_links_and_stash_origin, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_commits_everything, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_per_inode_file_fsync, setup_per_inode, teardown),
	    cmocka_unit_test_setup_teardown(test_per_inode_dir_fsync_and_rename, setup_per_inode, teardown),
	    cmocka_unit_test_setup_teardown(test_per_inode_directory_with_rename_is_logged_whole,
	                                    setup_per_inode, teardown),
	    cmocka_unit_test_setup_teardown(test_closure_over_directory_rename, setup_per_inode, teardown),
	    cmocka_unit_test_setup_teardown(test_per_inode_truncate, setup_per_inode, teardown),
	    cmocka_unit_test_setup_teardown(test_posix_only_directory_fsync_persists_names, setup_posix,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_commit_older, setup_journal, teardown),
	    cmocka_unit_test_setup_teardown(test_leftovers_and_status, setup_journal, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
