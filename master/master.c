// master/master.c - see master.h.
//
// Everything runs on one event loop: the ROUTER socket (edge-triggered
// ZMQ_FD, drained after every iteration), a signalfd, and timers for the
// once-a-second tick (liveness and waiting for workers), dispatch steps,
// the console table, the CSV files and the run time.
//
// Workers follow Locust's life cycle (reference/locust.md §A): a
// client_ready creates or re-creates a worker and is acked with an index
// that stays the same for that id; heartbeats reset a liveness counter of
// 3 that the tick decrements; below 0 the worker is missing, and after
// another 60 ticks it is forgotten. Unlike Locust without
// --enable-rebalancing, users of a missing worker move to the others at
// once, and back when it heals.
//
// Dispatch: the master does all rate limiting. Each step sends every
// active worker its absolute per-class target for the new total (which
// grows or shrinks by max(1, floor(rate)) users every that/rate seconds),
// so a join, a leave or a rebalance is just the current total
// re-distributed over the current workers (master/dispatch.h).
#include "master/master.h"

#include <czmq.h>
#include <jansson.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/url.h"
#include "common/buf.h"
#include "common/cli.h"
#include "common/fs.h"
#include "common/clock.h"
#include "common/loop.h"
#include "common/stats.h"
#include "common/version.h"
#include "master/assets.h"
#include "master/children.h"
#include "master/dispatch.h"
#include "master/history.h"
#include "master/limits.h"
#include "master/metrics.h"
#include "master/report.h"
#include "master/report_json.h"
#include "master/shape.h"
#include "master/thresholds.h"
#include "master/api.h"
#include "master/web.h"
#include "proto/proto.h"

#define MASTER_TICK_US (1 * APEX_USEC_PER_SEC)
#define MASTER_CONSOLE_US (2 * APEX_USEC_PER_SEC)
#define MASTER_CSV_US (1 * APEX_USEC_PER_SEC)
#define MASTER_LIVENESS 3
#define MASTER_DEAD_TICKS 60
#define MASTER_REPORT_WAIT_US (1 * APEX_USEC_PER_SEC)
#define MASTER_QUIT_WAIT_US (5 * APEX_USEC_PER_SEC)
#define MASTER_MAX_UNKNOWN_LOGGED 16

typedef enum {
    RUN_READY,    // no test yet
    RUN_SPAWNING, // ramping
    RUN_RUNNING,  // all users dispatched
    RUN_STOPPING, // stop or quit sent
    RUN_STOPPED,  // test over
} run_state_t;

typedef enum {
    W_READY,
    W_SPAWNING,
    W_RUNNING,
    W_STOPPING,
    W_MISSING,
} worker_state_t;

// What we remember of every worker ever seen, for its index and the
// final workers table (a registry entry comes and goes with
// client_ready, client_stopped and quit).
typedef struct {
    char *id;           // node id
    char *kind;         // "apex 0.1.0", "locust 2.12.1", ...
    const char *state;  // last state shown in the table
    int64_t users;      // most users it reported at once
    double cpu;         // last reported CPU %
    uint64_t memory;    // last reported RSS
    uint64_t requests;  // requests merged from it
    uint64_t failures;  // failures merged from it
    uint64_t malformed; // malformed frames it sent
} s_seen_t;

typedef struct {
    size_t seen;             // index in seen (also the ack index)
    worker_state_t state;    // Locust's node state
    int liveness;            // heartbeat counter (3 .. -60)
    char *version;           // version text it sent ("-1" for the int)
    bool apex;               // an apex-worker (heartbeat extension)
    bool python_old;         // a Locust older than 2.19 (no heartbeat reply)
    int64_t user_count;      // users it reported
    int64_t *assigned;       // per class: what the last spawn gave it
    uint64_t last_heartbeat; // loop time of its last heartbeat
} s_worker_t;

struct master {
    master_options_t options;       // as given
    apex_scenario_t *scenario;      // the scenario
    master_class_t *classes;        // dispatch view of its user classes
    size_t nclasses;                // their number
    char *host;                     // host sent to workers, or NULL
    apex_loop_t *loop;              // the one loop
    zsock_t *router;                // ROUTER for workers
    int port;                       // bound port
    apex_io_t router_io;            // watches ZMQ_FD
    int sigfd;                      // SIGINT, SIGTERM, SIGCHLD
    apex_io_t sig_io;               // watches sigfd
    apex_timer_t tick;              // once a second
    apex_timer_t dispatch_timer;    // next ramp step
    apex_timer_t report_wait;       // ramp done: wait for worker reports
    apex_timer_t console;           // periodic table
    apex_timer_t csv_timer;         // periodic CSV
    apex_timer_t run_timer;         // --run-time
    apex_timer_t quit_timer;        // bounds the wait for workers' quit
    s_seen_t *seen;                 // every worker ever seen
    size_t nseen;                   // their number
    s_worker_t **workers;           // registered workers
    size_t nworkers;                // their number
    run_state_t state;              // test state
    int64_t target;                 // users asked for
    double rate;                    // spawn rate asked for
    int64_t dispatched;             // users in the current distribution
    double spawn_ts;                // last spawn timestamp sent
    bool waiting_for_workers;       // headless: before the start
    uint64_t wait_started;          // when the wait began (loop time)
    bool quitting;                  // quit sent; exit when workers are gone
    int exit_code;                  // what master_run() returns
    bool aborted;                   // the run ended without its workers
    apex_stats_t *stats;            // merged stats
    master_exception_t *exceptions; // merged exceptions
    size_t nexceptions;             // their number
    FILE *history_csv;              // PREFIX_stats_history.csv
    master_history_t *history;      // points for the reports
    master_shape_t *shape;          // load shape, or NULL
    uint64_t shape_started;         // loop time the shape began
    master_shape_point_t point;     // where the shape is
    double arrival_sent;            // arrival rate last sent, -1 none
    bool warned_python_arrival;     // told Locust workers sit out
    master_thresholds_t thresholds; // k6-style thresholds
    uint64_t iterations;            // tasks completed (all workers)
    uint64_t dropped;               // arrival iterations not started
    bool threshold_aborted;         // an abort_on_fail threshold failed
    double end_time;                // wall time the test ended
    master_web_t *web;              // the UI and API, or NULL (headless)
    apex_timer_t autoquit_timer;    // --autoquit after a stop
    double start_time;              // wall time the test started
    master_children_t *children;    // --processes workers, or NULL
    uint64_t unknown_logged;        // messages from unknown ids logged
    uint64_t malformed;             // malformed frames dropped
    uint64_t malformed_unknown;     // ... from peers that never registered
    char *unknown_types[8];         // unknown message types warned about
    apex_buf_t out;                 // encoded outgoing message
    int signals;                    // SIGINT/SIGTERM received
};

static void s_drain(void *arg);
static void s_check_stopped(master_t *self);
static void s_stop_test(master_t *self);
static master_th_input_t s_th_input(master_t *self);
static void s_web_handle(void *arg, master_web_request_t *req);
static void s_start(master_t *self, int64_t users, double rate);
static void s_begin_test(master_t *self);
static void s_finish(master_t *self);

// ---------------------------------------------------------------------
// Workers

static s_seen_t *s_seen(master_t *self, const s_worker_t *w)
{
    return &self->seen[w->seen];
}

static const char *s_wid(master_t *self, const s_worker_t *w)
{
    return self->seen[w->seen].id;
}

static s_worker_t *s_find(master_t *self, const char *id, size_t *pos)
{
    for (size_t i = 0; i < self->nworkers; i++)
        if (strcmp(s_wid(self, self->workers[i]), id) == 0) {
            if (pos)
                *pos = i;
            return self->workers[i];
        }
    return NULL;
}

static size_t s_seen_index(master_t *self, const char *id)
{
    for (size_t i = 0; i < self->nseen; i++)
        if (strcmp(self->seen[i].id, id) == 0)
            return i;
    self->seen = apex_realloc(self->seen, self->nseen + 1, sizeof *self->seen);
    s_seen_t *s = &self->seen[self->nseen];
    memset(s, 0, sizeof *s);
    s->id = apex_strdup(id);
    s->kind = apex_strdup("?");
    s->state = "ready";
    return self->nseen++;
}

// State names as the UI, the API and /metrics show them.
static const char *const s_run_state_names[] = {
    [RUN_READY] = "ready",     [RUN_SPAWNING] = "spawning",
    [RUN_RUNNING] = "running", [RUN_STOPPING] = "stopping",
    [RUN_STOPPED] = "stopped",
};
static const char *const s_worker_state_names[] = {
    [W_READY] = "ready",     [W_SPAWNING] = "spawning",
    [W_RUNNING] = "running", [W_STOPPING] = "stopping",
    [W_MISSING] = "missing",
};
#define S_NSTATES(names) (sizeof(names) / sizeof((names)[0]))

