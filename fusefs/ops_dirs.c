/*
 * ops_dirs.c — the FUSE operations on open directories: opendir, readdir (which hides the
 * namespace journal's directory at the root), releasedir, and fsyncdir, whose journal commit makes
 * the pending namespace operations it covers durable (fs_state.c).
 */
#include "ops_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lo_dirp {
	DIR *dp;
	struct dirent *entry; /* the entry read but not yet returned */
	off_t offset;
};

void lo_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lo_dirp *d;
	int fd, rc = fsl_check_alive(lo_fs_of(req));

	if (rc < 0)
		goto out_err;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out_err;
	}
	fd = openat(lo_inode_of(req, ino)->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		free(d);
		goto out_err;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		rc = -errno;
		io_close_logged(fd);
		free(d);
		goto out_err;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		if (closedir(d->dp) != 0)
			fprintf(stderr, "fsynclab: closedir: %s\n", strerror(errno));
		free(d);
	}
	return;
out_err:
	fuse_reply_err(req, -rc);
}

void lo_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size;
	int rc = fsl_check_alive(lo_fs_of(req));

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	buf = calloc(1, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct stat st = {0};
		size_t entsize;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno && rem == size) {
					rc = -errno;
					free(buf);
					fuse_reply_err(req, -rc);
					return;
				}
				break;
			}
		}
		if (ino == FUSE_ROOT_ID && lo_hidden(lo_fs_of(req), &lo_fs_of(req)->root, d->entry->d_name)) {
			d->entry = NULL;
			d->offset = telldir(d->dp);
			continue;
		}
		st.st_ino = d->entry->d_ino;
		st.st_mode = (mode_t)d->entry->d_type << 12;
		entsize = fuse_add_direntry(req, p, rem, d->entry->d_name, &st, telldir(d->dp));
		if (entsize > rem)
			break;
		p += entsize;
		rem -= entsize;
		d->entry = NULL;
		d->offset = telldir(d->dp);
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void lo_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;

	(void)ino;
	if (closedir(d->dp) != 0)
		fprintf(stderr, "fsynclab: closedir: %s\n", strerror(errno));
	free(d);
	fuse_reply_err(req, 0);
}

void lo_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fsl_fs *fs = lo_fs_of(req);
	struct lo_dirp *d = (struct lo_dirp *)(uintptr_t)fi->fh;
	char path[PATH_MAX];
	int rc = fsl_check_alive(fs), sync_rc = 0, journal_rc = 0, state;
	bool persisted = true;

	if (rc == 0) {
		lo_path(fs, lo_inode_of(req, ino), path, sizeof(path));
		rc = lo_fault_call(fs, datasync ? FAULT_OP_FDATASYNC : FAULT_OP_FSYNC, path, 0, 0);
		/* A failing rule still syncs: the call fails, the work is done. */
		state = atomic_load(&fs->state);
		if (state == FS_STATE_OK)
			journal_rc = lo_journal_commit(fs, path, &persisted);
		else if (state == FS_STATE_READ_ONLY)
			journal_rc = -EIO; /* the journal is aborted: nothing can be committed */
		if (state == FS_STATE_OK && journal_rc == 0 && persisted)
			sync_rc = lo_ns_commit(fs, lo_inode_of(req, ino), path, true);
		if (fs->backing_sync && (datasync ? fdatasync(dirfd(d->dp)) : fsync(dirfd(d->dp))) != 0 &&
		    sync_rc == 0)
			sync_rc = -errno;
		if (rc == 0)
			rc = journal_rc ? journal_rc : sync_rc;
	}
	fuse_reply_err(req, -rc);
}
