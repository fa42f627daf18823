/*
 * errname.c — the errno name table; see errname.h.
 */
#include "errname.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>

struct errname_entry {
	const char *name;
	int err;
};

#define ERRNAME(e)                                                                                           \
	{                                                                                                    \
#e, e                                                                                        \
	}
static const struct errname_entry errname_table[] = {
    ERRNAME(EIO),       ERRNAME(ENOSPC),    ERRNAME(EDQUOT),       ERRNAME(EROFS),  ERRNAME(EPERM),
    ERRNAME(EACCES),    ERRNAME(ENOENT),    ERRNAME(EEXIST),       ERRNAME(EBUSY),  ERRNAME(EAGAIN),
    ERRNAME(EINTR),     ERRNAME(ENOMEM),    ERRNAME(EFBIG),        ERRNAME(EINVAL), ERRNAME(ENOTDIR),
    ERRNAME(EISDIR),    ERRNAME(ENOTEMPTY), ERRNAME(EXDEV),        ERRNAME(EMFILE), ERRNAME(ENFILE),
    ERRNAME(ENODEV),    ERRNAME(ENXIO),     ERRNAME(ETIMEDOUT),    ERRNAME(ESTALE), ERRNAME(EBADF),
    ERRNAME(ENOTSUP),   ERRNAME(EOVERFLOW), ERRNAME(ENAMETOOLONG), ERRNAME(EMLINK), ERRNAME(ENOTCONN),
    ERRNAME(ECANCELED), ERRNAME(EUCLEAN),   ERRNAME(ENODATA),
};

int errname_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(errname_table) / sizeof(errname_table[0]); i++)
		if (strcasecmp(name, errname_table[i].name) == 0)
			return errname_table[i].err;
	return -EINVAL;
}

const char *errname_str(int err)
{
	for (size_t i = 0; i < sizeof(errname_table) / sizeof(errname_table[0]); i++)
		if (errname_table[i].err == err)
			return errname_table[i].name;
	return "E?";
}
