/*
 * faults_placeholder.c — keeps the fusefs library non-empty until faults.c lands; delete then.
 */
int fusefs_placeholder(void);
int fusefs_placeholder(void)
{
	return 0;
}
