// master/runner.c - see runner.h.
//
// Dispatch: the master does all rate limiting. Each step sends every
// active worker its absolute per-class target for the new total (which
// grows or shrinks by max(1, floor(rate)) users every that/rate seconds),
// so a join, a leave or a rebalance is just the current total
// re-distributed over the current workers (master/dispatch.h). Unlike
// Locust without --enable-rebalancing, users of a missing worker move to
// the others at once, and back when it heals.
//
// State: one enum (runner.h draws its transitions). Only
// master_runner_wait() enters WAITING, s_start() SPAWNING,
// s_ramp_complete() RUNNING, s_stop() STOPPING, s_check_stopped()
// STOPPED, s_quit() QUITTING and s_finish() DONE. From QUITTING the run
// only goes on to DONE, which it never leaves: nothing starts once the
// run ends. How it ended (master_run_end_t) is set on the way to QUITTING.
//
// Timers (on the master's loop): the next dispatch step, the wait for
// the workers' reports after the last step, the run time, the bounded
// wait for the workers' quit, and --autoquit.
#include "master/runner.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "master/dispatch.h"
#include "proto/proto.h"

#define MASTER_REPORT_WAIT_US (1 * APEX_USEC_PER_SEC)
#define MASTER_QUIT_WAIT_US (5 * APEX_USEC_PER_SEC)
#define MASTER_WORKERS_NAMED 10      // worker ids a warning lists
#define MASTER_WAIT_LOG_S 5          // "Waiting for workers" this often
#define MASTER_SPAWN_TS_STEP 1e-6    // spawn timestamps strictly increase
#define MASTER_RATE_CHANGE_MIN 0.001 // iterations/s worth a new spawn ...
#define MASTER_RATE_CHANGE_REL 0.002 // ... and as a fraction of the rate

struct master_runner {
    master_runner_config_t config;  // as given
    const master_options_t *o;      // config.options
    master_registry_t *registry;    // config.registry
    master_results_t *results;      // config.results
    apex_loop_t *loop;              // config.loop
    master_class_t *classes;        // dispatch view of the user classes
    size_t nclasses;                // their number
    master_run_state_t state;       // where the test is
    master_run_end_t end;           // how it ended
    master_run_params_t params;     // users, rate, run time, host
    int64_t target;                 // users the current ramp goes to
    double rate;                    // its spawn rate
    int64_t dispatched;             // users in the current distribution
    double spawn_ts;                // last spawn timestamp sent
    uint64_t wait_started;          // loop time WAITING began
    master_shape_t *shape;          // load shape, or NULL
    uint64_t shape_started;         // loop time the shape began
    master_shape_point_t point;     // where the shape is
    double arrival_sent;            // arrival rate last sent, -1 none
    bool warned_arrival;            // told once that Locust workers sit out
    master_thresholds_t thresholds; // k6-style thresholds
    apex_timer_t dispatch_timer;    // next ramp step
    apex_timer_t report_wait;       // ramp done: wait for worker reports
    apex_timer_t run_timer;         // run time, or the shape's end
    apex_timer_t quit_timer;        // bounds the wait for workers' quit
    apex_timer_t autoquit_timer;    // --autoquit after a stop
    apex_buf_t out;                 // encoded outgoing message
};

static void s_quit(master_runner_t *self, const char *why);

// Public state names, by state: WAITING is still "ready" and QUITTING
// "stopping" to the UI, the API and /metrics.
static const char *const s_state_names[] = {
    [MASTER_RUN_READY] = "ready",       [MASTER_RUN_WAITING] = "ready",
    [MASTER_RUN_SPAWNING] = "spawning", [MASTER_RUN_RUNNING] = "running",
    [MASTER_RUN_STOPPING] = "stopping", [MASTER_RUN_STOPPED] = "stopped",
    [MASTER_RUN_QUITTING] = "stopping", [MASTER_RUN_DONE] = "stopped",
};
// Every public name once, in the order /metrics lists them.
static const char *const s_public_names[] = {"ready", "spawning", "running",
                                             "stopping", "stopped"};

const char *const *master_run_state_names(size_t *n)
{
    *n = sizeof s_public_names / sizeof s_public_names[0];
    return s_public_names;
}

const char *master_runner_state_name(const master_runner_t *self)
{
    assert((size_t)self->state < sizeof s_state_names / sizeof *s_state_names);
    return s_state_names[self->state];
}

