// worker/engine.h - the load engine of a worker: simulated users on one
// event loop, their think times on the loop's timer heap and their steps
// run by step kinds (worker/kind.h: HTTP on libcurl today) on the same
// loop. It records into an apex_stats_t that the protocol side reports
// and resets every few seconds. It knows nothing of the wire.
#ifndef WORKER_ENGINE_H
#define WORKER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "common/stats.h"

typedef struct worker_engine worker_engine_t; // opaque
typedef struct worker_kind_ops worker_kind_ops_t;
typedef struct worker_metric worker_metric_t; // worker/kind.h

#define WORKER_ENGINE_SPAWN_SLICE 1000 // users made per loop iteration
#define WORKER_ENGINE_FD_RESERVE 64    // descriptors not given to users
#define WORKER_ENGINE_CAP_WHY_MAX 128  // bytes of the cap's reason
#define WORKER_ENGINE_USER_BYTES                                               \
    (32 * 1024) // memory counted per user: 3x
                // an idle user with a socket

// Users of one class.
typedef struct {
    const char *name; // class name (borrowed)
    int64_t count;    // users
} worker_count_t;

// Options of a run that steps read (the master's command line, else
// the worker's).
typedef struct worker_run_options {
    apex_http_engine_t engine; // HTTP engine where a scenario names none
    int http_debug;            // --http-debug level (worker/http_debug.h)
} worker_run_options_t;

// Hand the run's options to every kind (for steps started afterwards).
void worker_engine_set_run_options(worker_engine_t *self,
                                   const worker_run_options_t *o);

// Called once when a stop started by worker_engine_stop() has finished.
typedef void(worker_engine_stopped_fn)(void *arg);

// Create an engine on loop with the worker's step kinds (worker/kinds.h).
// NULL with err set if a kind cannot start (libcurl fails).
worker_engine_t *worker_engine_new(apex_loop_t *loop, apex_error_t *err);

// The same with another table of kinds, indexed by apex_step_kind_t (the
// unit tests run users on a test-only kind). kinds must outlive the engine.
worker_engine_t *
worker_engine_new_with_kinds(apex_loop_t *loop,
                             const worker_kind_ops_t *const *kinds,
                             apex_error_t *err);

// Stop every user at once and free everything; sets *self_p to NULL.
void worker_engine_destroy(worker_engine_t **self_p);

// Use scenario (the engine takes ownership and nulls *scenario_p). Only
// allowed while no user runs; returns -1 with err set otherwise.
int worker_engine_set_scenario(worker_engine_t *self,
                               apex_scenario_t **scenario_p, apex_error_t *err);

// The scenario in use, or NULL.
const apex_scenario_t *worker_engine_scenario(const worker_engine_t *self);

// Base URL for request paths ("http://127.0.0.1:8080"); NULL falls back
// to the scenario's host. Takes effect for requests started afterwards.
void worker_engine_set_host(worker_engine_t *self, const char *host);

// Where this worker stands among the run's workers (apex extension keys
// of spawn; docs/protocol.md): ${worker_index}, and the global user
// indexes it hands out, position + n * workers for its n-th user slot,
// so users of different workers never share an index (nor a per_user
// data row) while the workers stay the same; sequential data sets take
// rows i with i mod workers == position. A Locust master sends none:
// position 0 of 1 worker (indexes unique on this worker only) and its
// ack index as worker_index. Users started before keep theirs.
void worker_engine_set_index(worker_engine_t *self, int64_t worker_index,
                             int64_t position, int64_t workers);

// Seconds a stopping user may take to finish its task (Locust's
// stop_timeout); < 0 means none: stopped users are cut off at once.
void worker_engine_set_stop_timeout(worker_engine_t *self, double seconds);

// Apply absolute per-class targets: stop the newest surplus users at
// once, make missing ones in slices of WORKER_ENGINE_SPAWN_SLICE per loop
// iteration (a master asking for millions cannot stall the loop and its
// heartbeats). Classes missing from counts get 0. A name the scenario
// does not define is skipped and reported through unknown (a
// comma-separated list the caller frees, NULL when all were known).
// New users begin spread over a second; returns the time in µs until
// the last of them is meant to begin (0 when none waits). The caller
// keeps the total within worker_engine_user_cap().
uint64_t worker_engine_apply(worker_engine_t *self,
                             const worker_count_t *counts, size_t ncounts,
                             char **unknown);

// Stop every user: waiting users at once, users with a request in flight
// after their task if a stop timeout is set (cut off when it expires),
// else at once. Calls done(arg) when no user is left (possibly before
// returning). graceful=false cuts everything off now.
void worker_engine_stop(worker_engine_t *self, bool graceful,
                        worker_engine_stopped_fn *done, void *arg);