static const char *s_wstate_name(worker_state_t state)
{
    assert((size_t)state < S_NSTATES(s_worker_state_names));
    return s_worker_state_names[state];
}

static bool s_active(const s_worker_t *w)
{
    return w->state != W_MISSING;
}

static bool s_arrival(const master_t *self)
{
    return self->shape && self->shape->kind == MASTER_SHAPE_ARRIVAL;
}

// A worker that gets users: an active one, and in the open model only
// apex-workers (Locust's workers have no arrival-rate scheduler).
static bool s_dispatchable(const master_t *self, const s_worker_t *w)
{
    return s_active(w) && (!s_arrival(self) || w->apex);
}

static size_t s_active_count(master_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (s_active(self->workers[i]))
            n++;
    return n;
}

static int64_t s_reported_users(master_t *self)
{
    int64_t n = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (s_active(self->workers[i]) && self->workers[i]->user_count > 0)
            n += self->workers[i]->user_count;
    return n;
}

static void s_worker_free(s_worker_t *w)
{
    if (!w)
        return;
    free(w->version);
    free(w->assigned);
    free(w);
}

static void s_remove(master_t *self, size_t pos, const char *state)
{
    s_worker_t *w = self->workers[pos];
    s_seen(self, w)->state = state;
    memmove(&self->workers[pos], &self->workers[pos + 1],
            (self->nworkers - pos - 1) * sizeof *self->workers);
    self->nworkers--;
    s_worker_free(w);
}

// ---------------------------------------------------------------------
// Sending

static void s_send(master_t *self, const char *id)
{
    void *handle = zsock_resolve(self->router);
    if (zmq_send(handle, id, strlen(id), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(handle, self->out.data, self->out.len, ZMQ_DONTWAIT) < 0)
        apex_debug("send to %s failed: %s", id, zmq_strerror(zmq_errno()));
}

static void s_send_empty(master_t *self, s_worker_t *w, const char *type)
{
    proto_encode_empty(&self->out, type, s_wid(self, w));
    s_send(self, s_wid(self, w));
}

// Send every active worker its share of `total` users.
static void s_dispatch_send(master_t *self, int64_t total)
{
    size_t n = 0;
    const char **ids = apex_calloc(self->nworkers + 1, sizeof *ids);
    s_worker_t **active = apex_calloc(self->nworkers + 1, sizeof *active);
    for (size_t i = 0; i < self->nworkers; i++)
        if (s_dispatchable(self, self->workers[i])) {
            active[n] = self->workers[i];
            ids[n] = s_wid(self, self->workers[i]);
            n++;
        } else if (s_active(self->workers[i]) && !self->warned_python_arrival) {
            apex_warn("worker %s is not an apex-worker: it gets no users in "
                      "an arrival-rate test",
                      s_wid(self, self->workers[i]));
            self->warned_python_arrival = true;
        }
    size_t *order = apex_calloc(n + 1, sizeof *order);
    master_dispatch_order(ids, n, order);
    int64_t *dist = apex_calloc(n * self->nclasses + 1, sizeof *dist);
    master_dispatch(self->classes, self->nclasses, n, total, dist);
    proto_count_t *counts = apex_calloc(self->nclasses + 1, sizeof *counts);
    double ts = apex_wall_time();
    if (ts <= self->spawn_ts)
        ts = self->spawn_ts + 1e-6; // strictly increasing
    self->spawn_ts = ts;
    proto_spawn_options_t opts = {
        self->scenario->wire, self->target, self->rate, false, 0, 0};
    if (s_arrival(self) && n > 0) {
        // The master splits the rate (and the user budget) evenly.
        opts.arrival = true;
        opts.arrival_rate = self->point.rate / (double)n;
        opts.arrival_max_users =
            (self->shape->max_users + (int64_t)n - 1) / (int64_t)n;
        self->arrival_sent = self->point.rate;
    }
    for (size_t k = 0; k < n; k++) {
        s_worker_t *w = active[order[k]];
        for (size_t c = 0; c < self->nclasses; c++) {
            counts[c].name = (char *)self->classes[c].name;
            counts[c].count = dist[k * self->nclasses + c];
            w->assigned[c] = counts[c].count;
        }
        proto_encode_spawn(&self->out, ts, counts, self->nclasses, self->host,
                           self->options.stop_timeout, &opts, s_wid(self, w));
        s_send(self, s_wid(self, w));
    }
    apex_debug("sent spawn for %lld users to %zu workers", (long long)total, n);
    free(counts);
    free(dist);
    free(order);
    free(active);
    free(ids);
}

// Re-distribute the current total after a worker joined or left.
static void s_rebalance(master_t *self)
{
    if (self->state != RUN_SPAWNING && self->state != RUN_RUNNING)
        return;
    if (s_active_count(self) == 0)
        return;
    apex_info("rebalancing %lld users over %zu workers",
              (long long)self->dispatched, s_active_count(self));
    s_dispatch_send(self, self->dispatched);
}

static void s_log_all_spawned(master_t *self)
{
    apex_buf_t text;
    apex_buf_init(&text);
    apex_buf_putc(&text, '{');
    for (size_t c = 0; c < self->nclasses; c++) {
        int64_t n = 0;
        for (size_t i = 0; i < self->nworkers; i++)
            if (s_active(self->workers[i]))
                n += self->workers[i]->assigned[c];
        apex_buf_printf(&text, "%s\"%s\": %lld", c ? ", " : "",
                        self->classes[c].name, (long long)n);
    }
    apex_buf_putc(&text, '}');
    // With a shape the target moves every second; keep the log quiet.
    apex_log(self->shape ? APEX_LOG_DEBUG : APEX_LOG_INFO,
             "All users spawned: %s (%lld total users)", apex_buf_str(&text),
             (long long)self->dispatched);
    apex_buf_fini(&text);
}

static void s_ramp_complete(master_t *self)
{
    apex_timer_stop(self->loop, &self->report_wait);
    if (self->state != RUN_SPAWNING)
        return;
    self->state = RUN_RUNNING;
    for (size_t i = 0; i < self->nworkers; i++) {
        s_worker_t *w = self->workers[i];
        if (!s_active(w) || w->python_old)
            continue;
        proto_encode_master_spawning_complete(&self->out, self->dispatched,
                                              s_wid(self, w));
        s_send(self, s_wid(self, w));
    }
    s_log_all_spawned(self);
}

static void s_on_report_wait(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_t *self = timer->arg;
    if (s_reported_users(self) != self->dispatched)
        apex_info("Spawning is complete and report waittime is expired, but "
                  "not all reports received from workers: %lld of %lld "
                  "users reported",
                  (long long)s_reported_users(self),
                  (long long)self->dispatched);
    s_ramp_complete(self);
}

static void s_on_dispatch(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    if (self->state != RUN_SPAWNING || s_active_count(self) == 0)
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
    if (s_reported_users(self) == self->dispatched)
        s_ramp_complete(self);
    else
        apex_timer_start(loop, &self->report_wait, MASTER_REPORT_WAIT_US);
}

static void s_check_ramp_reports(master_t *self)
{
    if (self->state == RUN_SPAWNING && apex_timer_active(&self->report_wait) &&
        s_reported_users(self) == self->dispatched)
        s_ramp_complete(self);
}

// ---------------------------------------------------------------------
// Test control

static void s_start(master_t *self, int64_t users, double rate)
{
    if (s_active_count(self) == 0) {
        apex_warn("You can't start a distributed test before at least one "
                  "worker processes has connected");
        return;
    }
    if (self->state != RUN_SPAWNING && self->state != RUN_RUNNING) {
        apex_stats_clear(self->stats, apex_wall_time());
        master_history_clear(self->history);
        self->start_time = apex_wall_time();
        self->dispatched = 0;
        self->iterations = 0;
        self->dropped = 0;
    }
    self->target = users;
    self->rate = rate;
    self->state = RUN_SPAWNING;
    apex_log(self->shape ? APEX_LOG_DEBUG : APEX_LOG_INFO,
             "Sending spawn jobs of %lld users at %.2f spawn rate to %zu "
             "ready workers",
             (long long)users, rate, s_active_count(self));
    apex_timer_start(self->loop, &self->dispatch_timer, 0);
}

// Headless end of a test: quit every worker and wait for their last
// stats and quit messages (bounded), then finish.
static void s_quit_test(master_t *self, const char *why)
{
    if (self->quitting)
        return;
    apex_info("%s", why);
    self->quitting = true;
    self->state = RUN_STOPPING;
    apex_timer_stop(self->loop, &self->dispatch_timer);
    apex_timer_stop(self->loop, &self->report_wait);
    apex_timer_stop(self->loop, &self->run_timer);
    for (size_t i = 0; i < self->nworkers; i++)
        s_send_empty(self, self->workers[i], "quit");
    if (self->nworkers == 0 || s_active_count(self) == 0) {
        s_finish(self);
        return;
    }
    uint64_t wait = MASTER_QUIT_WAIT_US;
    if (self->options.stop_timeout > 0)
        wait += apex_us_from_s(self->options.stop_timeout);
    apex_timer_start(self->loop, &self->quit_timer, wait);
}

static void s_on_quit_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_t *self = timer->arg;
    apex_warn("%zu workers did not confirm quit in time", s_active_count(self));
    s_finish(self);
}