bool master_runner_running(const master_runner_t *self)
{
    return self->state == MASTER_RUN_SPAWNING ||
           self->state == MASTER_RUN_RUNNING;
}

bool master_runner_ending(const master_runner_t *self)
{
    return self->state == MASTER_RUN_QUITTING || self->state == MASTER_RUN_DONE;
}

static bool s_arrival(const master_runner_t *self)
{
    return self->shape && self->shape->kind == MASTER_SHAPE_ARRIVAL;
}

// ---------------------------------------------------------------------
// Dispatch

static void s_send(master_runner_t *self, const char *id)
{
    self->config.send(self->config.send_arg, id, &self->out);
}

static void s_send_empty(master_runner_t *self, const master_worker_t *w,
                         const char *type)
{
    proto_encode_empty(&self->out, type, w->id);
    s_send(self, w->id);
}

// The workers that get users, in the order of the registry: the active
// ones, and in the open model only apex-workers (Locust's workers have no
// arrival-rate scheduler). A new array of *n the caller frees.
static master_worker_t **s_dispatchable(master_runner_t *self, size_t *n)
{
    size_t size = master_registry_size(self->registry);
    master_worker_t **out = apex_calloc(size + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < size; i++) {
        master_worker_t *w = master_registry_at(self->registry, i);
        if (master_worker_active(w) && (!s_arrival(self) || w->apex)) {
            out[(*n)++] = w;
        } else if (master_worker_active(w) && !self->warned_arrival) {
            apex_warn("worker %s is not an apex-worker: it gets no users in "
                      "an arrival-rate test",
                      w->id);
            self->warned_arrival = true;
        }
    }
    return out;
}

// The spawn options for n workers: in the open model the master splits
// the rate (and the user budget) evenly.
static proto_spawn_options_t s_spawn_options(master_runner_t *self, size_t n)
{
    proto_spawn_options_t opts = {.scenario = self->config.scenario->wire,
                                  .num_users = self->target,
                                  .spawn_rate = self->rate,
                                  .reset_stats = self->o->reset_stats,
                                  .http_engine = self->o->http_engine,
                                  .http_debug = self->o->http_debug};
    if (s_arrival(self) && n > 0) {
        opts.arrival = true;
        opts.arrival_rate = self->point.rate / (double)n;
        opts.arrival_max_users =
            (self->shape->max_users + (int64_t)n - 1) / (int64_t)n;
        self->arrival_sent = self->point.rate;
    }
    return opts;
}

// Send every dispatchable worker its share of `total` users.
static void s_dispatch_send(master_runner_t *self, int64_t total)
{
    size_t n = 0;
    master_worker_t **active = s_dispatchable(self, &n);
    const char **ids = apex_calloc(n + 1, sizeof *ids);
    for (size_t k = 0; k < n; k++)
        ids[k] = active[k]->id;
    size_t *order = apex_calloc(n + 1, sizeof *order);
    master_dispatch_order(ids, n, order);
    int64_t *dist = apex_calloc(n * self->nclasses + 1, sizeof *dist);
    master_dispatch(self->classes, self->nclasses, n, total, dist);
    proto_count_t *counts = apex_calloc(self->nclasses + 1, sizeof *counts);
    double ts = apex_wall_time();
    if (ts <= self->spawn_ts)
        ts = self->spawn_ts + MASTER_SPAWN_TS_STEP;
    self->spawn_ts = ts;
    proto_spawn_options_t opts = s_spawn_options(self, n);
    for (size_t k = 0; k < n; k++) {
        master_worker_t *w = active[order[k]];
        for (size_t c = 0; c < self->nclasses; c++) {
            counts[c].name = (char *)self->classes[c].name;
            counts[c].count = dist[k * self->nclasses + c];
            w->assigned[c] = counts[c].count;
        }
        // Users k, k + n, ... are this worker's (docs/protocol.md).
        opts.worker_position = (int64_t)k;
        opts.worker_count = (int64_t)n;
        proto_encode_spawn(&self->out, ts, counts, self->nclasses,
                           self->params.host, self->o->stop_timeout, &opts,
                           w->id);
        s_send(self, w->id);
    }
    apex_debug("sent spawn for %lld users to %zu workers", (long long)total, n);
    free(counts);
    free(dist);
    free(order);
    free(ids);
    free(active);
}

