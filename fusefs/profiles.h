/*
 * profiles.h — how a filesystem behaves when writeback or its journal fails: one struct of
 * behaviours per profile (ext4-ordered, ext4-data, xfs, btrfs, keep-dirty), encoding the
 * findings of Rebello et al., "Can Applications Recover from fsync Failures?" (ATC'20).
 */
#ifndef FSYNCLAB_PROFILES_H
#define FSYNCLAB_PROFILES_H

#include <stdbool.h>

/* What happens to a cached page whose writeback failed. */
enum page_fate {
	PAGE_FATE_FAILED_CLEAN, /* marked clean and kept: memory holds the new data, disk the old */
	PAGE_FATE_REVERT,       /* dropped at once: reads show what the disk holds (btrfs) */
	PAGE_FATE_KEEP_DIRTY,   /* stays dirty: the next writeback retries it */
};

/* What a failed journal commit does to the whole filesystem. */
enum journal_fate {
	JOURNAL_FATE_NONE,      /* the fsync fails, nothing else changes */
	JOURNAL_FATE_READ_ONLY, /* the filesystem goes read-only: writes fail with EROFS */
	JOURNAL_FATE_SHUTDOWN,  /* the filesystem shuts down: every operation fails with EIO */
};

struct profile {
	const char *name;
	enum page_fate page_fate;       /* page after a failed writeback */
	bool report_on_next_fsync;      /* the error is reported by the fsync after this one */
	bool size_persists_on_failure;  /* a failed append still grows the file on disk (a hole) */
	enum journal_fate journal_fate; /* what a `journal` fault does */
	const char *summary;            /* one line for docs and `status` */
};

/* profile_find - the profile called NAME, or NULL. */
const struct profile *profile_find(const char *name);

/* profile_default - ext4-ordered, the default. */
const struct profile *profile_default(void);

/* profile_names - "ext4-ordered|ext4-data|xfs|btrfs|keep-dirty", for usage messages. */
const char *profile_names(void);

/* page_fate_name / journal_fate_name - short names for status and docs. */
const char *page_fate_name(enum page_fate fate);
const char *journal_fate_name(enum journal_fate fate);

#endif
