// worker/user.h - a simulated user's life cycle, the same for every step
// kind: on_start, then tasks picked by weight, each one step or a sequence
// of steps run in order, with the class's think time between tasks (or,
// in the open model, an iteration per task). A finished step is recorded
// in the stats, its captures applied, and a failure ends its task, as an
// exception ends a Locust task. Internal to the engine (worker/core.h has
// the struct).
#ifndef WORKER_USER_H
#define WORKER_USER_H

#include <stdbool.h>

#include "worker/core.h"

// A new user of class cls (not yet running anything). Never fails.
worker_user_t *worker_user_new(worker_engine_t *engine, worker_class_t *cls);

// Free u: its kinds' state (abandoning a step in flight), its timer and
// variables. u must no longer be on any list.
void worker_user_free(worker_user_t *u);

// Start u's life in delay_us: its on_start, else its first task (closed
// model) or a place among the idle users (open model).
void worker_user_begin_after(worker_user_t *u, uint64_t delay_us);

// Start u's on_start steps; false (nothing started) when it has none.
bool worker_user_run_on_start(worker_user_t *u);

// Pick a task by weight and start its first step.
void worker_user_start_task(worker_user_t *u);

// u's task (u->task) has ended, finished or failed: count it, free a
// stopping user, or wait before the next (what follows a JSON task's
// last step; a scripted task ends here too).
void worker_user_task_done(worker_user_t *u);

// Record a finished request of u in entry (its time from the intended
// start in the open model, its size) and its failure, as a step's are
// (a scripted user's requests).
void worker_user_record(worker_user_t *u, apex_stats_entry_t *entry,
                        const worker_result_t *result);

#endif