void master_runner_rebalance(master_runner_t *self)
{
    if (!master_runner_running(self))
        return;
    size_t active = master_registry_active(self->registry);
    if (active == 0)
        return;
    apex_info("rebalancing %lld users over %zu workers",
              (long long)self->dispatched, active);
    s_dispatch_send(self, self->dispatched);
}

static void s_log_all_spawned(master_runner_t *self)
{
    int64_t *running = apex_calloc(self->nclasses + 1, sizeof *running);
    master_registry_assigned(self->registry, running);
    apex_buf_t text;
    apex_buf_init(&text);
    apex_buf_putc(&text, '{');
    for (size_t c = 0; c < self->nclasses; c++)
        apex_buf_printf(&text, "%s\"%s\": %lld", c ? ", " : "",
                        self->classes[c].name, (long long)running[c]);
    apex_buf_putc(&text, '}');
    // With a shape the target moves every second; keep the log quiet.
    apex_log(self->shape ? APEX_LOG_DEBUG : APEX_LOG_INFO,
             "All users spawned: %s (%lld total users)", apex_buf_str(&text),
             (long long)self->dispatched);
    apex_buf_fini(&text);
    free(running);
}

// SPAWNING -> RUNNING.
static void s_ramp_complete(master_runner_t *self)
{
    apex_timer_stop(self->loop, &self->report_wait);
    if (self->state != MASTER_RUN_SPAWNING)
        return;
    self->state = MASTER_RUN_RUNNING;
    for (size_t i = 0; i < master_registry_size(self->registry); i++) {
        const master_worker_t *w = master_registry_at(self->registry, i);
        if (!master_worker_active(w) || w->python_old)
            continue;
        proto_encode_master_spawning_complete(&self->out, self->dispatched,
                                              w->id);
        s_send(self, w->id);
    }
    s_log_all_spawned(self);
    if (self->o->reset_stats) {
        apex_info("Resetting stats");
        master_results_reset_stats(self->results);
    }
}

static void s_on_report_wait(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_runner_t *self = timer->arg;
    int64_t reported = master_registry_reported_users(self->registry);
    if (reported != self->dispatched)
        apex_info("Spawning is complete and report waittime is expired, but "
                  "not all reports received from workers: %lld of %lld "
                  "users reported",
                  (long long)reported, (long long)self->dispatched);
    s_ramp_complete(self);
}

// One ramp step: max(1, floor(rate)) users towards the target.
static void s_on_dispatch(apex_loop_t *loop, apex_timer_t *timer)
{
    master_runner_t *self = timer->arg;
    if (self->state != MASTER_RUN_SPAWNING ||
        master_registry_active(self->registry) == 0)
        return;
    int64_t step = (int64_t)floor(self->rate);
    if (step < 1)
        step = 1;
    if (self->dispatched < self->target)
        self->dispatched = self->dispatched + step < self->target
                               ? self->dispatched + step
                               : self->target;
    else if (self->dispatched > self->target)
        self->dispatched = self->dispatched - step > self->target
                               ? self->dispatched - step
                               : self->target;
    s_dispatch_send(self, self->dispatched);
    if (self->dispatched != self->target) {
        double wait = (double)step / self->rate;
        apex_timer_start(loop, timer, apex_us_from_s(wait));
        return;
    }
    // Like Locust, wait (up to a second) for the workers' reports to
    // show the target before calling the ramp complete.
    if (master_registry_reported_users(self->registry) == self->dispatched)
        s_ramp_complete(self);
    else
        apex_timer_start(loop, &self->report_wait, MASTER_REPORT_WAIT_US);
}

void master_runner_reported(master_runner_t *self)
{
    if (self->state == MASTER_RUN_SPAWNING &&
        apex_timer_active(&self->report_wait) &&
        master_registry_reported_users(self->registry) == self->dispatched)
        s_ramp_complete(self);
}

// ---------------------------------------------------------------------
// Test control

// -> SPAWNING towards users at rate; a new test when none was running.
static void s_start(master_runner_t *self, int64_t users, double rate)
{
    if (master_runner_ending(self))
        return;
    if (master_registry_active(self->registry) == 0) {
        apex_warn("You can't start a distributed test before at least one "
                  "worker processes has connected");
        return;
    }
    if (!master_runner_running(self)) {
        master_results_start(self->results);
        self->dispatched = 0;
    }
    self->target = users;
    self->rate = rate;
    self->state = MASTER_RUN_SPAWNING;
    apex_log(self->shape ? APEX_LOG_DEBUG : APEX_LOG_INFO,
             "Sending spawn jobs of %lld users at %.2f spawn rate to %zu "
             "ready workers",
             (long long)users, rate, master_registry_active(self->registry));
    apex_timer_start(self->loop, &self->dispatch_timer, 0);
}

