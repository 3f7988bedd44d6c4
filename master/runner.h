// master/runner.h - the test a master runs: waiting for workers, starting,
// the ramp and its dispatch steps, rebalancing when workers come and go,
// stopping (web UI) and quitting (headless, signals), following a load
// shape, and aborting on thresholds. One state enum says where the test
// is; the runner sends the workers what it decides through a callback and
// keeps its own timers on the master's loop.
#ifndef MASTER_RUNNER_H
#define MASTER_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/buf.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "master/master.h"
#include "master/registry.h"
#include "master/report.h"
#include "master/results.h"
#include "master/shape.h"
#include "master/thresholds.h"

// Where the test is. Transitions (master/runner.c has the details):
//   READY -> WAITING       --headless or --autostart: wait for workers
//   READY, WAITING, STOPPING, STOPPED -> SPAWNING
//                          a start: enough ready workers, or POST /swarm
//   SPAWNING -> RUNNING    every user dispatched and reported
//   RUNNING -> SPAWNING    a new target (the shape's, or an edit)
//   SPAWNING, RUNNING -> STOPPING
//                          the UI's stop (or its run time, or the last
//                          worker gone without --headless)
//   STOPPING -> STOPPED    no worker runs users any more
//   any but DONE -> QUITTING
//                          quit: run time or shape over (headless), a
//                          signal, --autoquit, an abortOnFail threshold,
//                          no workers left, or no workers came
//   QUITTING -> DONE       every worker quit, or the wait for them ended
//   any -> DONE            a second signal
typedef enum {
    MASTER_RUN_READY,    // no test yet
    MASTER_RUN_WAITING,  // waiting for --expect-workers ready workers
    MASTER_RUN_SPAWNING, // ramping to the target
    MASTER_RUN_RUNNING,  // all users dispatched
    MASTER_RUN_STOPPING, // stop sent (UI); workers stopping their users
    MASTER_RUN_STOPPED,  // test over (UI); a new one may start
    MASTER_RUN_QUITTING, // quit sent; waiting for the workers' last words
    MASTER_RUN_DONE,     // over: the loop stops and the outputs follow
} master_run_state_t;

// How a run ended, for the exit code.
typedef enum {
    MASTER_RUN_ENDED,           // as planned, or by a signal during the test
    MASTER_RUN_ABORTED,         // no test happened, or all workers were lost
    MASTER_RUN_THRESHOLD_ENDED, // an abortOnFail threshold failed
} master_run_end_t;

// What the test runs with: the command line's, changed by POST /swarm.
typedef struct {
    int64_t users;     // users asked for (-u, user_count)
    double spawn_rate; // users per second (-r, spawn_rate)
    double run_time;   // seconds (-t, run_time); 0 = until stopped
    char *host;        // host sent to workers, or NULL
} master_run_params_t;

// Send an encoded message (payload) to the worker with this id; false
// when it could not be queued (the worker's queue is full, or it is gone).
typedef bool(master_runner_send_fn)(void *arg, const char *id,
                                    const apex_buf_t *payload);

typedef struct {
    apex_loop_t *loop;               // the master's loop
    const master_options_t *options; // the command line
    const apex_scenario_t *scenario; // user classes and the wire text
    master_registry_t *registry;     // the workers
    master_results_t *results;       // what the test measures
    master_runner_send_fn *send;     // how messages reach workers
    void *send_arg;                  // its argument
    char *host;                      // host for the workers, or NULL: taken
    master_shape_t *shape;           // load shape, or NULL: taken
    master_thresholds_t thresholds;  // the run's thresholds: taken
} master_runner_config_t;

typedef struct master_runner master_runner_t; // opaque

// A runner in READY that takes over the config's host, shape and
// thresholds (the caller must not free them). The config's pointers must
// outlive the runner. Never returns NULL.
master_runner_t *master_runner_new(const master_runner_config_t *config);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_runner_destroy(master_runner_t **self_p);

// Headless or --autostart: wait for --expect-workers, then start.
void master_runner_wait(master_runner_t *self);

// Once a second: the wait for workers, the shape's next step, abortOnFail
// thresholds, and a history point.
void master_runner_tick(master_runner_t *self);

// The workers changed: a worker joined or healed (rebalance), went
// missing, stopped (client_stopped) or quit; a heartbeat or a report
// arrived (a stop or a ramp may be complete). A rebalance is done on the
// loop's next iteration, at most one per MASTER_REBALANCE_MIN_US: a burst
// of registrations costs one dispatch, not one per worker.
void master_runner_rebalance(master_runner_t *self);
void master_runner_worker_missing(master_runner_t *self);
void master_runner_worker_stopped(master_runner_t *self);
void master_runner_worker_quit(master_runner_t *self);
void master_runner_heartbeat(master_runner_t *self);
void master_runner_reported(master_runner_t *self);

// POST /swarm: start a test, or change the running one, with users at
// rate (ignored with a shape, which starts over) for run_time seconds (0
// = until stopped); *host_p, when not NULL, becomes the host (taken).
void master_runner_swarm(master_runner_t *self, int64_t users, double rate,
                         double run_time, char **host_p);

// The UI's stop: workers stop their users (SPAWNING or RUNNING only).
void master_runner_stop(master_runner_t *self);

// SIGINT or SIGTERM: quit every worker, wait (bounded) for their last
// stats, then DONE; why is logged. While still waiting for workers the run
// is aborted (no test happened).
void master_runner_signal(master_runner_t *self, const char *why);

// End at once (DONE; the loop stops), as a second signal does.
void master_runner_finish(master_runner_t *self);

// Where the test is, how it ended, and what it runs with.
master_run_state_t master_runner_state(const master_runner_t *self);
master_run_end_t master_runner_end(const master_runner_t *self);
const master_run_params_t *master_runner_params(const master_runner_t *self);

// True while users are being dispatched (SPAWNING or RUNNING).
bool master_runner_running(const master_runner_t *self);

// True once quitting (QUITTING or DONE): workers exit on purpose.
bool master_runner_ending(const master_runner_t *self);

// The state's name as the UI, the API and /metrics show it ("ready",
// "spawning", "running", "stopping", "stopped"), and every such name.
const char *master_runner_state_name(const master_runner_t *self);
const char *const *master_run_state_names(size_t *n);

// The load shape (NULL without one) and where it is.
const master_shape_t *master_runner_shape(const master_runner_t *self);
const master_shape_point_t *master_runner_point(const master_runner_t *self);

// The thresholds, as last evaluated.
const master_thresholds_t *
master_runner_thresholds(const master_runner_t *self);

// Evaluate the thresholds on the results now; true when all pass.
bool master_runner_evaluate(master_runner_t *self);

// The stage line of the periodic console table (nothing without a shape
// or when not running).
void master_runner_print_stage(const master_runner_t *self, FILE *out);

// The shape's columns of the history CSV into *out, or NULL without a
// shape.
const master_csv_shape_t *master_runner_csv_shape(const master_runner_t *self,
                                                  master_csv_shape_t *out);

#endif