static void s_on_run_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_t *self = timer->arg;
    if (!self->options.headless) {
        // The UI's runs stop (and --autoquit may end the process).
        apex_info("%s", self->shape ? "the load shape is complete, stopping"
                                    : "run time limit reached, stopping");
        s_stop_test(self);
        return;
    }
    s_quit_test(self, self->shape ? "the load shape is complete, shutting down"
                                  : "--run-time limit reached, shutting down");
}

static void s_finish(master_t *self)
{
    self->state = RUN_STOPPED;
    apex_timer_stop(self->loop, &self->quit_timer);
    apex_loop_stop(self->loop);
}

static void s_last_worker_gone(master_t *self, const char *how)
{
    if (self->quitting || s_active_count(self) > 0)
        return;
    if (self->state == RUN_SPAWNING || self->state == RUN_RUNNING) {
        apex_info("The last worker %s, stopping test.", how);
        if (self->options.headless) {
            self->aborted = true;
            s_quit_test(self, "no workers left, shutting down");
        } else {
            s_stop_test(self);
        }
    }
}

// UI mode: stop the test (Locust's runner.stop()); the workers stop their
// users, send client_stopped and client_ready, and the test is stopped
// when none runs any more.
static void s_stop_test(master_t *self)
{
    if (self->state != RUN_SPAWNING && self->state != RUN_RUNNING)
        return;
    apex_timer_stop(self->loop, &self->dispatch_timer);
    apex_timer_stop(self->loop, &self->report_wait);
    apex_timer_stop(self->loop, &self->run_timer);
    self->state = RUN_STOPPING;
    self->end_time = apex_wall_time();
    self->dispatched = 0;
    self->target = 0;
    for (size_t i = 0; i < self->nworkers; i++)
        if (s_active(self->workers[i]))
            s_send_empty(self, self->workers[i], "stop");
    apex_info("test stopped by the %s", self->options.headless ? "run" : "UI");
    s_check_stopped(self);
    if (self->options.autoquit >= 0) {
        apex_info("quitting in %g seconds (--autoquit)",
                  self->options.autoquit);
        apex_timer_start(self->loop, &self->autoquit_timer,
                         apex_us_from_s(self->options.autoquit));
    }
}

static void s_check_stopped(master_t *self)
{
    if (self->state != RUN_STOPPING || self->quitting)
        return;
    for (size_t i = 0; i < self->nworkers; i++) {
        worker_state_t st = self->workers[i]->state;
        if (st == W_SPAWNING || st == W_RUNNING || st == W_STOPPING)
            return;
    }
    self->state = RUN_STOPPED;
    master_th_input_t in = s_th_input(self);
    master_thresholds_evaluate(&self->thresholds, &in);
}

static void s_on_autoquit(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_quit_test(timer->arg, "--autoquit time reached, shutting down");
}

// ---------------------------------------------------------------------
// Messages from workers

static void s_warn_unknown_type(master_t *self, const proto_msg_t *msg)
{
    size_t n = sizeof self->unknown_types / sizeof self->unknown_types[0];
    for (size_t i = 0; i < n; i++) {
        if (!self->unknown_types[i]) {
            self->unknown_types[i] = apex_strdup(msg->type_name);
            apex_warn("Unknown message type received from worker %s: %s",
                      msg->node_id, msg->type_name);
            return;
        }
        if (strcmp(self->unknown_types[i], msg->type_name) == 0)
            return;
    }
}

static void s_on_client_ready(master_t *self, proto_msg_t *msg)
{
    char version[64];
    if (msg->version)
        snprintf(version, sizeof version, "%s", msg->version);
    else
        snprintf(version, sizeof version, "%lld", (long long)msg->version_int);
    if (msg->version && msg->version[0] == '\0')
        apex_warn("worker %s sent an empty version (Debian's python3-locust "
                  "2.12.1 does): accepting it",
                  msg->node_id);
    else if (!msg->version && msg->version_int != -1)
        apex_warn("worker %s sent version %s: accepting it", msg->node_id,
                  version);

    size_t pos = 0;
    s_worker_t *old = s_find(self, msg->node_id, &pos);
    if (old) {
        memmove(&self->workers[pos], &self->workers[pos + 1],
                (self->nworkers - pos - 1) * sizeof *self->workers);
        self->nworkers--;
        s_worker_free(old);
    }
    s_worker_t *w = apex_calloc(1, sizeof *w);
    w->seen = s_seen_index(self, msg->node_id);
    w->state = W_READY;
    w->liveness = MASTER_LIVENESS;
    w->last_heartbeat = apex_loop_now(self->loop);
    w->version = apex_strdup(version);
    w->assigned = apex_calloc(self->nclasses + 1, sizeof *w->assigned);
    // Locust before 2.19 knows neither the master's heartbeat nor its
    // spawning_complete and logs each as an unknown message; an empty
    // version is Debian's 2.12.1.
    w->python_old = msg->version && (msg->version[0] == '\0' ||
                                     strverscmp(msg->version, "2.19") < 0);
    self->workers =
        apex_realloc(self->workers, self->nworkers + 1, sizeof *self->workers);
    self->workers[self->nworkers++] = w;
    s_seen_t *seen = s_seen(self, w);
    free(seen->kind);
    if (msg->version && !msg->version[0])
        seen->kind = apex_strdup("locust (no version)");
    else if (msg->version)
        seen->kind = apex_sprintf("locust %s", version);
    else
        seen->kind = apex_sprintf("client %s", version);
    seen->state = "ready";

    proto_encode_ack(&self->out, (int64_t)w->seen, msg->node_id);
    s_send(self, msg->node_id);
    if (!old)
        apex_info("Worker %s (index %zu) reported as ready. %zu workers "
                  "connected.",
                  msg->node_id, w->seen, self->nworkers);
    s_rebalance(self);
}

static void s_on_heartbeat(master_t *self, s_worker_t *w, proto_msg_t *msg)
{
    s_seen_t *seen = s_seen(self, w);
    w->liveness = MASTER_LIVENESS;
    bool healed = w->state == W_MISSING;
    if (msg->state) {
        if (strcmp(msg->state, "spawning") == 0)
            w->state = W_SPAWNING;
        else if (strcmp(msg->state, "running") == 0)
            w->state = W_RUNNING;
        else if (strcmp(msg->state, "stopping") == 0)
            w->state = W_STOPPING;
        else
            w->state = W_READY;
    }
    seen->state = s_wstate_name(w->state);
    w->last_heartbeat = apex_loop_now(self->loop);
    seen->cpu = msg->cpu_usage;
    seen->memory = msg->memory_usage;
    if (msg->apex_version && !w->apex) {
        w->apex = true;
        free(seen->kind);
        seen->kind = apex_sprintf("apex %s", msg->apex_version);
    }
    if (!w->python_old) {
        proto_encode_empty(&self->out, "heartbeat", s_wid(self, w));
        s_send(self, s_wid(self, w));
    }
    if (healed) {
        apex_info("Worker %s self-healed with heartbeat, setting state to "
                  "%s.",
                  s_wid(self, w), seen->state);
        s_rebalance(self);
    }
}

static void s_on_stats(master_t *self, s_worker_t *w, proto_msg_t *msg)
{
    apex_stats_t *delta = msg->stats;
    double now = apex_wall_time();
    for (size_t i = 0; i < apex_stats_size(delta); i++) {
        const apex_stats_entry_t *src = apex_stats_at(delta, i);
        apex_stats_entry_t *dst =
            apex_stats_get(self->stats, src->method, src->name, now);
        apex_stats_entry_merge(dst, src);
    }
    const apex_stats_entry_t *total = apex_stats_total_const(delta);
    apex_stats_entry_merge(apex_stats_total(self->stats), total);
    for (size_t i = 0; i < apex_stats_error_count(delta); i++)
        apex_stats_merge_error(self->stats, apex_stats_error_at(delta, i));
    s_seen_t *seen = s_seen(self, w);
    seen->requests += total->num_requests;
    seen->failures += total->num_failures;
    self->iterations += msg->iterations;
    self->dropped += msg->dropped_iterations;
    if (msg->user_count >= 0) {
        w->user_count = msg->user_count;
        if (msg->user_count > seen->users)
            seen->users = msg->user_count;
    }
    s_check_ramp_reports(self);
}

