/*
 * errname.h — errno names ("EIO", "ENOSPC") to numbers and back.
 *
 * Owns the table of errno names that `fsynclab inject --errno NAME` and scenario files accept.
 */
#ifndef FSYNCLAB_ERRNAME_H
#define FSYNCLAB_ERRNAME_H

/* errname_parse - the positive errno for NAME ("EIO" or "eio"), or -EINVAL if unknown. */
int errname_parse(const char *name);

/* errname_str - the symbolic name of positive errno ERR ("EIO"), or "E?" if unknown. */
const char *errname_str(int err);

#endif
