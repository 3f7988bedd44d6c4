// worker/script.h - scripted users on the engine's loop: one sandboxed
// Lua state per engine (common/lua_sandbox.h) holding every scripted
// class of the scenario (common/script.h), and per user a table `self`
// and a coroutine that runs its on_start, tasks and on_stop. A call that
// waits (self:http{...}, self:get(...), self:sleep(s)) starts a step of
// the HTTP or sleep kind through worker/kind.h, exactly as a JSON step
// starts, and yields; the engine's loop goes on with other users, and
// the step's end resumes the coroutine with the response. A task that
// returns ends like a JSON task (think time, iteration counts, the open
// model); one that raises is recorded in the exceptions table with its
// Lua traceback, and the user goes on with its next task.
//
// Internal to the engine (it reads worker/core.h): user.c starts tasks
// and hands step ends here, engine.c stops users and reports.
#ifndef WORKER_SCRIPT_H
#define WORKER_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/stats.h"
#include "worker/core.h"

#define WORKER_SCRIPT_MAX_COUNTERS 32   // apex.counter() names
#define WORKER_SCRIPT_MAX_TRENDS 64     // apex.trend() names
#define WORKER_SCRIPT_MAX_CHECKS 256    // apex.check() names of scripts
#define WORKER_SCRIPT_MAX_EXCEPTIONS 64 // distinct ones per report
#define WORKER_SCRIPT_MAX_REQUESTS 4096 // request shapes with a fixed URL
#define WORKER_SCRIPT_MAX_QUERIES 256   // SQL query shapes (self:sql)
#define WORKER_SCRIPT_TREND_MAX 1e9     // largest apex.trend() value

typedef struct worker_script worker_script_t;           // per engine
typedef struct worker_script_user worker_script_user_t; // per user

// A named figure of the scripts (apex.counter) or a check count.
typedef struct {
    const char *name; // borrowed
    uint64_t passes;  // passed (checks)
    uint64_t fails;   // failed (checks)
} worker_script_check_t;

// The runtime of engine->scenario's scripted classes (engine->classes
// built). NULL with err set when a script does not run here.
worker_script_t *worker_script_new(worker_engine_t *engine, apex_error_t *err);

// Free *self_p (no scripted user may be left); sets it NULL.
void worker_script_destroy(worker_script_t **self_p);

// A new user of a scripted class: its table and coroutine.
worker_script_user_t *worker_script_user_new(worker_script_t *self,
                                             worker_user_t *u);

// Free u's script part (a step in flight was abandoned by its kind).
void worker_script_user_free(worker_script_t *self, worker_user_t *u);

// Run u's on_start (u->task is its class's on_start); false when the
// class has none.
bool worker_script_on_start(worker_user_t *u);

// Run task t of u's class (u->task set by the caller).
void worker_script_task(worker_user_t *u, size_t t);

// The step u started from its script has ended.
void worker_script_step_done(worker_user_t *u, const worker_result_t *result);

// True when u, told to stop, runs its class's on_stop before it goes:
// it has one and u began its life.
bool worker_script_wants_stop(worker_user_t *u);

// Run u's on_stop (u is on the engine's stopping list): at once when no
// step is in flight (u may be released before this returns), else
// after its step.
void worker_script_stop(worker_user_t *u);

// Scripts' custom figures since the engine began: counters into out (at
// most max), as worker_engine_metrics() does; returns how many.
size_t worker_script_metrics(worker_script_t *self, worker_metric_t *out,
                             size_t max);

// apex.trend() values since the last clear, as stats entries in
// thousandths (a value of 2.5 is 2500 "µs"), or NULL.
apex_stats_t *worker_script_trends(worker_script_t *self);

// The scripts' own check names (not the scenario's) counted since the
// last clear: a new array of *n the caller frees (names borrowed).
worker_script_check_t *worker_script_checks(worker_script_t *self, size_t *n);

// Zero the trends and checks after a report went out.
void worker_script_clear(worker_script_t *self);

// The exceptions since the last take: *n of them, moved to the caller,
// who frees each with worker_exception_fini() and the array with free().
worker_exception_t *worker_script_take_exceptions(worker_script_t *self,
                                                  size_t *n);

#endif