static void s_on_exception(master_t *self, proto_msg_t *msg)
{
    const char *text = msg->msg ? msg->msg : "";
    const char *tb = msg->traceback ? msg->traceback : "";
    apex_warn("exception from worker %s: %s", msg->node_id, text);
    for (size_t i = 0; i < self->nexceptions; i++) {
        master_exception_t *e = &self->exceptions[i];
        if (strcmp(e->msg, text) == 0 && strcmp(e->traceback, tb) == 0) {
            e->count++;
            if (!strstr(e->nodes, msg->node_id)) {
                char *nodes = apex_sprintf("%s, %s", e->nodes, msg->node_id);
                free(e->nodes);
                e->nodes = nodes;
            }
            return;
        }
    }
    self->exceptions = apex_realloc(self->exceptions, self->nexceptions + 1,
                                    sizeof *self->exceptions);
    master_exception_t *e = &self->exceptions[self->nexceptions++];
    e->msg = apex_strdup(text);
    e->traceback = apex_strdup(tb);
    e->count = 1;
    e->nodes = apex_strdup(msg->node_id);
}

static void s_handle(master_t *self, proto_msg_t *msg)
{
    if (msg->type == PROTO_CLIENT_READY) {
        s_on_client_ready(self, msg);
        return;
    }
    size_t pos = 0;
    s_worker_t *w = s_find(self, msg->node_id, &pos);
    if (msg->type == PROTO_EXCEPTION) {
        s_on_exception(self, msg);
        return;
    }
    if (!w) {
        if (msg->type != PROTO_HEARTBEAT &&
            self->unknown_logged++ < MASTER_MAX_UNKNOWN_LOGGED)
            apex_info("discarding %s from unknown worker %s", msg->type_name,
                      msg->node_id);
        return;
    }
    switch (msg->type) {
    case PROTO_HEARTBEAT:
        s_on_heartbeat(self, w, msg);
        s_check_stopped(self);
        break;
    case PROTO_STATS:
        s_on_stats(self, w, msg);
        break;
    case PROTO_SPAWNING:
        w->state = W_SPAWNING;
        break;
    case PROTO_SPAWNING_COMPLETE:
        w->state = W_RUNNING;
        if (msg->user_count >= 0) {
            w->user_count = msg->user_count;
            if (msg->user_count > s_seen(self, w)->users)
                s_seen(self, w)->users = msg->user_count;
        }
        s_check_ramp_reports(self);
        break;
    case PROTO_CLIENT_STOPPED:
        s_remove(self, pos, "stopped");
        s_rebalance(self);
        s_last_worker_gone(self, "stopped");
        s_check_stopped(self);
        break;
    case PROTO_QUIT:
        apex_info("Worker %s quit.", msg->node_id);
        s_remove(self, pos, "gone");
        if (self->quitting) {
            if (self->nworkers == 0)
                s_finish(self);
            break;
        }
        s_rebalance(self);
        s_last_worker_gone(self, "quit");
        break;
    case PROTO_LOGS:
        break;
    default:
        s_warn_unknown_type(self, msg);
        break;
    }
}

static void s_bad_frame(master_t *self, const char *id, const char *why)
{
    self->malformed++;
    for (size_t i = 0; i < self->nseen; i++) {
        if (strcmp(self->seen[i].id, id) == 0) {
            if (self->seen[i].malformed++ == 0)
                apex_warn("malformed message from worker %s dropped: %s "
                          "(further ones from it are counted, not logged)",
                          id, why);
            return;
        }
    }
    if (self->malformed_unknown++ < MASTER_MAX_UNKNOWN_LOGGED)
        apex_warn("malformed message from an unknown peer dropped: %s", why);
}

// Read every waiting message (ZMQ_FD is edge-triggered).
static void s_drain(void *arg)
{
    master_t *self = arg;
    void *handle = zsock_resolve(self->router);
    while (zsock_events(self->router) & ZMQ_POLLIN) {
        zmq_msg_t frames[2];
        size_t nframes = 0;
        bool more = true;
        bool failed = false;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                failed = true;
                break;
            }
            more = zmq_msg_more(&part);
            if (nframes < 2)
                frames[nframes++] = part; // ownership moves to frames
            else
                zmq_msg_close(&part); // extra frames are ignored
        }
        if (!failed && nframes == 2) {
            char id[1025];
            size_t idlen = zmq_msg_size(&frames[0]);
            if (idlen > sizeof id - 1)
                idlen = sizeof id - 1;
            memcpy(id, zmq_msg_data(&frames[0]), idlen);
            id[idlen] = '\0';
            apex_error_t err = {""};
            proto_msg_t *msg = proto_decode(zmq_msg_data(&frames[1]),
                                            zmq_msg_size(&frames[1]), &err);
            if (!msg)
                s_bad_frame(self, id, err.msg);
            else if (strcmp(msg->node_id, id) != 0)
                s_bad_frame(self, id,
                            "node id differs from the socket "
                            "identity");
            else
                s_handle(self, msg);
            proto_msg_destroy(&msg);
        }
        for (size_t i = 0; i < nframes; i++)
            zmq_msg_close(&frames[i]);
        if (failed)
            break;
    }
}

static void s_on_router(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    s_drain(io->arg);
}

// ---------------------------------------------------------------------
// Load shapes and thresholds

// Follow the shape: re-target the users (stages) or the rate (arrival)
// once a second; end the test after the last stage.
static void s_shape_step(master_t *self)
{
    if (!self->shape || self->quitting ||
        (self->state != RUN_SPAWNING && self->state != RUN_RUNNING))
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
    if (change > 0.001 && change > 0.002 * self->point.rate)
        s_dispatch_send(self, self->dispatched);
}

