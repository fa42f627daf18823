/*
 * runner_kernel.c — the scenario runner's real-kernel backend (see runner_kernel.h): setup, rule
 * translation from "block N of a story file" to the image's bytes, power cut, sync, state, cleanup.
 *
 * Known limitations: a rule's path glob is matched against the files that exist when the rule is
 * armed (a file created later is not covered); trigger counters (times, after, nth, sequence)
 * count FUSE requests on the image, which the loop device may merge or split differently from the
 * emulation's page writebacks; the dm backend takes one extent and errno EIO only.
 */
#include "runner_kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "control_client.h"

static const char *const cache_none_args[] = {"--cache", "none", NULL};
static const char *const no_args[] = {NULL};

const char *const *runner_kernel_mount_args(const struct scenario *sc)
{
	return sc->kernel.backend == SCENARIO_BACKEND_EMULATED ? no_args : cache_none_args;
}

int runner_kernel_setup(const struct scenario *sc, const char *fuse_mnt, const char *dir,
                        struct runner_kernel **out, char *err, size_t errlen)
{
	*out = NULL;
	if (sc->kernel.backend == SCENARIO_BACKEND_DM && !kernel_dm_available()) {
		snprintf(err, errlen, "%s", KERNEL_DM_UNAVAILABLE);
		return -ENODEV;
	}
	struct runner_kernel *rk = calloc(1, sizeof(*rk));
	if (!rk) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char inner[PATH_MAX];
	if ((size_t)snprintf(inner, sizeof(inner), "%s/inner", dir) >= sizeof(inner)) {
		free(rk);
		snprintf(err, errlen, "path too long: %s", dir);
		return -ENAMETOOLONG;
	}
	struct kernel_backend_opts opts = {
	    .fs = (enum kernel_fs)sc->kernel.fs,
	    .fuse_mnt = fuse_mnt,
	    .image_name = "kernel.img",
	    .mkfs_options = sc->kernel.mkfs_options,
	    .mount_options = sc->kernel.mount_options,
	    .inner_mnt = inner,
	    .device_mapper = sc->kernel.backend == SCENARIO_BACKEND_DM,
	};
	int rc = kernel_backend_setup(&opts, &rk->kb);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rk->kb.err);
		free(rk);
		return rc;
	}
	rk->next_dm_id = 1u << 30;
	/* The kernel log, from now on: how the fs says it stopped (see runner_kernel_fs_state). */
	rk->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rk->kmsg_fd >= 0 && lseek(rk->kmsg_fd, 0, SEEK_END) < 0) {
		close(rk->kmsg_fd);
		rk->kmsg_fd = -1;
	}
	struct stat dst;
	if (rk->kb.dm_name[0] && stat(rk->kb.fs_dev, &dst) == 0)
		snprintf(rk->kdev, sizeof(rk->kdev), "dm-%u", minor(dst.st_rdev));
	else
		snprintf(rk->kdev, sizeof(rk->kdev), "%s", rk->kb.loop_dev + strlen("/dev/"));
	rk->rule_block_size = sc->options.block_size ? sc->options.block_size : 4096;
	*out = rk;
	return 0;
}

const char *runner_kernel_root(const struct runner_kernel *rk)
{
	return rk->kb.inner_mnt;
}

/* ---- Rule translation ---------------------------------------------------------------------------- */

/* Files under the inner fs matching a glob, collected by nftw (which has no user pointer). */
static struct {
	const char *root;
	const char *glob;
	char (*paths)[PATH_MAX];
	size_t n, cap;
} walk;

static int walk_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	const char *rel = path + strlen(walk.root);
	while (*rel == '/')
		rel++;
	if (fnmatch(walk.glob, rel, 0) != 0 || walk.n >= walk.cap)
		return 0;
	snprintf(walk.paths[walk.n++], PATH_MAX, "%s", rel);
	return 0;
}

/* An image byte range, and the list being built for one scenario rule. */
struct range {
	uint64_t start, end;
};