// -> DONE: the loop stops.
// The ids of the workers that are active (or missing, when missing),
// at most MASTER_WORKERS_NAMED of them, comma-separated, into out.
static size_t s_name_workers(const master_runner_t *self, bool missing,
                             apex_buf_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < master_registry_size(self->registry); i++) {
        const master_worker_t *w = master_registry_at(self->registry, i);
        if ((w->state == MASTER_WORKER_MISSING) != missing)
            continue;
        if (n < MASTER_WORKERS_NAMED)
            apex_buf_printf(out, "%s%s", n ? ", " : "", w->id);
        else if (n == MASTER_WORKERS_NAMED)
            apex_buf_puts(out, ", ...");
        n++;
    }
    return n;
}

static void s_finish(master_runner_t *self)
{
    if (self->state == MASTER_RUN_QUITTING) {
        // Missing workers are not waited for: say who they were.
        apex_buf_t ids;
        apex_buf_init(&ids);
        size_t n = s_name_workers(self, true, &ids);
        if (n)
            apex_warn("%zu missing worker%s not waited for: %s", n,
                      n == 1 ? " was" : "s were", apex_buf_str(&ids));
        apex_buf_fini(&ids);
    }
    self->state = MASTER_RUN_DONE;
    apex_timer_stop(self->loop, &self->quit_timer);
    apex_loop_stop(self->loop);
}

// -> QUITTING: quit every worker and wait for their last stats and quit
// messages (bounded), then finish.
static void s_quit(master_runner_t *self, const char *why)
{
    if (master_runner_ending(self))
        return;
    apex_info("%s", why);
    self->state = MASTER_RUN_QUITTING;
    apex_timer_stop(self->loop, &self->dispatch_timer);
    apex_timer_stop(self->loop, &self->report_wait);
    apex_timer_stop(self->loop, &self->run_timer);
    size_t n = master_registry_size(self->registry);
    for (size_t i = 0; i < n; i++)
        s_send_empty(self, master_registry_at(self->registry, i), "quit");
    if (n == 0 || master_registry_active(self->registry) == 0) {
        s_finish(self);
        return;
    }
    uint64_t wait = MASTER_QUIT_WAIT_US;
    if (self->o->stop_timeout > 0)
        wait += apex_us_from_s(self->o->stop_timeout);
    apex_timer_start(self->loop, &self->quit_timer, wait);
}

static void s_on_quit_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_runner_t *self = timer->arg;
    apex_buf_t ids;
    apex_buf_init(&ids);
    size_t n = s_name_workers(self, false, &ids);
    if (n)
        apex_warn("%zu worker%s did not confirm quit in time: %s", n,
                  n == 1 ? "" : "s", apex_buf_str(&ids));
    apex_buf_fini(&ids);
    s_finish(self);
}

// STOPPING -> STOPPED once no worker runs users; thresholds judge the
// test that just ended.
static void s_check_stopped(master_runner_t *self)
{
    if (self->state != MASTER_RUN_STOPPING)
        return;
    if (master_registry_in_state(self->registry, MASTER_WORKER_SPAWNING) ||
        master_registry_in_state(self->registry, MASTER_WORKER_RUNNING) ||
        master_registry_in_state(self->registry, MASTER_WORKER_STOPPING))
        return;
    self->state = MASTER_RUN_STOPPED;
    master_runner_evaluate(self);
}

// -> STOPPING (Locust's runner.stop()): the workers stop their users,
// send client_stopped and client_ready, and the test is stopped when
// none runs any more.
static void s_stop(master_runner_t *self)
{
    if (!master_runner_running(self))
        return;
    apex_timer_stop(self->loop, &self->dispatch_timer);
    apex_timer_stop(self->loop, &self->report_wait);
    apex_timer_stop(self->loop, &self->run_timer);
    self->state = MASTER_RUN_STOPPING;
    self->results->end_time = apex_wall_time();
    self->dispatched = 0;
    self->target = 0;
    for (size_t i = 0; i < master_registry_size(self->registry); i++) {
        const master_worker_t *w = master_registry_at(self->registry, i);
        if (master_worker_active(w))
            s_send_empty(self, w, "stop");
    }
    apex_info("test stopped by the %s", self->o->headless ? "run" : "UI");
    s_check_stopped(self);
    if (self->o->autoquit >= 0) {
        apex_info("quitting in %g seconds (--autoquit)", self->o->autoquit);
        apex_timer_start(self->loop, &self->autoquit_timer,
                         apex_us_from_s(self->o->autoquit));
    }
}