static void s_begin_test(master_t *self)
{
    if (!self->shape) {
        s_start(self, self->options.users, self->options.spawn_rate);
        if (self->options.run_time > 0) {
            apex_info("Run time limit set to %g seconds",
                      self->options.run_time);
            apex_timer_start(self->loop, &self->run_timer,
                             apex_us_from_s(self->options.run_time));
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

static master_th_input_t s_th_input(master_t *self)
{
    double end = self->end_time > 0 ? self->end_time : apex_wall_time();
    master_th_input_t in = {self->stats, self->iterations, self->dropped,
                            self->start_time > 0 ? end - self->start_time : 0};
    return in;
}

// abort_on_fail thresholds, checked once a second while the test runs.
static void s_check_abort(master_t *self)
{
    if (self->quitting || self->thresholds.n == 0 ||
        (self->state != RUN_SPAWNING && self->state != RUN_RUNNING))
        return;
    bool any = false;
    for (size_t i = 0; i < self->thresholds.n; i++)
        any = any || self->thresholds.items[i].abort_on_fail;
    if (!any)
        return;
    master_th_input_t in = s_th_input(self);
    master_thresholds_evaluate(&self->thresholds, &in);
    const master_threshold_t *t =
        master_thresholds_abort(&self->thresholds, in.duration);
    if (!t)
        return;
    apex_err("threshold %s failed (observed %g%s): aborting the run", t->source,
             t->observed, master_threshold_unit(t));
    self->threshold_aborted = true;
    s_quit_test(self, "a threshold with abort_on_fail failed, shutting down");
}

// One history point a second while the test runs.
static void s_sample(master_t *self)
{
    if (self->state != RUN_SPAWNING && self->state != RUN_RUNNING)
        return;
    master_history_tick(self->history, self->stats);
    const apex_stats_entry_t *total = apex_stats_total_const(self->stats);
    master_history_point_t p = {
        .time = (int64_t)apex_wall_time(),
        .users = s_reported_users(self),
        .target_users = NAN,
        .target_rate = NAN,
        .stage = 0,
        .rps = apex_stats_current_rps(self->stats, total, false),
        .fail_per_sec = apex_stats_current_rps(self->stats, total, true),
    };
    if (self->shape) {
        p.stage = (int)self->point.stage;
        if (self->shape->kind == MASTER_SHAPE_STAGES)
            p.target_users = self->point.users;
        else
            p.target_rate = self->point.rate;
    }
    master_history_add(self->history, self->stats, p);
}

// ---------------------------------------------------------------------
// Timers

static void s_on_tick(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    // Liveness, exactly as Locust's heartbeat_worker loop.
    for (size_t i = 0; i < self->nworkers;) {
        s_worker_t *w = self->workers[i];
        if (w->state == W_MISSING && w->liveness <= -MASTER_DEAD_TICKS) {
            apex_info("Worker %s has been missing for %d s, removing it.",
                      s_wid(self, w), MASTER_DEAD_TICKS);
            s_remove(self, i, "gone");
            continue;
        }
        if (w->liveness < 0 && w->state != W_MISSING) {
            apex_info("Worker %s failed to send heartbeat, setting state "
                      "to missing.",
                      s_wid(self, w));
            w->state = W_MISSING;
            w->user_count = 0;
            s_seen(self, w)->state = "missing";
            s_rebalance(self);
            s_last_worker_gone(self, "went missing");
        }
        w->liveness--;
        i++;
    }

    if (self->waiting_for_workers) {
        size_t ready = 0;
        for (size_t i = 0; i < self->nworkers; i++)
            if (self->workers[i]->state == W_READY)
                ready++;
        uint64_t waited = apex_loop_now(loop) - self->wait_started;
        if (ready >= (size_t)self->options.expect_workers) {
            self->waiting_for_workers = false;
            s_begin_test(self);
        } else if (self->options.expect_workers_max_wait > 0 &&
                   apex_s_from_us(waited) >=
                       self->options.expect_workers_max_wait) {
            apex_err("Gave up waiting for workers to connect: %zu of %d "
                     "ready",
                     ready, self->options.expect_workers);
            self->aborted = true;
            self->waiting_for_workers = false;
            s_quit_test(self, "shutting down");
        } else if (waited >= 5 * APEX_USEC_PER_SEC &&
                   (waited / APEX_USEC_PER_SEC) % 5 == 0) {
            apex_info("Waiting for workers to be ready, %zu of %d connected",
                      ready, self->options.expect_workers);
        }
    }
    s_shape_step(self);
    s_check_abort(self);
    s_sample(self);
    apex_timer_start(loop, timer, MASTER_TICK_US);
}

// Where the shape is, for the history CSV (NULL without a shape).
static const master_csv_shape_t *s_csv_shape(master_t *self,
                                             master_csv_shape_t *out)
{
    if (!self->shape)
        return NULL;
    bool running = self->state == RUN_SPAWNING || self->state == RUN_RUNNING;
    out->stage = running ? (int)self->point.stage : 0;
    out->target_users = running && self->shape->kind == MASTER_SHAPE_STAGES
                            ? self->point.users
                            : NAN;
    out->target_rate = running && self->shape->kind == MASTER_SHAPE_ARRIVAL
                           ? self->point.rate
                           : NAN;
    return out;
}

static void s_on_console(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    if (self->state == RUN_SPAWNING || self->state == RUN_RUNNING) {
        if (self->shape && self->shape->kind == MASTER_SHAPE_STAGES)
            printf("Stage %zu/%zu: target %g users, %lld running\n",
                   self->point.stage, self->shape->nstages, self->point.users,
                   (long long)s_reported_users(self));
        else if (self->shape)
            printf("Stage %zu/%zu: target %.2f iterations/s, %llu "
                   "completed, %llu dropped, %lld users\n",
                   self->point.stage, self->shape->nstages, self->point.rate,
                   (unsigned long long)self->iterations,
                   (unsigned long long)self->dropped,
                   (long long)s_reported_users(self));
        master_report_table(stdout, self->stats, true);
        fflush(stdout);
    }
    apex_timer_start(loop, timer, MASTER_CONSOLE_US);
}

static void s_write_csv(master_t *self)
{
    apex_error_t err = {""};
    if (master_csv_write(self->options.csv_prefix, self->stats,
                         self->exceptions, self->nexceptions, &err) != 0)
        apex_err("%s", err.msg);
}

static void s_on_csv(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    master_csv_shape_t shape;
    s_write_csv(self);
    if (self->history_csv)
        master_csv_history_append(
            self->history_csv, self->stats, s_reported_users(self),
            self->options.csv_full_history, (int64_t)apex_wall_time(),
            s_csv_shape(self, &shape));
    apex_timer_start(loop, timer, MASTER_CSV_US);
}

static void s_on_signal(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)events;
    master_t *self = io->arg;
    struct signalfd_siginfo info;
    while (read(self->sigfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
            master_children_reap(self->children, self->quitting);
            continue;
        }
        if (++self->signals > 1) {
            apex_warn("second signal: exiting at once");
            s_finish(self);
            return;
        }
        (void)loop;
        if (self->waiting_for_workers) {
            // Stopped before the test began: no run happened (exit 3),
            // so a CI job killed while waiting never looks like a pass.
            self->aborted = true;
            self->waiting_for_workers = false;
        }
        s_quit_test(self, info.ssi_signo == SIGINT
                              ? "interrupted, shutting down"
                              : "terminated, shutting down");
    }
}

static void s_on_iteration(void *arg)
{
    s_drain(arg);
}

// ---------------------------------------------------------------------
// Life cycle

static char *s_resolve_host(const master_options_t *o,
                            const apex_scenario_t *scn)
{
    // -H, else $API_URL (the benchmark suite's variable), else the
    // scenario's host.
    if (o->host && o->host[0])
        return apex_strdup(o->host);
    const char *env = getenv("API_URL");
    if (env && env[0])
        return apex_strdup(env);
    if (scn->host && scn->host[0])
        return apex_strdup(scn->host);
    return NULL;
}

// The load shape: --stages, else the scenario's "shape". With a shape,
// -u scales its user numbers (and rates) so the peak is -u, and -t
// scales its durations so it lasts -t.
static int s_setup_shape(master_t *self, apex_error_t *err)
{
    const master_options_t *o = &self->options;
    if (o->stages) {
        apex_error_t e = {""};
        self->shape = master_shape_parse_stages(o->stages, &e);
        if (!self->shape)
            return apex_error_set(err, "--stages: %s", e.msg);
    } else if (self->scenario->shape) {
        self->shape = master_shape_parse(self->scenario->shape,
                                         self->scenario->origin, err);
        if (!self->shape)
            return -1;
    }
    if (!self->shape)
        return 0;
    double load = 1, time = 1;
    if (master_shape_fit(self->shape, o->users_set ? o->users : -1,
                         o->run_time_set ? o->run_time : 0, &load, &time)) {
        char *text = master_shape_describe(self->shape);
        apex_info("load shape scaled by -u/-t (users x%g, time x%g): %s", load,
                  time, text);
        free(text);
    }
    return 0;
}

static int s_setup_thresholds(master_t *self, apex_error_t *err)
{
    if (self->scenario->thresholds &&
        master_thresholds_parse_json(&self->thresholds,
                                     self->scenario->thresholds,
                                     self->scenario->origin, err) != 0)
        return -1;
    for (size_t i = 0; i < self->options.nthresholds; i++)
        if (master_thresholds_parse_arg(&self->thresholds,
                                        self->options.thresholds[i], err) != 0)
            return -1;
    return 0;
}

static int s_bind(master_t *self, apex_error_t *err)
{
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->router)
        return apex_error_set(err, "cannot create a ZeroMQ socket");
    zsock_set_linger(self->router, 1000);
    zsock_set_maxmsgsize(self->router, (int)PROTO_MAX_FRAME);
    zsock_set_tcp_keepalive(self->router, 1);
    zsock_set_tcp_keepalive_idle(self->router, 30);
    const char *host = self->options.bind_host;
    if (!host || !host[0])
        host = "*";
    int port;
    if (self->options.bind_port == 0)
        port = zsock_bind(self->router, "tcp://%s:*", host);
    else
        port = zsock_bind(self->router, "tcp://%s:%d", host,
                          self->options.bind_port);
    if (port < 0)
        return apex_error_set(err,
                              "cannot listen for workers on "
                              "tcp://%s:%d: %s (is the port busy?)",
                              host, self->options.bind_port,
                              zmq_strerror(zmq_errno()));
    self->port = self->options.bind_port ? self->options.bind_port : port;
    apex_io_init(&self->router_io, s_on_router, self);
    return apex_io_start(self->loop, &self->router_io, zsock_fd(self->router),
                         EPOLLIN, err);
}

master_t *master_new(const master_options_t *options, apex_error_t *err,
                     int *exit_code)
{
    *exit_code = MASTER_EXIT_USAGE;
    apex_scenario_t *scn = apex_scenario_load(options->scenario_path, err);
    if (!scn)
        return NULL;
    master_t *self = apex_calloc(1, sizeof *self);
    self->options = *options;
    self->scenario = scn;
    self->sigfd = -1;
    apex_buf_init(&self->out);
    self->stats = apex_stats_new(apex_wall_time());
    self->nclasses = scn->nusers;
    self->classes = apex_calloc(scn->nusers + 1, sizeof *self->classes);
    for (size_t i = 0; i < scn->nusers; i++) {
        self->classes[i].name = scn->users[i].name;
        self->classes[i].weight = scn->users[i].weight;
        self->classes[i].fixed_count = scn->users[i].fixed_count;
    }
    self->host = s_resolve_host(options, scn);
    self->history = master_history_new();
    self->arrival_sent = -1;
    if (s_setup_shape(self, err) != 0 || s_setup_thresholds(self, err) != 0)
        goto fail;

    *exit_code = MASTER_EXIT_ABORTED;
    self->loop = apex_loop_new(err);
    if (!self->loop)
        goto fail;
    apex_timer_init(&self->tick, s_on_tick, self);
    apex_timer_init(&self->dispatch_timer, s_on_dispatch, self);
    apex_timer_init(&self->report_wait, s_on_report_wait, self);
    apex_timer_init(&self->console, s_on_console, self);
    apex_timer_init(&self->csv_timer, s_on_csv, self);
    apex_timer_init(&self->run_timer, s_on_run_timer, self);
    apex_timer_init(&self->quit_timer, s_on_quit_timer, self);
    apex_timer_init(&self->autoquit_timer, s_on_autoquit, self);
    apex_loop_on_iteration(self->loop, s_on_iteration, self);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    self->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0) {
        apex_error_set(err, "signalfd: %s", strerror(errno));
        goto fail;
    }
    apex_io_init(&self->sig_io, s_on_signal, self);
    if (apex_io_start(self->loop, &self->sig_io, self->sigfd, EPOLLIN, err))
        goto fail;
    if (s_bind(self, err) != 0)
        goto fail;
    if (options->csv_prefix) {
        // Locust 2.12.1 crashes on a missing folder; we create it. A
        // folder that cannot be made is reported by the open below.
        apex_error_t mkdir_err = {""};
        if (apex_fs_mkdir_parent(options->csv_prefix, &mkdir_err) != 0)
            apex_debug("%s", mkdir_err.msg);
        self->history_csv = master_csv_history_open(options->csv_prefix,
                                                    self->shape != NULL, err);
        if (!self->history_csv) {
            *exit_code = MASTER_EXIT_USAGE;
            goto fail;
        }
    }
    if (!options->headless || options->metrics) {
        master_web_options_t web = {options->web_host, options->web_port,
                                    options->web_auth, options->headless};
        self->web = master_web_new(self->loop, &web, s_web_handle, self, err);
        if (!self->web)
            goto fail;
    }
    if (options->processes > 0) {
        self->children =
            master_children_new(options->processes, options->bind_host,
                                self->port, options->level, err);
        if (!self->children)
            goto fail;
    }
    return self;
fail:
    master_destroy(&self);
    return NULL;
}