struct ranges {
	struct range r[RUNNER_KERNEL_MAX_RULES];
	size_t n;
};

/* ranges_add - add [start, end), merging with a neighbour. -E2BIG when there are too many. */
static int ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].end == start) {
			rs->r[i].end = end;
			return 0;
		}
		if (rs->r[i].start == end) {
			rs->r[i].start = start;
			return 0;
		}
		if (start >= rs->r[i].start && end <= rs->r[i].end)
			return 0;
	}
	if (rs->n >= RUNNER_KERNEL_MAX_RULES)
		return -E2BIG;
	rs->r[rs->n].start = start;
	rs->r[rs->n].end = end;
	rs->n++;
	return 0;
}

/*
 * map_file_range - add the image ranges holding bytes [off, end) of REL (end = 0: the whole file).
 */
static int map_file_range(struct runner_kernel *rk, const char *rel, uint64_t off, uint64_t end,
                          struct ranges *rs, char *err, size_t errlen)
{
	struct kernel_backend *kb = &rk->kb;
	if (end == 0) {
		char path[PATH_MAX + 8];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", kb->inner_mnt, rel);
		if (stat(path, &st) < 0) {
			snprintf(err, errlen, "%s: %s", rel, strerror(errno));
			return -errno;
		}
		end = (uint64_t)st.st_size;
		if (end == 0)
			return 0;
	}
	uint64_t bs = kb->block_size;
	for (uint64_t b = off / bs; b * bs < end; b++) {
		struct kernel_extent ext;
		int rc = kernel_backend_map_block_nosync(kb, rel, b, &ext);
		if (rc == -ENODATA) {
			/* Delayed allocation (or a hole): the block has no place on the device yet.
			 * Writing it back to give it one would change the story, so refuse. */
			snprintf(err, errlen,
			         "block %llu of %s has no place on the device yet (delayed allocation): the "
			         "kernel backend can only fail blocks already written back; fsync the file "
			         "before the fault",
			         (unsigned long long)b, rel);
			return -EOPNOTSUPP;
		}
		if (rc < 0) {
			snprintf(err, errlen, "%s block %llu: %s", rel, (unsigned long long)b, kb->err);
			return rc;
		}
		if ((rc = ranges_add(rs, ext.image_offset, ext.image_offset + ext.length)) < 0) {
			snprintf(err, errlen, "%s is in more than %d pieces on the device", rel,
			         RUNNER_KERNEL_MAX_RULES);
			return rc;
		}
	}
	return 0;
}

/* rule_byte_range - the scenario rule's range within a file in bytes; end 0 = the whole file. */
static void rule_byte_range(json_t *rule, uint32_t block_size, uint64_t *off, uint64_t *end)
{
	json_t *v;
	*off = 0;
	*end = 0;
	if ((v = json_object_get(rule, "block")) != NULL) {
		*off = (uint64_t)json_integer_value(v) * block_size;
		*end = *off + block_size;
	} else if ((v = json_object_get(rule, "blocks")) != NULL) {
		*off = (uint64_t)json_integer_value(json_array_get(v, 0)) * block_size;
		*end = ((uint64_t)json_integer_value(json_array_get(v, 1)) + 1) * block_size;
	} else if ((v = json_object_get(rule, "offset")) != NULL) {
		*off = (uint64_t)json_integer_value(v);
		*end = *off + (uint64_t)json_integer_value(json_object_get(rule, "length"));
	}
}

/* The keys a scenario rule keeps when it moves to the image: its effect and its trigger. */
static const char *const carried_keys[] = {"errno", "effect",   "delay",       "times", "after",
                                           "nth",   "sequence", "probability", "seed",  NULL};

