/*
 * workload_child.h — private to the workload process (workload.c, workload_wal.c): the child's
 * state and the helpers its command handlers share. The runner never includes this.
 */
#ifndef FSYNCLAB_WORKLOAD_CHILD_H
#define FSYNCLAB_WORKLOAD_CHILD_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "workload.h"

#define WORKLOAD_MAX_FDS 32

struct workload_fd {
	char name[64]; /* the scenario's descriptor name */
	int fd;        /* -1 when free */
};

struct workload_child {
	struct workload_config cfg;
	int cmd_fd, ev_fd;
	pthread_mutex_t emit_lock; /* serialises lines on ev_fd (writers, flusher hook, poller) */
	/* wal / table target (workload_wal.c) */
	struct wal *wal;         /* the open log (for the table: its log), NULL until opened */
	struct wal_table *table; /* table target only */
	pthread_t bg;            /* the background append, when bg_running */
	bool bg_running;
	pthread_t poller; /* batch: reports durable-LSN progress */
	bool poller_running;
	volatile bool stopping;
	/* file target (workload.c) */
	struct workload_fd fds[WORKLOAD_MAX_FDS];
};

/* workload_emit - write OBJ (consumed) as one line to the runner; exits the child if the runner
 * is gone (nothing else to do). */
void workload_emit(struct workload_child *ch, json_t *obj);

/* workload_done - emit {"ev":"done","rc":RC} merged with EXTRA (consumed, may be NULL). */
void workload_done(struct workload_child *ch, int rc, json_t *extra);

/* workload_t - ms since the scenario started. */
double workload_t(const struct workload_child *ch);

/* workload_wal_command - handle a wal/table command OP (workload_wal.c). Emits exactly one done
 * line (unless it exits on panic). */
void workload_wal_command(struct workload_child *ch, const char *op, json_t *cmd);

/* workload_wal_shutdown - join helper threads before exit (no close: a crash leaves state as is). */
void workload_wal_shutdown(struct workload_child *ch);

#endif
