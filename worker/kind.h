// worker/kind.h - the seam between users and protocols: a step kind is one
// table of operations that runs the steps of one kind (common/scenario.h's
// apex_step_kind_t) for the users of an engine.
//
// The engine compiles every step of the scenario once with plan(), and a
// user's step with start(). The kind does its I/O on the engine's loop and
// reports the outcome once with worker_user_step_done(); everything else
// (think times, task choice, sequences, captures, stats, failures, stop
// and the open model) is done by worker/user.c the same way for every
// kind. A kind keeps per-user state (a connection, buffers) in the
// `conn` slot start() receives: NULL on a user's first step of the kind,
// freed with conn_free() when the user goes.
//
// Adding a kind: its model and JSON form in common/ (apex_step_t gets a
// part for it), a worker/step_<kind>.c exporting a worker_kind_ops_t, and
// its entry in worker_kinds[] (worker/kinds.c). See docs/HACKING.md.
#ifndef WORKER_KIND_H
#define WORKER_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

#include "common/cookies.h"
#include "common/error.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "worker/engine.h"

typedef struct worker_user worker_user_t; // a simulated user (worker/core.h)

// A kind's engine-wide state: each kind has its own type behind it.
typedef void worker_kind_t;

// What a finished step reports.
typedef struct {
    uint64_t elapsed_us; // the step's own time (service time), microseconds
    uint64_t bytes;      // response content bytes (stats' content length)
    const char *failure; // why it failed, as Locust words it, or NULL
    const char *headers; // response header block when step->needs_headers
    size_t headers_len;  // its length
    const char *body;    // response body when step->needs_body
    size_t body_len;     // its length
    const apex_capture_rows_t *rows; // an SQL result's rows, for column
                                     // captures or when step->needs_body
                                     // (else NULL)
    const char *cut; // the headers or body kept are incomplete: why
                     // (names the limit); captures and checks then fail
    bool unrecorded; // not a sample: the step is not a request (a
                     // send) or its samples were recorded as they
                     // came (worker_user_sample)
} worker_result_t;

// A run-wide figure of a kind: counters count since the engine started
// (the worker reports their deltas), gauges are a value now.
struct worker_metric {
    const char *name; // [a-z0-9_], k6's name where k6 has one
    bool gauge;       // a value now, not a count
    int64_t value;    // the count so far, or the value now
};

#define WORKER_MAX_METRICS 64 // figures of all kinds and scripts together

struct worker_kind_ops {
    const char *name; // the kind's name in logs ("http")

    // The kind's state for one engine on loop; NULL with err set.
    worker_kind_t *(*create)(apex_loop_t *loop, apex_error_t *err);

    // Free *self_p (every conn and plan is already freed); sets it NULL.
    void (*destroy)(worker_kind_t **self_p);

    // Compile one step of the scenario. Never fails: a step the kind cannot
    // run fails when started. The kind owns the result.
    void *(*plan)(worker_kind_t *self, const apex_step_t *step);

    // Free a plan from plan(); steps of in-flight work are finished.
    void (*plan_free)(worker_kind_t *self, void *plan);

    // The base URL for relative targets (NULL: none), set before the first
    // plan and whenever the master names another host; plans that depend
    // on it are rebuilt. Optional.
    void (*set_base)(worker_kind_t *self, const char *base);

    // Start the step for user u, with *conn the user's state for this kind
    // (NULL the first time: the kind creates it). Returns 0 and later calls
    // worker_user_step_done(u, ...) once, never from within start(); or -1
    // when the step could not start at all (logged by the kind).
    int (*start)(worker_kind_t *self, void *plan, const apex_step_t *step,
                 worker_user_t *u, void **conn);

    // Free a user's state; abandons a step in flight without reporting it.
    void (*conn_free)(worker_kind_t *self, void *conn);

    // Work at the end of every loop iteration. Optional.
    void (*after_iteration)(worker_kind_t *self);

    // The kind's run-wide figures into out (at most max); returns how
    // many. Always the same names in the same order. Optional.
    size_t (*metrics)(worker_kind_t *self, worker_metric_t *out, size_t max);

    // The run's options (worker/engine.h), before steps start and when
    // a master sends new ones. Optional.
    void (*configure)(worker_kind_t *self, const worker_run_options_t *o);
};

// For a kind's metrics operation: the first max of its n figures into
// out; returns how many.
static inline size_t worker_metrics_copy(worker_metric_t *out, size_t max,
                                         const worker_metric_t *all, size_t n)
{
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof *out);
    return n;
}

// For kinds: the template context of user u (its variables and PRNG),
// valid until u's next step.
apex_template_ctx_t worker_user_template_ctx(worker_user_t *u);

// For kinds: user u's cookie jar (common/cookies.h), or NULL when its
// class keeps none. It lives as long as u; a user started again gets an
// empty one.
apex_cookie_jar_t *worker_user_cookies(worker_user_t *u);

// For kinds: report the end of the step started on u. result is read
// before anything else happens (its pointers may be the kind's buffers);
// then u may start its next step or be freed, with the kind's conn: the
// kind must not touch either after this call.
void worker_user_step_done(worker_user_t *u, const worker_result_t *result);

// For kinds: one sample of the step in flight, recorded in its stats row
// as a request of this latency and size (a WebSocket push), while the
// step goes on.
void worker_user_sample(worker_user_t *u, uint64_t latency_us, uint64_t bytes);

#endif
