/*
 * wal_placeholder.c — keeps the wal library non-empty until the WAL issue lands; delete then.
 */
int wal_placeholder(void);
int wal_placeholder(void)
{
	return 0;
}