void master_runner_stop(master_runner_t *self)
{
    s_stop(self);
}

static void s_on_run_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_runner_t *self = timer->arg;
    if (!self->o->headless) {
        // The UI's runs stop (and --autoquit may end the process).
        apex_info("%s", self->shape ? "the load shape is complete, stopping"
                                    : "run time limit reached, stopping");
        s_stop(self);
        return;
    }
    s_quit(self, self->shape ? "the load shape is complete, shutting down"
                             : "--run-time limit reached, shutting down");
}

static void s_on_autoquit(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_quit(timer->arg, "--autoquit time reached, shutting down");
}

// No active worker is left while users run: stop, or quit when headless.
static void s_last_worker_gone(master_runner_t *self, const char *how)
{
    if (master_registry_active(self->registry) > 0 ||
        !master_runner_running(self))
        return;
    apex_info("The last worker %s, stopping test.", how);
    if (self->o->headless) {
        self->end = MASTER_RUN_ABORTED;
        s_quit(self, "no workers left, shutting down");
    } else {
        s_stop(self);
    }
}

void master_runner_worker_missing(master_runner_t *self)
{
    master_runner_rebalance(self);
    s_last_worker_gone(self, "went missing");
}

void master_runner_worker_stopped(master_runner_t *self)
{
    master_runner_rebalance(self);
    s_last_worker_gone(self, "stopped");
    s_check_stopped(self);
}

void master_runner_worker_quit(master_runner_t *self)
{
    if (master_runner_ending(self)) {
        // Every worker that can still answer has: missing ones are not
        // waited for.
        if (master_registry_active(self->registry) == 0)
            s_finish(self);
        return;
    }
    master_runner_rebalance(self);
    s_last_worker_gone(self, "quit");
}

void master_runner_heartbeat(master_runner_t *self)
{
    s_check_stopped(self);
}

void master_runner_finish(master_runner_t *self)
{
    s_finish(self);
}

void master_runner_signal(master_runner_t *self, const char *why)
{
    // Stopped before the test began: no run happened (exit 3), so a CI
    // job killed while waiting never looks like a pass.
    if (self->state == MASTER_RUN_WAITING)
        self->end = MASTER_RUN_ABORTED;
    s_quit(self, why);
}

// ---------------------------------------------------------------------
// Starting, load shapes and thresholds

// Start the test the command line (or the UI, with a shape) asks for.
static void s_begin(master_runner_t *self)
{
    if (!self->shape) {
        s_start(self, self->params.users, self->params.spawn_rate);
        if (self->params.run_time > 0) {
            apex_info("Run time limit set to %g seconds",
                      self->params.run_time);
            apex_timer_start(self->loop, &self->run_timer,
                             apex_us_from_s(self->params.run_time));
        }
        return;
    }
    char *text = master_shape_describe(self->shape);
    apex_info("Starting the load shape (%g s): %s",
              master_shape_duration(self->shape), text);
    free(text);
    self->shape_started = apex_loop_now(self->loop);
    self->point = master_shape_at(self->shape, 0);
    // The end is timed exactly, not left to the once-a-second tick, so an
    // arrival-rate run lasts what it says (its iteration count depends on
    // it).
    apex_timer_start(self->loop, &self->run_timer,
                     apex_us_from_s(master_shape_duration(self->shape)));
    if (self->shape->kind == MASTER_SHAPE_ARRIVAL) {
        // The pre-allocated users go out at once; the rate goes with them.
        s_start(self, self->shape->pre_allocated,
                (double)self->shape->pre_allocated);
        return;
    }
    s_start(self, (int64_t)self->point.users,
            self->point.spawn_rate > 0
                ? self->point.spawn_rate
                : (self->point.users > 1 ? self->point.users : 1));
}

