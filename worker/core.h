// worker/core.h - the engine's shared state, internal to the engine's files
// (engine.c, plan.c, user.c, arrival.c): the plan compiled from the
// scenario, the users and the engine itself. Step kinds never include it;
// they see users only through worker/kind.h.
//
// Ownership: the engine owns the scenario, the plan (classes, tasks and
// steps, each step holding its kind's plan) and every user. A user is in
// exactly one place: waiting on its timer, with a step in flight (started
// by its kind), idle in its class (open model), or between those for the
// instant it takes to pick the next step.
#ifndef WORKER_CORE_H
#define WORKER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "common/scenario.h"
#include "common/stats.h"
#include "worker/arrival.h"
#include "worker/engine.h"
#include "worker/kind.h"

// One step of the scenario, compiled for this engine.
typedef struct {
    const apex_step_t *model;     // the step in the scenario
    apex_stats_entry_t *entry;    // its stats row (found once), or NULL
                                  // until needed when it is no request
    const worker_kind_ops_t *ops; // its kind's operations
    worker_kind_t *kind;          // its kind's state
    void *plan;                   // its kind's plan of it
} worker_step_t;

typedef struct worker_script worker_script_t;           // worker/script.h
typedef struct worker_script_user worker_script_user_t; // its user part

typedef struct {
    worker_step_t *steps; // in order
    size_t nsteps;        // number of steps
} worker_task_t;

// A user class: its plan and its users.
typedef struct {
    const apex_user_class_t *cls; // the model
    worker_task_t on_start;       // on_start steps
    worker_task_t *tasks;         // tasks, as in the model
    worker_user_t **users;        // running users, oldest first
    size_t nusers;                // running users
    size_t cap;                   // slots allocated
    worker_user_t **idle;         // open model: users free for an iteration
    size_t nidle;                 // their number
    size_t idle_cap;              // slots allocated
} worker_class_t;

struct worker_user {
    worker_engine_t *engine;           // owner
    worker_class_t *cls;               // user class
    void *conns[APEX_STEP_KIND_COUNT]; // each kind's state for this user
    apex_timer_t timer;                // think time
    char **vars;                       // capture variables (nvars)
    unsigned char *vars_json;          // per variable: its text is JSON
    apex_template_user_t info;         // built-ins and data rows
    const apex_value_t **rows;         // the current row of each data set
    size_t ordinal;                    // its slot on this worker: the user
                                       // index is base + ordinal * stride
    uint64_t done_tasks;               // tasks it finished (${iteration})
    apex_cookie_jar_t *cookies;        // its jar, or NULL (class without)
    uint64_t rng;                      // PRNG state
    const worker_task_t *task;         // task in progress, or NULL
    size_t step;                       // step in progress within task
    bool in_flight;                    // a step is started by its kind
    bool stopping;                     // finish then go
    bool idle;                         // open model: in cls->idle
    bool pending;                      // open model: an iteration waits
                                       // for on_start
    bool unborn;                       // its timer starts its life (spawn)
    uint64_t intended;                 // open model: intended start, or 0
    uint64_t started;                  // loop time the step started
    size_t index;                      // position in cls->users
    worker_user_t *next;               // in the stopping list
    worker_user_t *prev;               // in the stopping list
    bool pacing_started;               // constant_pacing: waited once
    uint64_t pacing_last_run;          // constant_pacing: last wait time
    uint64_t pacing_last_wait;         // constant_pacing: its length
    worker_script_user_t *script;      // a scripted class's user: its
                                       // table and coroutine, else NULL
};

struct worker_engine {
    apex_loop_t *loop;                          // the loop we run on
    const worker_kind_ops_t *const *ops;        // kinds, by step kind
    worker_kind_t *kinds[APEX_STEP_KIND_COUNT]; // their state
    apex_scenario_t *scenario;                  // the model, or NULL
    worker_class_t *classes;                    // plan, per class
    size_t nclasses;                            // number of classes
    char *host;                                 // master's base URL
    double stop_timeout;                        // seconds; < 0 none
    apex_stats_t *stats;                        // what we measured
    worker_user_t *stopping;                    // finishing users
    size_t nstopping;                           // their number
    size_t nusers;                              // running users
    apex_timer_t cutoff;                        // ends a graceful stop
    worker_engine_stopped_fn *done;             // pending stop callback
    void *done_arg;                             // its argument
    double wall_now;                            // wall clock of this
                                                // iteration, 0 unset
    uint64_t rng;                               // seeds users
    uint64_t iterations;                        // tasks completed
    worker_arrival_t arrival;                   // the open model
    int64_t worker_index;                       // ${worker_index}
    int64_t index_base;                         // this worker's position
    int64_t index_stride;                       // and the workers' number
    unsigned char *ordinals;                    // user slots taken
    size_t nordinals;                           // slots allocated
    uint64_t *data_next;                        // sequential data sets:
                                                // uses so far, per set
    uint64_t *check_passes;                     // per check name slot,
    uint64_t *check_fails;                      // since the last report
    worker_script_t *script;                    // scripted classes' Lua,
                                                // or NULL
};

// The lowest free user slot, now taken (worker_user_new()).
size_t worker_engine_take_ordinal(worker_engine_t *self);

// Give a user slot back (worker_user_free()).
void worker_engine_put_ordinal(worker_engine_t *self, size_t ordinal);

// The wall clock for stats, read once per loop iteration.
double worker_engine_wall(worker_engine_t *self);

// A user that finished stopping (it was on the stopping list) is freed,
// and the stop completes when it was the last.
void worker_engine_release(worker_engine_t *self, worker_user_t *u);

// Add a new user to its class's running users (growing the list).
void worker_engine_add_user(worker_engine_t *self, worker_user_t *u);

#endif