void master_destroy(master_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_t *self = *self_p;
    if (self->loop) {
        apex_timer_stop(self->loop, &self->tick);
        apex_timer_stop(self->loop, &self->dispatch_timer);
        apex_timer_stop(self->loop, &self->report_wait);
        apex_timer_stop(self->loop, &self->console);
        apex_timer_stop(self->loop, &self->csv_timer);
        apex_timer_stop(self->loop, &self->run_timer);
        apex_timer_stop(self->loop, &self->quit_timer);
        apex_timer_stop(self->loop, &self->autoquit_timer);
        apex_io_stop(self->loop, &self->sig_io);
        if (self->router)
            apex_io_stop(self->loop, &self->router_io);
    }
    master_web_destroy(&self->web);
    master_children_destroy(&self->children);
    zsock_destroy(&self->router);
    if (self->sigfd >= 0)
        close(self->sigfd);
    apex_loop_destroy(&self->loop);
    for (size_t i = 0; i < self->nworkers; i++)
        s_worker_free(self->workers[i]);
    free(self->workers);
    for (size_t i = 0; i < self->nseen; i++) {
        free(self->seen[i].id);
        free(self->seen[i].kind);
    }
    free(self->seen);
    for (size_t i = 0; i < self->nexceptions; i++) {
        free(self->exceptions[i].msg);
        free(self->exceptions[i].traceback);
        free(self->exceptions[i].nodes);
    }
    free(self->exceptions);
    for (size_t i = 0;
         i < sizeof self->unknown_types / sizeof self->unknown_types[0]; i++)
        free(self->unknown_types[i]);
    if (self->history_csv)
        fclose(self->history_csv);
    apex_stats_destroy(&self->stats);
    master_history_destroy(&self->history);
    master_shape_destroy(&self->shape);
    master_thresholds_fini(&self->thresholds);
    free(self->classes);
    free(self->host);
    apex_scenario_destroy(&self->scenario);
    apex_buf_fini(&self->out);
    free(self);
    *self_p = NULL;
}

static master_worker_row_t *s_worker_rows(master_t *self)
{
    master_worker_row_t *rows = apex_calloc(self->nseen + 1, sizeof *rows);
    for (size_t i = 0; i < self->nseen; i++) {
        rows[i].id = self->seen[i].id;
        rows[i].kind = self->seen[i].kind;
        rows[i].state = self->seen[i].state;
        rows[i].users = self->seen[i].users;
        rows[i].cpu = self->seen[i].cpu;
        rows[i].memory = self->seen[i].memory;
        rows[i].requests = self->seen[i].requests;
        rows[i].failures = self->seen[i].failures;
    }
    return rows;
}

static void s_print_summary(master_t *self)
{
    master_report_table(stdout, self->stats, false);
    master_report_percentiles(stdout, self->stats);
    if (apex_stats_error_count(self->stats))
        master_report_errors(stdout, self->stats);
    master_worker_row_t *rows = s_worker_rows(self);
    master_report_workers(stdout, rows, self->nseen);
    free(rows);
    if (self->iterations || self->dropped || s_arrival(self))
        printf("Iterations: %llu completed, %llu dropped\n\n",
               (unsigned long long)self->iterations,
               (unsigned long long)self->dropped);
    if (self->thresholds.n) {
        printf("Thresholds\n");
        for (size_t i = 0; i < self->thresholds.n; i++) {
            const master_threshold_t *t = &self->thresholds.items[i];
            char observed[64] = "no data";
            if (t->has_observed)
                snprintf(observed, sizeof observed, "%.6g%s%s", t->observed,
                         master_threshold_unit(t)[0] == 'm' ? " " : "",
                         master_threshold_unit(t));
            printf("  %s %-60s observed %s\n", t->ok ? "\u2713" : "\u2717",
                   t->source, observed);
        }
        printf("\n");
    }
    fflush(stdout);
}

static void s_write_html(master_t *self, const char *json)
{
    if (!self->options.html_path)
        return;
    char *html = master_report_html(json);
    apex_error_t err = {""};
    if (!html)
        apex_err("%s: the report template is missing from this build",
                 self->options.html_path);
    else if (master_write_file(self->options.html_path, html, &err) != 0)
        apex_err("%s", err.msg);
    else
        apex_info("HTML report written to %s", self->options.html_path);
    free(html);
}

static char *s_report_json(master_t *self, int exit_code, const char *verdict)
{
    master_worker_row_t *rows = s_worker_rows(self);
    master_json_input_t in = {
        .stats = self->stats,
        .exceptions = self->exceptions,
        .nexceptions = self->nexceptions,
        .workers = rows,
        .nworkers = self->nseen,
        .thresholds = &self->thresholds,
        .history = self->history,
        .shape = self->shape,
        .start_time = self->start_time,
        .end_time = self->end_time > 0 ? self->end_time : apex_wall_time(),
        .host = self->host,
        .scenario = self->options.scenario_path,
        .description = self->scenario->description,
        .users = self->options.users,
        .spawn_rate = self->options.spawn_rate,
        .run_time = self->options.run_time,
        .iterations = self->iterations,
        .dropped_iterations = self->dropped,
        .exit_code = exit_code,
        .verdict = verdict,
    };
    char *json = master_report_json(&in);
    free(rows);
    return json;
}

// Write --json and --html.
static void s_write_reports(master_t *self, int exit_code, const char *verdict)
{
    if (!self->options.json_path && !self->options.html_path)
        return;
    char *json = s_report_json(self, exit_code, verdict);
    apex_error_t err = {""};
    if (self->options.json_path) {
        if (master_write_file(self->options.json_path, json, &err) != 0)
            apex_err("%s", err.msg);
        else
            apex_info("JSON report written to %s", self->options.json_path);
    }
    s_write_html(self, json);
    free(json);
}