/* image_rule - a new rule on the image: OP, optional range, carried keys from RULE. */
static json_t *image_rule(struct runner_kernel *rk, const char *op, json_t *rule, const struct range *range)
{
	json_t *r = json_object();
	if (!r)
		return NULL;
	json_object_set_new(r, "op", json_string(op));
	json_object_set_new(r, "path", json_string(rk->kb.image_name));
	if (range) {
		json_object_set_new(r, "offset", json_integer((json_int_t)range->start));
		json_object_set_new(r, "length", json_integer((json_int_t)(range->end - range->start)));
	}
	for (size_t i = 0; carried_keys[i]; i++) {
		json_t *v = json_object_get(rule, carried_keys[i]);
		if (v)
			json_object_set(r, carried_keys[i], v);
	}
	return r;
}

/* arm_image_rules - inject one image rule per range (or one unranged if rs is NULL). */
static int64_t arm_image_rules(struct runner_kernel *rk, const char *op, json_t *rule,
                               const struct ranges *rs, char *err, size_t errlen)
{
	if (rk->n_rules >= RUNNER_KERNEL_MAX_RULES) {
		snprintf(err, errlen, "more than %d rules", RUNNER_KERNEL_MAX_RULES);
		return -E2BIG;
	}
	struct runner_kernel_rule *kr = &rk->rules[rk->n_rules];
	memset(kr, 0, sizeof(*kr));
	size_t count = rs ? rs->n : 1;
	for (size_t i = 0; i < count; i++) {
		json_t *r = image_rule(rk, op, rule, rs ? &rs->r[i] : NULL);
		if (!r) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		int64_t id = control_client_inject(rk->kb.fuse_mnt, r, err, errlen);
		json_decref(r);
		if (id < 0) {
			for (size_t k = 0; k < kr->n_image_ids; k++) {
				char ignored[128];
				if (control_client_clear(rk->kb.fuse_mnt, kr->image_ids[k], ignored,
				                         sizeof(ignored)) < 0)
					break;
			}
			return id;
		}
		kr->image_ids[kr->n_image_ids++] = (uint64_t)id;
	}
	kr->id = kr->image_ids[0];
	rk->n_rules++;
	return (int64_t)kr->id;
}

/* arm_dm_rule - the dm backend: an error table over the one range (errno EIO, no trigger). */
static int64_t arm_dm_rule(struct runner_kernel *rk, json_t *rule, const struct ranges *rs, char *err,
                           size_t errlen)
{
	const char *e = json_string_value(json_object_get(rule, "errno"));
	if (!e || strcmp(e, "EIO") != 0 || json_object_get(rule, "times") || json_object_get(rule, "after") ||
	    json_object_get(rule, "nth") || json_object_get(rule, "sequence") ||
	    json_object_get(rule, "probability")) {
		snprintf(err, errlen,
		         "backend dm fails sectors with EIO, always: no other errno, effect or trigger");
		return -EOPNOTSUPP;
	}
	if (rs->n != 1 || rk->n_rules >= RUNNER_KERNEL_MAX_RULES) {
		snprintf(err, errlen, "backend dm takes one contiguous range (this rule covers %zu)", rs->n);
		return -EOPNOTSUPP;
	}
	struct kernel_extent ext = {rs->r[0].start, rs->r[0].end - rs->r[0].start};
	int rc = kernel_dm_fail_extent(&rk->kb, &ext);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rk->kb.err);
		return rc;
	}
	struct runner_kernel_rule *kr = &rk->rules[rk->n_rules++];
	memset(kr, 0, sizeof(*kr));
	kr->id = rk->next_dm_id++;
	kr->dm = true;
	return (int64_t)kr->id;
}