void master_runner_swarm(master_runner_t *self, int64_t users, double rate,
                         double run_time, char **host_p)
{
    if (host_p && *host_p) {
        free(self->params.host);
        self->params.host = *host_p;
        *host_p = NULL;
    }
    apex_timer_stop(self->loop, &self->autoquit_timer);
    if (self->shape) {
        s_begin(self);
        return;
    }
    self->params.users = users;
    self->params.spawn_rate = rate;
    s_start(self, users, rate);
    if (run_time > 0) {
        self->params.run_time = run_time;
        apex_timer_start(self->loop, &self->run_timer,
                         apex_us_from_s(run_time));
    }
}

void master_runner_wait(master_runner_t *self)
{
    if (self->state != MASTER_RUN_READY)
        return;
    self->state = MASTER_RUN_WAITING;
    self->wait_started = apex_loop_now(self->loop);
    apex_info("Waiting for %d workers to be ready", self->o->expect_workers);
}

// WAITING: start once enough workers are ready, give up after
// --expect-workers-max-wait.
static void s_wait_step(master_runner_t *self)
{
    if (self->state != MASTER_RUN_WAITING)
        return;
    size_t ready =
        master_registry_in_state(self->registry, MASTER_WORKER_READY);
    uint64_t waited = apex_loop_now(self->loop) - self->wait_started;
    if (ready >= (size_t)self->o->expect_workers) {
        s_begin(self);
    } else if (self->o->expect_workers_max_wait > 0 &&
               apex_s_from_us(waited) >= self->o->expect_workers_max_wait) {
        apex_err("Gave up waiting for workers to connect: %zu of %d "
                 "ready",
                 ready, self->o->expect_workers);
        self->end = MASTER_RUN_ABORTED;
        s_quit(self, "shutting down");
    } else if (waited >= MASTER_WAIT_LOG_S * APEX_USEC_PER_SEC &&
               (waited / APEX_USEC_PER_SEC) % MASTER_WAIT_LOG_S == 0) {
        apex_info("Waiting for workers to be ready, %zu of %d connected", ready,
                  self->o->expect_workers);
    }
}

// Follow the shape: re-target the users (stages) or the rate (arrival)
// once a second; the run timer ends the test after the last stage.
static void s_shape_step(master_runner_t *self)
{
    if (!self->shape || !master_runner_running(self))
        return;
    double t = apex_s_from_us(apex_loop_now(self->loop) - self->shape_started);
    self->point = master_shape_at(self->shape, t);
    if (self->point.over)
        return; // the run timer ends it, at the exact time
    if (self->shape->kind == MASTER_SHAPE_STAGES) {
        int64_t users = (int64_t)self->point.users;
        if (users == self->target)
            return;
        double rate = self->point.spawn_rate;
        if (rate <= 0) // a linear ramp: reach this second's target at once
            rate = fabs((double)(users - self->dispatched));
        s_start(self, users, rate < 1 ? 1 : rate);
        return;
    }
    // A dispatch still under way carries the new rate by itself.
    if (self->dispatched != self->target)
        return;
    double change = fabs(self->point.rate - self->arrival_sent);
    if (change > MASTER_RATE_CHANGE_MIN &&
        change > MASTER_RATE_CHANGE_REL * self->point.rate)
        s_dispatch_send(self, self->dispatched);
}

bool master_runner_evaluate(master_runner_t *self)
{
    master_th_input_t in = master_results_th_input(self->results);
    in.scenario = self->config.scenario;
    return master_thresholds_evaluate(&self->thresholds, &in);
}

// abort_on_fail thresholds, checked once a second while the test runs.
static void s_check_abort(master_runner_t *self)
{
    if (self->thresholds.n == 0 || !master_runner_running(self))
        return;
    bool any = false;
    for (size_t i = 0; i < self->thresholds.n; i++)
        any = any || self->thresholds.items[i].abort_on_fail;
    if (!any)
        return;
    master_th_input_t in = master_results_th_input(self->results);
    in.scenario = self->config.scenario;
    master_thresholds_evaluate(&self->thresholds, &in);
    const master_threshold_t *t =
        master_thresholds_abort(&self->thresholds, in.duration);
    if (!t)
        return;
    apex_err("threshold %s failed (observed %g%s): aborting the run", t->source,
             t->observed, master_threshold_unit(t));
    self->end = MASTER_RUN_THRESHOLD_ENDED;
    s_quit(self, "a threshold with abort_on_fail failed, shutting down");
}

// One history point a second while the test runs.
static void s_sample(master_runner_t *self)
{
    if (!master_runner_running(self))
        return;
    master_figures_t gauges = {0};
    master_registry_gauge_totals(self->registry, &gauges);
    master_results_gauges(self->results, &gauges);
    master_figures_clear(&gauges);
    master_results_sample(self->results,
                          master_registry_reported_users(self->registry),
                          self->shape, &self->point);
}