int master_run(master_t *self)
{
    apex_info("Starting apex-master %s; workers connect to port %d",
              APEX_VERSION, self->port);
    if (!self->host)
        apex_warn("no host: give --host, $API_URL or a scenario \"host\" "
                  "(requests with relative paths will fail)");
    apex_timer_start(self->loop, &self->tick, MASTER_TICK_US);
    if (self->options.csv_prefix)
        apex_timer_start(self->loop, &self->csv_timer, 0);
    if (!self->options.only_summary && self->options.headless)
        apex_timer_start(self->loop, &self->console, MASTER_CONSOLE_US);
    if (self->web)
        apex_info("Starting %s at http://%s:%d%s",
                  self->options.headless ? "Prometheus metrics"
                                         : "web interface",
                  self->options.web_host && self->options.web_host[0] &&
                          strcmp(self->options.web_host, "*") != 0
                      ? self->options.web_host
                      : "0.0.0.0",
                  master_web_port(self->web),
                  self->options.headless ? "/metrics" : "");
    if (self->options.headless || self->options.autostart) {
        self->waiting_for_workers = true;
        self->wait_started = apex_loop_now(self->loop);
        apex_info("Waiting for %d workers to be ready",
                  self->options.expect_workers);
    }
    apex_error_t err = {""};
    if (apex_loop_run(self->loop, &err) != 0) {
        apex_err("%s", err.msg);
        return MASTER_EXIT_ABORTED;
    }
    if (self->options.csv_prefix) {
        master_csv_shape_t shape;
        s_write_csv(self);
        if (self->history_csv)
            master_csv_history_append(self->history_csv, self->stats, 0,
                                      self->options.csv_full_history,
                                      (int64_t)apex_wall_time(),
                                      s_csv_shape(self, &shape));
    }
    self->end_time = self->start_time > 0 ? apex_wall_time() : 0;
    master_th_input_t in = s_th_input(self);
    bool thresholds_ok = master_thresholds_evaluate(&self->thresholds, &in);
    s_print_summary(self);
    if (self->malformed)
        apex_warn("%llu malformed messages were dropped",
                  (unsigned long long)self->malformed);

    // Exit code: the run could not happen > thresholds decide when there
    // are any (as k6) > failed requests (Locust's rule) > success.
    int code = MASTER_EXIT_OK;
    const char *verdict = "passed";
    bool failures = apex_stats_total_const(self->stats)->num_failures ||
                    apex_stats_error_count(self->stats) || self->nexceptions;
    if (self->aborted) {
        code = MASTER_EXIT_ABORTED;
        verdict = "aborted";
    } else if (self->thresholds.n) {
        if (!thresholds_ok || self->threshold_aborted) {
            code = MASTER_EXIT_THRESHOLDS;
            verdict = "thresholds failed";
        }
    } else if (failures) {
        code = self->options.exit_code_on_error;
        verdict = "failed";
    }
    s_write_reports(self, code, verdict);
    return code;
}

// ---------------------------------------------------------------------
// The web UI's API (runs on the loop: see master/web.h)

static const char *s_state_name(run_state_t state)
{
    assert((size_t)state < S_NSTATES(s_run_state_names));
    return s_run_state_names[state];
}

static void s_reply_json(master_web_request_t *req, int status, char *json)
{
    free(req->body);
    req->status = status;
    req->content_type = "application/json";
    req->body = json;
    req->body_len = strlen(json);
}

static void s_reply_error(master_web_request_t *req, int status,
                          const char *message)
{
    json_t *o = json_object();
    json_object_set_new(o, "success", json_false());
    json_object_set_new(o, "message", json_string(message));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    master_web_reply(req, status, "application/json", text ? text : "{}");
    free(text);
}

static void s_reply_download(master_web_request_t *req, apex_buf_t *body,
                             const char *type, const char *name,
                             const char *ext)
{
    free(req->body);
    req->status = 200;
    req->content_type = type;
    req->body_len = body->len;
    req->body = apex_buf_take(body);
    req->disposition = apex_sprintf("attachment;filename=%s_%lld.%s", name,
                                    (long long)apex_wall_time(), ext);
}

// The state GET /stats/requests and GET /metrics show. workers is a new
// array the caller frees after using the input.
static master_api_input_t s_api_input(master_t *self,
                                      master_api_worker_t **workers_p)
{
    master_api_worker_t *workers =
        apex_calloc(self->nworkers + 1, sizeof *workers);
    uint64_t now = apex_loop_now(self->loop);
    for (size_t i = 0; i < self->nworkers; i++) {
        const s_worker_t *w = self->workers[i];
        const s_seen_t *seen = &self->seen[w->seen];
        workers[i].id = seen->id;
        workers[i].kind = seen->kind;
        workers[i].state = s_wstate_name(w->state);
        workers[i].users = w->user_count;
        workers[i].cpu = seen->cpu;
        workers[i].memory = seen->memory;
        workers[i].heartbeat_age =
            (double)(now - w->last_heartbeat) / (double)APEX_USEC_PER_SEC;
        workers[i].requests = seen->requests;
        workers[i].failures = seen->failures;
    }
    bool running = self->state == RUN_SPAWNING || self->state == RUN_RUNNING;
    if (running && self->thresholds.n) {
        master_th_input_t in = s_th_input(self);
        master_thresholds_evaluate(&self->thresholds, &in);
    }
    master_api_input_t in = {
        .stats = self->stats,
        .history = self->history,
        .state = s_state_name(self->state),
        .user_count = s_reported_users(self),
        .workers = workers,
        .nworkers = self->nworkers,
        .shape = self->shape,
        .point = &self->point,
        .shape_running = self->shape && running,
        .thresholds = &self->thresholds,
        .iterations = self->iterations,
        .dropped_iterations = self->dropped,
        .state_names = s_run_state_names,
        .nstate_names = S_NSTATES(s_run_state_names),
        .worker_state_names = s_worker_state_names,
        .nworker_state_names = S_NSTATES(s_worker_state_names),
    };
    *workers_p = workers;
    return in;
}

static void s_web_stats(master_t *self, master_web_request_t *req)
{
    master_api_worker_t *workers;
    master_api_input_t in = s_api_input(self, &workers);
    s_reply_json(req, 200, master_api_stats(&in));
    free(workers);
}

static void s_web_metrics(master_t *self, master_web_request_t *req)
{
    master_api_worker_t *workers;
    master_api_input_t in = s_api_input(self, &workers);
    apex_buf_t b;
    apex_buf_init(&b);
    master_metrics_text(&b, &in);
    free(workers);
    free(req->body);
    req->status = 200;
    req->content_type = MASTER_METRICS_CONTENT_TYPE;
    req->body_len = b.len;
    req->body = apex_buf_take(&b);
}

static void s_web_config(master_t *self, master_web_request_t *req)
{
    json_t *o = json_object();
    json_object_set_new(o, "host",
                        self->host ? json_string(self->host) : json_null());
    json_object_set_new(o, "users", json_integer(self->options.users));
    json_object_set_new(o, "spawn_rate", json_real(self->options.spawn_rate));
    json_object_set_new(o, "run_time",
                        self->options.run_time > 0
                            ? json_real(self->options.run_time)
                            : json_null());
    json_object_set_new(o, "scenario",
                        json_string(self->options.scenario_path));
    json_t *classes = json_array();
    for (size_t c = 0; c < self->nclasses; c++)
        json_array_append_new(classes, json_string(self->classes[c].name));
    json_object_set_new(o, "user_classes", classes);
    json_object_set_new(o, "has_thresholds",
                        json_boolean(self->thresholds.n > 0));
    json_t *shape = json_null();
    if (self->shape) {
        char *text = master_shape_describe(self->shape);
        shape = json_object();
        json_object_set_new(shape, "kind",
                            json_string(self->shape->kind == MASTER_SHAPE_STAGES
                                            ? "stages"
                                            : "arrival_rate"));
        json_object_set_new(shape, "description", json_string(text));
        json_object_set_new(shape, "duration",
                            json_real(master_shape_duration(self->shape)));
        free(text);
    }
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "full_history_csv",
                        json_boolean(self->options.csv_prefix &&
                                     self->options.csv_full_history));
    json_object_set_new(o, "version", json_string(APEX_VERSION));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    s_reply_json(req, 200, text ? text : apex_strdup("{}"));
}