// Switch the open model on or off: with it, users do not run their own
// loop with think times; the engine starts `rate` iterations per second
// (one task each) on free users, allocating new ones up to max_users;
// when all max_users are busy an iteration waits for the next free one
// (at most max_users iterations wait), beyond that it is dropped. The first
// request of an iteration is timed from its intended start; its service time is
// recorded too (apex_stats_record_service). Users given by
// worker_engine_apply() are the pre-allocated ones.
void worker_engine_set_arrival(worker_engine_t *self, bool on, double rate,
                               int64_t max_users);

// Take (and zero) the counts of completed tasks and dropped iterations.
void worker_engine_take_counters(worker_engine_t *self, uint64_t *iterations,
                                 uint64_t *dropped);

// Give back counts taken by worker_engine_take_counters() that could not
// be reported (a failed send).
void worker_engine_put_back_counters(worker_engine_t *self, uint64_t iterations,
                                     uint64_t dropped);

// The checks' counts since the last clear, by the scenario's check name
// slots (scenario->check_names): *passes and *fails have *n counts each
// (borrowed; NULL and 0 without a scenario).
void worker_engine_checks(const worker_engine_t *self, const uint64_t **passes,
                          const uint64_t **fails, size_t *n);

// Zero the checks' counts (after they were reported), the scripts'
// too, and the scripts' trends.
void worker_engine_clear_checks(worker_engine_t *self);

// A check's counts since the last clear.
typedef struct {
    const char *name; // borrowed
    uint64_t passes;  // passed
    uint64_t fails;   // failed
} worker_check_count_t;

// Every check counted since the last clear, the scenario's and the
// scripts' (apex.check): a new array of *n the caller frees.
worker_check_count_t *worker_engine_check_counts(worker_engine_t *self,
                                                 size_t *n);

// The scripts' custom trends since the last clear (values x1000 as
// "microseconds"), or NULL without scripts. Borrowed.
apex_stats_t *worker_engine_trends(worker_engine_t *self);

// An exception a script raised, counted since the last report.
typedef struct {
    char *msg;       // Lua's message ("shop.lua:12: attempt to ...")
    char *traceback; // Lua's traceback
    uint64_t count;  // occurrences
} worker_exception_t;

// Free what e holds.
void worker_exception_fini(worker_exception_t *e);

// The exceptions scripts raised since the last take: *n of them (NULL
// and 0 without scripts), the caller's to free (worker_exception_fini()
// each, then free()).
worker_exception_t *worker_engine_take_exceptions(worker_engine_t *self,
                                                  size_t *n);

// Running users (not counting those stopping).
size_t worker_engine_user_count(const worker_engine_t *self);

// True while users of the last apply are still to be made.
bool worker_engine_spawning(const worker_engine_t *self);

// The most users this worker takes: each may hold a descriptor (the
// open-file limit, less WORKER_ENGINE_FD_RESERVE for the worker's own)
// and WORKER_ENGINE_USER_BYTES of memory (of what the system has
// available now). When why is not NULL, it gets which limit it is
// ("open-file limit 1024").
size_t worker_engine_user_cap(char *why, size_t size);

// Keep a spawn's targets (n counts) and the open model's user budget
// within worker_engine_user_cap(): every class scaled down alike. Returns
// NULL when nothing changed, else what was asked and why it was cut ("asked
// for N users, but this worker runs at most M (open-file limit L): running
// M", a new string).
char *worker_engine_cap_targets(worker_count_t *targets, size_t n,
                                int64_t *arrival_max);

// Per-class running user counts, in scenario order: fills
// a new array the caller frees (names borrowed from the scenario).
worker_count_t *worker_engine_counts(const worker_engine_t *self,
                                     size_t *ncounts);

// Requests cut off since the engine started: in flight (any step kind
// but sleep) when their user was freed, at the end of a stop's grace.
int64_t worker_engine_cut_off(const worker_engine_t *self);

// Every kind's run-wide figures (counters since the start, gauges now)
// into out, at most max (WORKER_MAX_METRICS is enough); returns how
// many, in the same order every time. Names are borrowed.
size_t worker_engine_metrics(worker_engine_t *self, struct worker_metric *out,
                             size_t max);

// The statistics recorded so far (the caller may reset them).
apex_stats_t *worker_engine_stats(worker_engine_t *self);

// Work to do at the end of every loop iteration (the kinds free sockets
// closed during it). Call from the loop's iteration hook.
void worker_engine_after_iteration(worker_engine_t *self);

#endif