void master_runner_tick(master_runner_t *self)
{
    s_wait_step(self);
    s_shape_step(self);
    s_check_abort(self);
    s_sample(self);
}

// ---------------------------------------------------------------------
// What the rest of the master reads

master_run_state_t master_runner_state(const master_runner_t *self)
{
    return self->state;
}

master_run_end_t master_runner_end(const master_runner_t *self)
{
    return self->end;
}

const master_run_params_t *master_runner_params(const master_runner_t *self)
{
    return &self->params;
}

const master_shape_t *master_runner_shape(const master_runner_t *self)
{
    return self->shape;
}

const master_shape_point_t *master_runner_point(const master_runner_t *self)
{
    return &self->point;
}

const master_thresholds_t *master_runner_thresholds(const master_runner_t *self)
{
    return &self->thresholds;
}

void master_runner_print_stage(const master_runner_t *self, FILE *out)
{
    if (!self->shape || !master_runner_running(self))
        return;
    int64_t users = master_registry_reported_users(self->registry);
    if (self->shape->kind == MASTER_SHAPE_STAGES)
        fprintf(out, "Stage %zu/%zu: target %g users, %lld running\n",
                self->point.stage, self->shape->nstages, self->point.users,
                (long long)users);
    else
        fprintf(out,
                "Stage %zu/%zu: target %.2f iterations/s, %llu "
                "completed, %llu dropped, %lld users\n",
                self->point.stage, self->shape->nstages, self->point.rate,
                (unsigned long long)self->results->iterations,
                (unsigned long long)self->results->dropped, (long long)users);
}

const master_csv_shape_t *master_runner_csv_shape(const master_runner_t *self,
                                                  master_csv_shape_t *out)
{
    if (!self->shape)
        return NULL;
    bool running = master_runner_running(self);
    out->stage = running ? (int)self->point.stage : 0;
    out->target_users = running && self->shape->kind == MASTER_SHAPE_STAGES
                            ? self->point.users
                            : NAN;
    out->target_rate = running && self->shape->kind == MASTER_SHAPE_ARRIVAL
                           ? self->point.rate
                           : NAN;
    return out;
}

// ---------------------------------------------------------------------
// Life cycle

master_runner_t *master_runner_new(const master_runner_config_t *config)
{
    master_runner_t *self = apex_calloc(1, sizeof *self);
    self->config = *config;
    self->o = config->options;
    self->registry = config->registry;
    self->results = config->results;
    self->loop = config->loop;
    self->arrival_sent = -1;
    apex_buf_init(&self->out);
    const apex_scenario_t *scn = config->scenario;
    self->nclasses = scn->nusers;
    self->classes = apex_calloc(scn->nusers + 1, sizeof *self->classes);
    for (size_t i = 0; i < scn->nusers; i++) {
        self->classes[i].name = scn->users[i].name;
        self->classes[i].weight = scn->users[i].weight;
        self->classes[i].fixed_count = scn->users[i].fixed_count;
    }
    self->params.users = self->o->users;
    self->params.spawn_rate = self->o->spawn_rate;
    self->params.run_time = self->o->run_time;
    self->params.host = config->host;
    self->shape = config->shape;
    self->thresholds = config->thresholds;
    apex_timer_init(&self->dispatch_timer, s_on_dispatch, self);
    apex_timer_init(&self->report_wait, s_on_report_wait, self);
    apex_timer_init(&self->run_timer, s_on_run_timer, self);
    apex_timer_init(&self->quit_timer, s_on_quit_timer, self);
    apex_timer_init(&self->autoquit_timer, s_on_autoquit, self);
    return self;
}

void master_runner_destroy(master_runner_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_runner_t *self = *self_p;
    apex_timer_stop(self->loop, &self->dispatch_timer);
    apex_timer_stop(self->loop, &self->report_wait);
    apex_timer_stop(self->loop, &self->run_timer);
    apex_timer_stop(self->loop, &self->quit_timer);
    apex_timer_stop(self->loop, &self->autoquit_timer);
    master_shape_destroy(&self->shape);
    master_thresholds_fini(&self->thresholds);
    free(self->classes);
    free(self->params.host);
    apex_buf_fini(&self->out);
    free(self);
    *self_p = NULL;
}
