/*
 * profiles.c — the table of filesystem behaviours on failure. Each row is what the ATC'20 study
 * ("Can Applications Recover from fsync Failures?", Rebello et al.) observed for one filesystem,
 * so the same scenario can be run "on" ext4, XFS or Btrfs:
 *
 *   ext4 (data=ordered)  a page whose writeback failed is marked clean and kept: reads show the
 *                        new data until the page is evicted (or the machine reboots), then the
 *                        old. The failing fsync reports the error. The inode's new size is
 *                        persisted, so a failed append leaves a block of zeros after reboot.
 *                        A journal abort makes the filesystem read-only.
 *   ext4 (data=journal)  as above, but the error surfaces one fsync late (the data was already
 *                        in the journal when the first fsync returned).
 *   XFS                  as ext4-ordered, but a metadata/journal failure shuts the filesystem
 *                        down: every later operation fails with EIO until remount.
 *   Btrfs                copy-on-write: a failed page is reverted to what the disk holds (reads
 *                        already show the old data), its size update is not persisted, and a
 *                        journal (tree commit) failure makes the filesystem read-only.
 *   keep-dirty           not a real filesystem: the "fix" many applications assume. A failed
 *                        page stays dirty and a retried fsync can succeed.
 */
#include "profiles.h"

#include <string.h>

static const struct profile profiles[] = {
    {
        .name = "ext4-ordered",
        .page_fate = PAGE_FATE_FAILED_CLEAN,
        .report_on_next_fsync = false,
        .size_persists_on_failure = true,
        .journal_fate = JOURNAL_FATE_READ_ONLY,
        .summary = "failed page kept clean (memory != disk), error at this fsync, journal abort -> read-only",
    },
    {
        .name = "ext4-data",
        .page_fate = PAGE_FATE_FAILED_CLEAN,
        .report_on_next_fsync = true,
        .size_persists_on_failure = true,
        .journal_fate = JOURNAL_FATE_READ_ONLY,
        .summary = "as ext4-ordered, but the error is reported by the next fsync",
    },
    {
        .name = "xfs",
        .page_fate = PAGE_FATE_FAILED_CLEAN,
        .report_on_next_fsync = false,
        .size_persists_on_failure = true,
        .journal_fate = JOURNAL_FATE_SHUTDOWN,
        .summary = "failed page kept clean, error at this fsync, journal failure -> shutdown (all EIO)",
    },
    {
        .name = "btrfs",
        .page_fate = PAGE_FATE_REVERT,
        .report_on_next_fsync = false,
        .size_persists_on_failure = false,
        .journal_fate = JOURNAL_FATE_READ_ONLY,
        .summary = "failed page reverted to disk contents, size not persisted, commit failure -> read-only",
    },
    {
        .name = "keep-dirty",
        .page_fate = PAGE_FATE_KEEP_DIRTY,
        .report_on_next_fsync = false,
        .size_persists_on_failure = false,
        .journal_fate = JOURNAL_FATE_NONE,
        .summary = "failed page stays dirty, a retried fsync can succeed (what apps wrongly assume)",
    },
};

const struct profile *profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const struct profile *profile_default(void)
{
	return &profiles[0];
}

const char *profile_names(void)
{
	return "ext4-ordered|ext4-data|xfs|btrfs|keep-dirty";
}

const char *page_fate_name(enum page_fate fate)
{
	switch (fate) {
	case PAGE_FATE_FAILED_CLEAN:
		return "failed-clean";
	case PAGE_FATE_REVERT:
		return "revert";
	case PAGE_FATE_KEEP_DIRTY:
		return "keep-dirty";
	}
	return "?";
}

const char *journal_fate_name(enum journal_fate fate)
{
	switch (fate) {
	case JOURNAL_FATE_NONE:
		return "none";
	case JOURNAL_FATE_READ_ONLY:
		return "read-only";
	case JOURNAL_FATE_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}