int64_t runner_kernel_inject(struct runner_kernel *rk, json_t *rule, char *err, size_t errlen)
{
	rk->note[0] = '\0';
	const char *op = json_string_value(json_object_get(rule, "op"));
	const char *effect = json_string_value(json_object_get(rule, "effect"));
	const char *glob = json_string_value(json_object_get(rule, "path"));
	bool dm = rk->kb.dm_name[0] != '\0';
	if (!op) {
		snprintf(err, errlen, "rule without op");
		return -EINVAL;
	}
	if (effect && strcmp(effect, "misdirected") == 0) {
		snprintf(err, errlen,
		         "effect misdirected would scribble over the inner filesystem's own blocks");
		return -EOPNOTSUPP;
	}
	if (strcmp(op, "journal") == 0) {
		if (dm) {
			snprintf(err, errlen,
			         "backend dm cannot fail only cache flushes (use backend kernel)");
			return -EOPNOTSUPP;
		}
		snprintf(rk->note, sizeof(rk->note),
		         "journal: the loop device's cache flush (FUSE fsync of the image)");
		return arm_image_rules(rk, "fsync", rule, NULL, err, errlen);
	}
	const char *image_op = strcmp(op, "writeback") == 0 ? "write"
	                       : strcmp(op, "read") == 0    ? "read"
	                                                    : NULL;
	if (!image_op) {
		snprintf(
		    err, errlen,
		    "op %s has no block-level meaning on a real kernel (the kernel backend moves writeback, "
		    "read and journal rules to the device)",
		    op);
		return -EOPNOTSUPP;
	}
	static char paths[256][PATH_MAX];
	walk.root = rk->kb.inner_mnt;
	walk.glob = glob ? glob : "*";
	walk.paths = paths;
	walk.n = 0;
	walk.cap = 256;
	if (nftw(rk->kb.inner_mnt, walk_one, 16, FTW_PHYS) < 0) {
		snprintf(err, errlen, "walking %s: %s", rk->kb.inner_mnt, strerror(errno));
		return -errno;
	}
	if (walk.n == 0) {
		snprintf(err, errlen,
		         "no file matches '%s' yet: the kernel backend maps rules to blocks that exist",
		         walk.glob);
		return -EOPNOTSUPP;
	}
	uint64_t off, end;
	rule_byte_range(rule, rk->rule_block_size, &off, &end);
	struct ranges rs;
	memset(&rs, 0, sizeof(rs));
	for (size_t i = 0; i < walk.n; i++) {
		int rc = map_file_range(rk, paths[i], off, end, &rs, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (rs.n == 0) {
		snprintf(err, errlen, "'%s' has no block on the device in that range", walk.glob);
		return -EOPNOTSUPP;
	}
	return dm ? arm_dm_rule(rk, rule, &rs, err, errlen)
	          : arm_image_rules(rk, image_op, rule, &rs, err, errlen);
}

int runner_kernel_clear(struct runner_kernel *rk, uint64_t id, char *err, size_t errlen)
{
	int first = 0;
	for (size_t i = 0; i < rk->n_rules; i++) {
		struct runner_kernel_rule *kr = &rk->rules[i];
		if (id != 0 && kr->id != id)
			continue;
		if (kr->dm) {
			int rc = kernel_dm_restore(&rk->kb);
			if (rc < 0 && !first) {
				first = rc;
				snprintf(err, errlen, "%s", rk->kb.err);
			}
		}
		for (size_t k = 0; k < kr->n_image_ids; k++) {
			int rc = control_client_clear(rk->kb.fuse_mnt, kr->image_ids[k], err, errlen);
			if (rc < 0 && rc != -ENOENT && !first)
				first = rc;
		}
		kr->n_image_ids = 0;
		kr->dm = false;
	}
	return first;
}

int64_t runner_kernel_hits(const struct runner_kernel *rk, uint64_t id, json_t *status_rules)
{
	int64_t hits = 0;
	for (size_t i = 0; i < rk->n_rules; i++) {
		const struct runner_kernel_rule *kr = &rk->rules[i];
		if (kr->id != id)
			continue;
		size_t j;
		json_t *rule;
		json_array_foreach(status_rules, j, rule)
		{
			uint64_t rid = (uint64_t)json_integer_value(json_object_get(rule, "id"));
			for (size_t k = 0; k < kr->n_image_ids; k++)
				if (kr->image_ids[k] == rid)
					hits += json_integer_value(json_object_get(rule, "hits"));
		}
	}
	return hits;
}

/* ---- Reboot, sync, state, cleanup ------------------------------------------------------------------ */

static void kmsg_scan(struct runner_kernel *rk);

int runner_kernel_power_cut(struct runner_kernel *rk, char *err, size_t errlen)
{
	kmsg_scan(rk); /* what the old mount said stays with it */
	int rc = kernel_backend_power_cut(&rk->kb);
	kmsg_scan(rk);
	rk->kstate[0] = '\0';
	if (rc < 0)
		snprintf(err, errlen, "%s", rk->kb.err);
	return rc;
}

int runner_kernel_sync(struct runner_kernel *rk)
{
	int fd = open(rk->kb.inner_mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* mentions_dev - does kernel log TEXT name device DEV as a whole word ("loop1" is not "loop12")? */
static bool mentions_dev(const char *text, const char *dev)
{
	size_t n = strlen(dev);
	for (const char *p = strstr(text, dev); p; p = strstr(p + 1, dev)) {
		char before = p == text ? ' ' : p[-1];
		char after = p[n];
		bool word_before = before == ' ' || before == '(' || before == '/';
		bool word_after = after == '-' || after == ')' || after == ':' || after == ' ' ||
		                  after == '\0' || after == ',' || after == '\n';
		if (word_before && word_after)
			return true;
	}
	return false;
}

/* What filesystems print when they stop, and what state that is. */
static const struct {
	const char *phrase;
	const char *state;
} stop_phrases[] = {
    {"Aborting journal", "read-only"},                /* jbd2: ext4's journal failed */
    {"Detected aborted journal", "read-only"},        /* ext4 */
    {"Remounting filesystem read-only", "read-only"}, /* ext4 errors=remount-ro */
    {"forced readonly", "read-only"},                 /* Btrfs transaction abort */
    {"BTRFS: error", "read-only"},                    /* Btrfs error state (goes read-only) */
    {"shut down", "shutdown"},                        /* XFS "Filesystem has been shut down" */
    {"Shutting down filesystem", "shutdown"},         /* XFS */
};

/* kmsg_scan - read the kernel log records that arrived since the last call. */
static void kmsg_scan(struct runner_kernel *rk)
{
	char rec[8192];
	for (int guard = 0; rk->kmsg_fd >= 0 && guard < 100000; guard++) {
		ssize_t n = read(rk->kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* records were overwritten: go on with the next */
		if (n <= 0)
			break;
		rec[n] = '\0';
		const char *text = strchr(rec, ';');
		text = text ? text + 1 : rec;
		if (!mentions_dev(text, rk->kdev))
			continue;
		for (size_t i = 0; i < sizeof(stop_phrases) / sizeof(stop_phrases[0]); i++)
			if (strstr(text, stop_phrases[i].phrase) &&
			    strcmp(rk->kstate, "shutdown") != 0) /* shutdown is the stronger word */
				snprintf(rk->kstate, sizeof(rk->kstate), "%s", stop_phrases[i].state);
	}
}

const char *runner_kernel_fs_state(struct runner_kernel *rk)
{
	if (!rk->kb.inner_mounted)
		return "unmounted";
	kmsg_scan(rk);
	DIR *d = opendir(rk->kb.inner_mnt);
	if (!d)
		return errno == EIO ? "shutdown" : "ok";
	errno = 0;
	while (readdir(d) != NULL)
		;
	int rerr = errno;
	closedir(d);
	if (rerr == EIO)
		return "shutdown";
	if (rk->kstate[0])
		return rk->kstate;
	struct statvfs sv;
	if (statvfs(rk->kb.inner_mnt, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return "read-only";
	return "ok";
}

int runner_kernel_teardown(struct runner_kernel *rk, char *err, size_t errlen)
{
	if (!rk)
		return 0;
	int rc = kernel_backend_teardown(&rk->kb);
	if (rc < 0)
		snprintf(err, errlen, "%s", rk->kb.err);
	if (rk->kmsg_fd >= 0)
		close(rk->kmsg_fd);
	free(rk);
	return rc;
}
