// master/children.h - the local workers of --processes: apex-worker
// processes the master forks and execs next to its own executable,
// connected to its ROUTER port, and reaps when they exit or when it ends.
#ifndef MASTER_CHILDREN_H
#define MASTER_CHILDREN_H

#include <stdbool.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

typedef struct master_children master_children_t; // opaque

// Start n apex-workers (found beside /proc/self/exe) that connect to
// bind_host (127.0.0.1 for "*", "0.0.0.0" or NULL) on port and log at
// level. Each dies with the master (PR_SET_PDEATHSIG) and starts with no
// signal blocked. extra: more arguments for each worker (CURVE's keys),
// NULL-terminated, or NULL. Returns the set, or NULL with err set
// ("--processes: ...") when the executable is missing or fork fails;
// workers started before a failure are reaped.
master_children_t *master_children_new(int n, const char *bind_host, int port,
                                       apex_log_level_t level,
                                       const char *const *extra,
                                       apex_error_t *err);

// Reap every child that has exited (after a SIGCHLD) without waiting;
// one of ours is logged as a warning unless quiet. self may be NULL (no
// local workers): exited children are still reaped.
void master_children_reap(master_children_t *self, bool quiet);

// Wait up to MASTER_CHILDREN_WAIT_US for the children still running (the
// master asked them to quit), SIGTERM them in the last second and SIGKILL
// what is left; then free *self_p and set it to NULL. Does nothing if
// *self_p is NULL.
void master_children_destroy(master_children_t **self_p);

#define MASTER_CHILDREN_WAIT_US (5 * APEX_USEC_PER_SEC)

#endif