// POST /swarm: start a test, or change a running one (Locust's Edit).
static void s_web_swarm(master_t *self, master_web_request_t *req)
{
    if (req->form_error) {
        s_reply_error(req, 400,
                      "expected a form "
                      "(application/x-www-form-urlencoded)");
        return;
    }
    const char *users_text = master_web_arg(req, "user_count");
    const char *rate_text = master_web_arg(req, "spawn_rate");
    const char *host = master_web_arg(req, "host");
    const char *run_time_text = master_web_arg(req, "run_time");
    apex_error_t e = {""};
    long users = 0;
    double rate = 0, run_time = 0;
    char message[APEX_ERROR_MAX + 64];
    if (!self->shape) {
        if (!users_text || !rate_text) {
            s_reply_error(req, 400,
                          "Missing user_count or spawn_rate from "
                          "/swarm request");
            return;
        }
        if (apex_parse_long(users_text, 0, MASTER_MAX_USERS, &users, &e) != 0) {
            snprintf(message, sizeof message, "user_count: %s", e.msg);
            s_reply_error(req, 400, message);
            return;
        }
        if (apex_parse_double(rate_text, MASTER_MIN_SPAWN_RATE,
                              MASTER_MAX_SPAWN_RATE, &rate, &e) != 0) {
            snprintf(message, sizeof message, "spawn_rate: %s", e.msg);
            s_reply_error(req, 400, message);
            return;
        }
    }
    if (run_time_text && run_time_text[0] &&
        (apex_parse_duration(run_time_text, &run_time, &e) != 0 ||
         run_time <= 0)) {
        s_reply_error(req, 400,
                      "Valid run_time formats are : 20, 20s, 3m, "
                      "2h, 1h20m, 3h30m10s, etc.");
        return;
    }
    char *clean_host = NULL;
    if (host && host[0]) {
        // Locust strips < and >; we also insist on a URL.
        apex_buf_t b;
        apex_buf_init(&b);
        for (const char *p = host; *p; p++)
            if (*p != '<' && *p != '>')
                apex_buf_putc(&b, *p);
        clean_host = apex_buf_take(&b);
        if (!apex_url_is_absolute(clean_host)) {
            free(clean_host);
            s_reply_error(req, 400,
                          "host: expected a URL starting with "
                          "http:// or https://");
            return;
        }
    }
    bool running = self->state == RUN_SPAWNING || self->state == RUN_RUNNING;
    if (self->shape && running) {
        free(clean_host);
        s_reply_error(req, 400,
                      "a load shape drives this test: stop it "
                      "first");
        return;
    }
    if (s_active_count(self) == 0) {
        free(clean_host);
        s_reply_error(req, 400, "no worker is connected yet");
        return;
    }
    if (clean_host) {
        free(self->host);
        self->host = clean_host;
    }
    apex_timer_stop(self->loop, &self->autoquit_timer);
    if (self->shape) {
        s_begin_test(self);
    } else {
        self->options.users = users;
        self->options.spawn_rate = rate;
        s_start(self, users, rate);
        if (run_time > 0) {
            self->options.run_time = run_time;
            apex_timer_start(self->loop, &self->run_timer,
                             apex_us_from_s(run_time));
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "success", json_true());
    json_object_set_new(o, "message",
                        json_string(self->shape
                                        ? "Swarming started using the load "
                                          "shape"
                                        : "Swarming started"));
    json_object_set_new(o, "host",
                        self->host ? json_string(self->host) : json_null());
    if (run_time > 0)
        json_object_set_new(o, "run_time", json_real(run_time));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    s_reply_json(req, 200, text ? text : apex_strdup("{}"));
}

static void s_web_reset(master_t *self)
{
    apex_stats_reset(self->stats, apex_wall_time());
    master_history_clear(self->history);
    for (size_t i = 0; i < self->nexceptions; i++) {
        free(self->exceptions[i].msg);
        free(self->exceptions[i].traceback);
        free(self->exceptions[i].nodes);
    }
    self->nexceptions = 0;
    self->iterations = 0;
    self->dropped = 0;
    // Thresholds follow the statistics they judge.
    master_th_input_t in = s_th_input(self);
    master_thresholds_evaluate(&self->thresholds, &in);
}

static void s_web_tasks(master_t *self, master_web_request_t *req)
{
    int64_t *running = apex_calloc(self->nclasses + 1, sizeof *running);
    for (size_t i = 0; i < self->nworkers; i++)
        for (size_t c = 0; c < self->nclasses; c++)
            if (s_active(self->workers[i]))
                running[c] += self->workers[i]->assigned[c];
    s_reply_json(req, 200, master_api_tasks(self->scenario, running));
    free(running);
}

static void s_web_report(master_t *self, master_web_request_t *req, bool html)
{
    const char *verdict = s_state_name(self->state);
    char *json = s_report_json(self, 0, verdict);
    if (!html) {
        s_reply_json(req, 200, json);
        return;
    }
    char *page = master_report_html(json);
    free(json);
    if (!page) {
        s_reply_error(req, 500,
                      "the report template is missing from this "
                      "build");
        return;
    }
    free(req->body);
    req->status = 200;
    req->content_type = "text/html; charset=utf-8";
    req->body = page;
    req->body_len = strlen(page);
    const char *download = master_web_arg(req, "download");
    if (download && download[0] && strcmp(download, "0") != 0)
        req->disposition = apex_sprintf("attachment;filename=apex_report_"
                                        "%lld.html",
                                        (long long)apex_wall_time());
}

static void s_web_full_history(master_t *self, master_web_request_t *req)
{
    if (!self->options.csv_prefix || !self->options.csv_full_history) {
        master_web_reply(req, 404, "text/plain",
                         "Error: Server was not started with option to "
                         "generate full history.");
        return;
    }
    if (self->history_csv)
        fflush(self->history_csv);
    char *path = apex_sprintf("%s_stats_history.csv", self->options.csv_prefix);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) {
        master_web_reply(req, 500, "text/plain", "cannot read the history");
        return;
    }
    apex_buf_t b;
    apex_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        apex_buf_append(&b, chunk, n);
    fclose(f);
    s_reply_download(req, &b, "text/csv", "requests_full_history", "csv");
    apex_buf_fini(&b);
}

static void s_web_handle(void *arg, master_web_request_t *req)
{
    master_t *self = arg;
    const char *p = req->path;
    bool post = strcmp(req->method, "POST") == 0;
    if (strcmp(p, "/swarm") == 0) {
        if (!post) {
            s_reply_error(req, 405, "use POST for /swarm");
            return;
        }
        s_web_swarm(self, req);
        return;
    }
    if (post) {
        s_reply_error(req, 405, "method not allowed");
        return;
    }
    apex_buf_t b;
    apex_buf_init(&b);
    if (strcmp(p, "/stats/requests") == 0) {
        s_web_stats(self, req);
    } else if (strcmp(p, "/metrics") == 0) {
        s_web_metrics(self, req);
    } else if (strcmp(p, "/config") == 0) {
        s_web_config(self, req);
    } else if (strcmp(p, "/stop") == 0) {
        s_stop_test(self);
        master_web_reply(req, 200, "application/json",
                         "{\"success\": true, \"message\": \"Test "
                         "stopped\"}");
    } else if (strcmp(p, "/stats/reset") == 0) {
        s_web_reset(self);
        master_web_reply(req, 200, "text/html", "ok");
    } else if (strcmp(p, "/exceptions") == 0) {
        s_reply_json(
            req, 200,
            master_api_exceptions(self->exceptions, self->nexceptions));
    } else if (strcmp(p, "/history") == 0) {
        s_reply_json(req, 200, master_api_history(self->history));
    } else if (strcmp(p, "/worker-count") == 0) {
        char text[64];
        snprintf(text, sizeof text, "{\"worker_count\": %zu}", self->nworkers);
        master_web_reply(req, 200, "application/json", text);
    } else if (strcmp(p, "/tasks") == 0) {
        s_web_tasks(self, req);
    } else if (strcmp(p, "/stats/requests/csv") == 0) {
        master_csv_stats(&b, self->stats);
        s_reply_download(req, &b, "text/csv", "requests", "csv");
    } else if (strcmp(p, "/stats/failures/csv") == 0) {
        master_csv_failures(&b, self->stats);
        s_reply_download(req, &b, "text/csv", "failures", "csv");
    } else if (strcmp(p, "/exceptions/csv") == 0) {
        master_csv_exceptions(&b, self->exceptions, self->nexceptions);
        s_reply_download(req, &b, "text/csv", "exceptions", "csv");
    } else if (strcmp(p, "/stats/requests_full_history/csv") == 0) {
        s_web_full_history(self, req);
    } else if (strcmp(p, "/report") == 0 || strcmp(p, "/stats/report") == 0) {
        s_web_report(self, req, true);
    } else if (strcmp(p, "/stats/report.json") == 0) {
        s_web_report(self, req, false);
    } else {
        master_web_reply(req, 404, "application/json",
                         "{\"error\": \"not found\"}");
    }
    apex_buf_fini(&b);
}
