// worker/worker.c - see worker.h.
//
// Protocol (docs/protocol.md, "Message catalogue" and "Registration and
// liveness"): connect a DEALER whose identity is "<hostname>_<32 hex>",
// send client_ready (version -1, which every Locust accepts without a
// version warning) every few seconds with back-off until the master
// acks, then heartbeat every second and report stats every 3 s as
// deltas. A master given by name is looked up afresh at every retry
// (worker/locate.h) and the socket follows its address; while waiting,
// one line a minute says why. A stats report that cannot be sent is not lost:
// the stats are only reset after a successful send.
//
// The socket is proto/zio.h's DEALER: it decodes what the master sends
// and hands it to s_on_message; it is drained after every loop iteration
// (ZMQ_FD is edge-triggered and a send can consume its edge).
#include "worker/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/procstat.h"
#include "common/version.h"
#include "proto/proto.h"
#include "proto/zio.h"
#include "worker/engine.h"
#include "worker/kind.h"
#include "worker/locate.h"

#define WORKER_HEARTBEAT_US (1 * APEX_USEC_PER_SEC)
#define WORKER_REPORT_US (3 * APEX_USEC_PER_SEC)
#define WORKER_CONNECT_POLL_US (20 * APEX_USEC_PER_MSEC) // not connected yet
#define WORKER_CONNECT_MIN_US (1 * APEX_USEC_PER_SEC)
#define WORKER_CONNECT_MAX_US (5 * APEX_USEC_PER_SEC)
#define WORKER_MASTER_LOST_US (30 * APEX_USEC_PER_SEC)
#define WORKER_WAIT_LOG_US (60 * APEX_USEC_PER_SEC) // "waiting" lines
#define WORKER_QUIT_LINGER_MS 2000
#define WORKER_ID_HEX 32

typedef enum {
    WORKER_CONNECTING, // client_ready sent, no ack yet
    WORKER_READY,      // registered, no users
    WORKER_SPAWNING,   // applying a spawn
    WORKER_RUNNING,    // users running
    WORKER_STOPPING,   // stopping users after stop
    WORKER_QUITTING,   // stopping users before exit
} worker_state_t;

struct worker {
    worker_options_t options;   // as given (strings borrowed)
    char endpoint[300];         // "tcp://host:port" as given
    char id[300];               // node id, also the socket identity
    apex_loop_t *loop;          // the one loop
    worker_engine_t *engine;    // users and requests
    proto_zio_t *zio;           // DEALER to the master
    worker_locate_t *locate;    // looks the master's name up, or NULL
                                // (a numeric address)
    char lookup_error[160];     // the last lookup's error, or ""
    int sigfd;                  // signalfd for SIGINT/SIGTERM
    apex_io_t sig_io;           // watches sigfd
    apex_timer_t connect_timer; // resends client_ready
    uint64_t connect_delay;     // current back-off
    uint64_t retry_at;          // loop time of the next retry, 0: now
    uint64_t wait_start;        // loop time registering began
    uint64_t wait_logged;       // loop time of the last "waiting" line
    bool ready_sent;            // client_ready went out since retry_at
    apex_timer_t heartbeat;     // every second
    apex_timer_t report;        // every 3 s
    apex_timer_t spawned;       // the last new user has begun
    bool reset_when_spawned;    // --reset-stats: at spawning_complete
    worker_state_t state;       // see worker_state_t
    int64_t index;              // from ack
    double last_spawn_ts;       // newest spawn timestamp applied
    char *scenario_text;        // scenario wire text in use, or NULL
    char *unknown_classes;      // last unknown class list warned about
    uint64_t master_heartbeat;  // loop time of the last master heartbeat
    apex_procstat_t proc;       // CPU sampling
    apex_buf_t out;             // encoded outgoing message
    int exit_code;              // what worker_run() returns
    int signals;                // signals received
    bool lost;                  // stopping because the master went silent
    int64_t reported[WORKER_MAX_METRICS]; // kinds' counters last reported
    size_t nmetrics;                      // how many figures the kinds have
};

static void s_on_stopped(void *arg);

// ---------------------------------------------------------------------
// Sending

// Send the payload in self->out; false if ZeroMQ could not queue it (no
// master connected, or the queue is full).
static bool s_send(worker_t *self)
{
    return proto_zio_send(self->zio, NULL, &self->out) == PROTO_ZIO_SENT;
}

static const char *s_state_name(worker_state_t state)
{
    switch (state) {
    case WORKER_SPAWNING:
        return "spawning";
    case WORKER_RUNNING:
        return "running";
    case WORKER_STOPPING:
    case WORKER_QUITTING:
        return "stopping";
    default:
        return "ready";
    }
}

static void s_send_client_ready(worker_t *self)
{
    proto_encode_client_ready(&self->out, NULL, self->id);
    s_send(self);
}

// The engine's per-class user counts in the wire's form.
static proto_count_t *s_counts(worker_t *self, size_t *n)
{
    worker_count_t *users = worker_engine_counts(self->engine, n);
    proto_count_t *counts = apex_calloc(*n ? *n : 1, sizeof *counts);
    for (size_t i = 0; i < *n; i++) {
        counts[i].name = (char *)users[i].name; // borrowed: encoders read it
        counts[i].count = users[i].count;
    }
    free(users);
    return counts;
}

// The kinds' figures for the wire: counters as deltas since the last
// report that went out (self->reported), gauges as they are. Fills
// counters and gauges (WORKER_MAX_METRICS each) and the current counts
// into now; the caller commits now to self->reported after a send.
static void s_metrics(worker_t *self, proto_stats_extra_t *extra,
                      proto_metric_t *counters, proto_metric_t *gauges,
                      int64_t *now)
{
    worker_metric_t m[WORKER_MAX_METRICS];
    size_t n = worker_engine_metrics(self->engine, m, WORKER_MAX_METRICS);
    for (size_t i = 0; i < n; i++) {
        now[i] = m[i].value;
        if (m[i].gauge) {
            gauges[extra->ngauges++] =
                (proto_metric_t){(char *)m[i].name, m[i].value};
        } else {
            int64_t delta = m[i].value - self->reported[i];
            counters[extra->ncounters++] =
                (proto_metric_t){(char *)m[i].name, delta > 0 ? delta : 0};
        }
    }
    self->nmetrics = n;
    extra->counters = counters;
    extra->gauges = gauges;
}

// The checks counted since the last report, with their names (borrowed
// from the scenario and the scripts): a new array of *n the caller frees.
static proto_check_t *s_checks(worker_t *self, size_t *n)
{
    worker_check_count_t *counts = worker_engine_check_counts(self->engine, n);
    proto_check_t *out = apex_calloc(*n + 1, sizeof *out);
    for (size_t i = 0; i < *n && i < PROTO_MAX_CHECKS; i++)
        out[i] = (proto_check_t){(char *)counts[i].name, counts[i].passes,
                                 counts[i].fails};
    if (*n > PROTO_MAX_CHECKS)
        *n = PROTO_MAX_CHECKS;
    free(counts);
    return out;
}

// The scripts' exceptions since the last report, each sent once with
// its count (a failed send loses them: they are in the worker's log).
static void s_send_exceptions(worker_t *self)
{
    size_t n = 0;
    worker_exception_t *e = worker_engine_take_exceptions(self->engine, &n);
    for (size_t i = 0; i < n; i++) {
        proto_encode_exception_count(&self->out, e[i].msg, e[i].traceback,
                                     e[i].count, self->id);
        s_send(self);
        worker_exception_fini(&e[i]);
    }
    free(e);
}

static bool s_send_stats(worker_t *self)
{
    s_send_exceptions(self);
    size_t n = 0;
    proto_count_t *counts = s_counts(self, &n);
    apex_stats_t *stats = worker_engine_stats(self->engine);
    proto_stats_extra_t extra = {0};
    proto_check_t *checks = s_checks(self, &extra.nchecks);
    extra.checks = checks;
    extra.trends = worker_engine_trends(self->engine);
    proto_metric_t counters[WORKER_MAX_METRICS], gauges[WORKER_MAX_METRICS];
    int64_t now[WORKER_MAX_METRICS];
    s_metrics(self, &extra, counters, gauges, now);
    worker_engine_take_counters(self->engine, &extra.iterations,
                                &extra.dropped_iterations);
    proto_encode_stats(&self->out, stats, counts, n,
                       (int64_t)worker_engine_user_count(self->engine), &extra,
                       self->id);
    free(counts);
    free(checks);
    if (!s_send(self)) {
        // Keep the deltas (and the checks' counts) for the next report.
        worker_engine_put_back_counters(self->engine, extra.iterations,
                                        extra.dropped_iterations);
        return false;
    }
    memcpy(self->reported, now, self->nmetrics * sizeof *now);
    apex_stats_reset(stats, apex_wall_time());
    worker_engine_clear_checks(self->engine);
    return true;
}

static void s_send_spawning_complete(worker_t *self)
{
    size_t n = 0;
    proto_count_t *counts = s_counts(self, &n);
    proto_encode_spawning_complete(
        &self->out, counts, n, (int64_t)worker_engine_user_count(self->engine),
        self->id);
    free(counts);
    s_send(self);
}

static void s_send_exception(worker_t *self, const char *msg)
{
    proto_encode_exception(&self->out, msg, "", self->id);
    s_send(self);
}

// ---------------------------------------------------------------------
// Timers

// Why the master has not answered yet, for the log: its name does not
// resolve, no connection, or no ack.
static void s_log_waiting(worker_t *self, uint64_t now)
{
    if (self->wait_logged && now - self->wait_logged < WORKER_WAIT_LOG_US)
        return;
    self->wait_logged = now;
    unsigned long waited =
        (unsigned long)((now - self->wait_start) / APEX_USEC_PER_SEC);
    const char *at = proto_zio_endpoint(self->zio);
    char why[sizeof self->lookup_error + 64];
    if (!at && self->lookup_error[0])
        snprintf(why, sizeof why, "its name does not resolve (%s)",
                 self->lookup_error);
    else if (!at)
        snprintf(why, sizeof why, "looking its name up");
    else
        snprintf(why, sizeof why, "%s%s%s",
                 self->ready_sent ? "no answer to client_ready yet"
                                  : "no connection yet",
                 self->locate ? " at " : "", self->locate ? at : "");
    apex_info("waiting for the master at %s for %lu s: %s; retrying every "
              "%llu s at most",
              self->endpoint, waited, why,
              (unsigned long long)(WORKER_CONNECT_MAX_US / APEX_USEC_PER_SEC));
}

// Send client_ready and arm the retry. Retries come after
// WORKER_CONNECT_MIN_US, doubling up to WORKER_CONNECT_MAX_US; each one
// looks the master's name up again and sends client_ready again. While
// the TCP connection to the master is not up, ZeroMQ refuses the send
// (ZMQ_IMMEDIATE: nothing piles up for a master that is down): try
// again in WORKER_CONNECT_POLL_US, so the client_ready goes out as soon
// as the connection does.
static void s_register(worker_t *self)
{
    self->state = WORKER_CONNECTING;
    uint64_t now = apex_loop_now(self->loop);
    if (now >= self->retry_at) {
        if (self->retry_at)
            s_log_waiting(self, now);
        if (self->locate)
            worker_locate_again(self->locate);
        self->ready_sent = false;
        self->retry_at = now + self->connect_delay;
        self->connect_delay *= 2;
        if (self->connect_delay > WORKER_CONNECT_MAX_US)
            self->connect_delay = WORKER_CONNECT_MAX_US;
    }
    if (!self->ready_sent) {
        proto_encode_client_ready(&self->out, NULL, self->id);
        self->ready_sent = s_send(self);
    }
    uint64_t wait = self->retry_at - now;
    if (!self->ready_sent && wait > WORKER_CONNECT_POLL_US)
        wait = WORKER_CONNECT_POLL_US;
    apex_timer_start(self->loop, &self->connect_timer, wait);
}

// A lookup of the master's name answered: follow a new address.
static void s_on_located(void *arg, const char *endpoint, const char *error)
{
    worker_t *self = arg;
    if (!endpoint) {
        snprintf(self->lookup_error, sizeof self->lookup_error, "%s", error);
        return;
    }
    self->lookup_error[0] = '\0';
    const char *now_at = proto_zio_endpoint(self->zio);
    if (self->state != WORKER_CONNECTING ||
        (now_at && strcmp(now_at, endpoint) == 0))
        return; // registered meanwhile, or nothing changed
    apex_info("the master's name resolved: %s is %s", self->endpoint, endpoint);
    apex_error_t err = {""};
    if (proto_zio_connect(self->zio, endpoint, &err) != 0)
        apex_err("%s", err.msg); // the next retry looks and tries again
    self->ready_sent = false;
    apex_timer_start(self->loop, &self->connect_timer, 0);
}

static void s_on_connect_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_t *self = timer->arg;
    if (self->state == WORKER_CONNECTING)
        s_register(self);
}

// Start registering from the beginning (at start-up, or when the master
// was lost).
static void s_register_anew(worker_t *self)
{
    self->index = -1;
    self->connect_delay = WORKER_CONNECT_MIN_US;
    self->retry_at = 0;
    self->wait_start = apex_loop_now(self->loop);
    self->wait_logged = 0;
    s_register(self);
}

static void s_on_heartbeat(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_t *self = timer->arg;
    apex_procstat_sample(&self->proc);
    worker_metric_t m[WORKER_MAX_METRICS];
    proto_metric_t gauges[WORKER_MAX_METRICS];
    size_t n = worker_engine_metrics(self->engine, m, WORKER_MAX_METRICS);
    size_t ngauges = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].gauge)
            gauges[ngauges++] = (proto_metric_t){(char *)m[i].name, m[i].value};
    proto_encode_heartbeat_gauges(&self->out, s_state_name(self->state),
                                  self->proc.cpu_percent, apex_procstat_rss(),
                                  APEX_VERSION, gauges, ngauges, self->id);
    s_send(self);
    uint64_t now = apex_loop_now(loop);
    if (self->master_heartbeat &&
        now - self->master_heartbeat > WORKER_MASTER_LOST_US &&
        self->state != WORKER_QUITTING && self->state != WORKER_STOPPING) {
        // A master that answered heartbeats went silent (it died or was
        // restarted): its test is gone. Stop the users, then register
        // again with back-off, so a restarted master finds us. (Locust's
        // workers quit after 60 s instead; masters that never send
        // heartbeats, as Locust before 2.19, never trigger this.)
        apex_warn(
            "no heartbeat from the master in over %llu s: stopping "
            "users and registering again",
            (unsigned long long)(WORKER_MASTER_LOST_US / APEX_USEC_PER_SEC));
        self->master_heartbeat = 0;
        self->state = WORKER_STOPPING;
        self->lost = true;
        worker_engine_stop(self->engine, true, s_on_stopped, self);
        return; // s_on_stopped restarts the heartbeats after the ack
    }
    apex_timer_start(loop, timer, WORKER_HEARTBEAT_US);
}

static void s_on_report(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_t *self = timer->arg;
    s_send_stats(self);
    apex_timer_start(loop, timer, WORKER_REPORT_US);
}

// ---------------------------------------------------------------------
// Messages from the master

static void s_on_stopped(void *arg)
{
    worker_t *self = arg;
    if (self->state == WORKER_QUITTING) {
        s_send_stats(self);
        proto_encode_empty(&self->out, "quit", self->id);
        s_send(self);
        apex_loop_stop(self->loop);
        return;
    }
    if (self->lost) {
        // Register again: whatever the old master had is gone.
        self->lost = false;
        s_send_stats(self); // queued: delivered if that master returns
        apex_timer_stop(self->loop, &self->report);
        s_register_anew(self);
        return;
    }
    // A final report first: a Locust master forgets this worker on
    // client_stopped and would drop its stats until client_ready.
    s_send_stats(self);
    proto_encode_empty(&self->out, "client_stopped", self->id);
    s_send(self);
    self->state = WORKER_READY;
    s_send_client_ready(self);
    apex_info("users stopped, ready for a new test");
}

static void s_quit(worker_t *self, const char *why)
{
    if (self->state == WORKER_QUITTING)
        return;
    apex_info("%s, stopping users and shutting down", why);
    bool registered = self->state != WORKER_CONNECTING;
    self->state = WORKER_QUITTING;
    if (!registered) {
        apex_loop_stop(self->loop);
        return;
    }
    worker_engine_stop(self->engine, true, s_on_stopped, self);
}

// Use the scenario the master sent, unless -f was given.
static int s_take_scenario(worker_t *self, const char *text)
{
    if (self->options.scenario_path)
        return 0;
    if (!text) {
        if (worker_engine_scenario(self->engine))
            return 0;
        const char *msg = "no scenario: the master sent none in spawn's "
                          "parsed_options and apex-worker has no -f";
        apex_err("%s", msg);
        s_send_exception(self, msg);
        return -1;
    }
    if (self->scenario_text && strcmp(self->scenario_text, text) == 0)
        return 0;
    if (worker_engine_user_count(self->engine) > 0) {
        apex_err("the master sent a different scenario while users run; "
                 "keeping the current one");
        return 0;
    }
    apex_error_t err = {""};
    apex_scenario_t *scn =
        apex_scenario_parse_wire(text, strlen(text), "master's scenario", &err);
    if (!scn || worker_engine_set_scenario(self->engine, &scn, &err) != 0) {
        apex_scenario_destroy(&scn);
        apex_err("%s", err.msg);
        s_send_exception(self, err.msg);
        return -1;
    }
    free(self->scenario_text);
    self->scenario_text = apex_strdup(text);
    apex_info("scenario received from the master (%zu user classes)",
              worker_engine_scenario(self->engine)->nusers);
    return 0;
}

static void s_on_spawn(worker_t *self, proto_msg_t *msg)
{
    proto_encode_empty(&self->out, "spawning", self->id);
    s_send(self);
    if (msg->timestamp <= self->last_spawn_ts) {
        apex_info("discarding a spawn message with an older or equal "
                  "timestamp than the previous one");
        return;
    }
    self->last_spawn_ts = msg->timestamp;
    if (self->state == WORKER_QUITTING)
        return;
    if (s_take_scenario(self, msg->scenario) != 0) {
        s_send_spawning_complete(self);
        return;
    }
    if (self->state == WORKER_READY)
        apex_stats_reset(worker_engine_stats(self->engine), apex_wall_time());
    self->state = WORKER_SPAWNING;
    worker_engine_set_host(self->engine, msg->host);
    if (msg->worker_count > 0)
        worker_engine_set_index(self->engine, msg->worker_position,
                                msg->worker_position, msg->worker_count);
    else // a Locust master: its ack index, indexes unique here only
        worker_engine_set_index(self->engine, self->index > 0 ? self->index : 0,
                                0, 1);
    worker_engine_set_stop_timeout(self->engine, msg->stop_timeout);
    worker_run_options_t run = {
        .engine = msg->http_engine
                      ? (apex_http_engine_t)msg->http_engine
                      : (apex_http_engine_t)self->options.http_engine,
        .http_debug =
            msg->http_debug >= 0 ? msg->http_debug : self->options.http_debug,
    };
    worker_engine_set_run_options(self->engine, &run);
    // The open model is an apex extension: off unless the master asks.
    worker_engine_set_arrival(self->engine, msg->arrival_rate >= 0,
                              msg->arrival_rate, msg->arrival_max_users);
    char *unknown = NULL;
    worker_count_t *targets =
        apex_calloc(msg->ncounts ? msg->ncounts : 1, sizeof *targets);
    for (size_t i = 0; i < msg->ncounts; i++) {
        targets[i].name = msg->counts[i].name;
        targets[i].count = msg->counts[i].count;
    }
    uint64_t settle =
        worker_engine_apply(self->engine, targets, msg->ncounts, &unknown);
    free(targets);
    if (unknown && (!self->unknown_classes ||
                    strcmp(unknown, self->unknown_classes) != 0)) {
        char *text = apex_sprintf("unknown user class(es) %s: the scenario "
                                  "has no user with that name; running the "
                                  "classes it knows",
                                  unknown);
        apex_err("%s", text);
        s_send_exception(self, text);
        free(text);
    }
    free(self->unknown_classes);
    self->unknown_classes = unknown;
    // Spawning is complete when the last new user has begun (they begin
    // spread over a second): the master's "All users spawned" is then
    // true, and the heartbeats say "spawning" until it is.
    self->reset_when_spawned = msg->reset_stats;
    apex_timer_start(self->loop, &self->spawned, settle);
}

static void s_on_spawned(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_t *self = timer->arg;
    if (self->state != WORKER_SPAWNING)
        return; // stopped or quitting meanwhile
    self->state = WORKER_RUNNING;
    if (self->reset_when_spawned) {
        // Locust's --reset-stats on a worker: what the ramp measured and
        // was not reported yet is dropped (the master resets its own).
        apex_info("Resetting stats");
        apex_stats_reset(worker_engine_stats(self->engine), apex_wall_time());
        uint64_t iterations = 0, dropped = 0;
        worker_engine_take_counters(self->engine, &iterations, &dropped);
    }
    s_send_spawning_complete(self);
}

static void s_handle(worker_t *self, proto_msg_t *msg)
{
    switch (msg->type) {
    case PROTO_ACK:
        if (self->state == WORKER_CONNECTING) {
            self->state = WORKER_READY;
            self->index = msg->index;
            apex_timer_stop(self->loop, &self->connect_timer);
            bool named = self->locate != NULL;
            apex_info("registered with the master at %s (%s%sworker index "
                      "%lld)",
                      self->endpoint,
                      named ? proto_zio_endpoint(self->zio) : "",
                      named ? ", " : "", (long long)msg->index);
            apex_timer_start(self->loop, &self->heartbeat, 0);
            apex_timer_start(self->loop, &self->report, 0);
        }
        break;
    case PROTO_SPAWN:
        s_on_spawn(self, msg);
        break;
    case PROTO_STOP:
        if (self->state == WORKER_QUITTING || self->state == WORKER_STOPPING)
            break;
        apex_info("stop from the master");
        self->state = WORKER_STOPPING;
        worker_engine_stop(self->engine, true, s_on_stopped, self);
        break;
    case PROTO_QUIT:
        s_quit(self, "quit from the master");
        break;
    case PROTO_RECONNECT: {
        apex_warn("the master asked us to reconnect; resetting the "
                  "connection");
        apex_error_t err = {""};
        if (proto_zio_reconnect(self->zio, &err) != 0) {
            apex_err("%s", err.msg);
            self->exit_code = 1;
            apex_loop_stop(self->loop);
        }
        break;
    }
    case PROTO_HEARTBEAT:
        self->master_heartbeat = apex_loop_now(self->loop);
        break;
    case PROTO_SPAWNING_COMPLETE:
        break; // the master's end of a ramp: nothing to do
    default:
        apex_warn("unknown message type received from the master: %s",
                  msg->type_name);
        break;
    }
}

static void s_on_message(void *arg, proto_msg_t *msg)
{
    s_handle(arg, msg);
}

static void s_on_signal(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)events;
    worker_t *self = io->arg;
    struct signalfd_siginfo info;
    while (read(self->sigfd, &info, sizeof info) == sizeof info) {
        if (++self->signals > 1) {
            apex_warn("second signal: exiting at once");
            apex_loop_stop(loop);
            return;
        }
        s_quit(self, info.ssi_signo == SIGINT ? "interrupted" : "terminated");
    }
}

static void s_on_iteration(void *arg)
{
    worker_t *self = arg;
    proto_zio_drain(self->zio);
    worker_engine_after_iteration(self->engine);
}

// ---------------------------------------------------------------------
// Life cycle

static void s_make_id(char *out, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    unsigned char raw[WORKER_ID_HEX / 2];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f)
        fclose(f);
    uint64_t seed = apex_now_us() ^ ((uint64_t)getpid() << 32);
    for (size_t i = got; i < sizeof raw; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        raw[i] = (unsigned char)(seed >> 56);
    }
    char hex[WORKER_ID_HEX + 1];
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(out, size, "%s_%s", host, hex);
}

worker_t *worker_new(const worker_options_t *options, apex_error_t *err)
{
    worker_t *self = apex_calloc(1, sizeof *self);
    self->options = *options;
    self->sigfd = -1;
    self->index = -1;
    apex_buf_init(&self->out);
    apex_procstat_init(&self->proc);
    bool ipv6 = strchr(options->master_host, ':') != NULL;
    snprintf(self->endpoint, sizeof self->endpoint, "tcp://%s%s%s:%d",
             ipv6 ? "[" : "", options->master_host, ipv6 ? "]" : "",
             options->master_port);
    s_make_id(self->id, sizeof self->id);
    apex_io_init(&self->sig_io, s_on_signal, self);

    self->loop = apex_loop_new(err);
    if (!self->loop)
        goto fail;
    apex_timer_init(&self->connect_timer, s_on_connect_timer, self);
    apex_timer_init(&self->heartbeat, s_on_heartbeat, self);
    apex_timer_init(&self->report, s_on_report, self);
    apex_timer_init(&self->spawned, s_on_spawned, self);
    apex_loop_on_iteration(self->loop, s_on_iteration, self);

    self->engine = worker_engine_new(self->loop, err);
    if (!self->engine)
        goto fail;
    if (options->scenario_path) {
        apex_scenario_t *scn = apex_scenario_load(options->scenario_path, err);
        for (size_t i = 0; scn && i < scn->nwarnings; i++)
            apex_warn("%s", scn->warnings[i]);
        if (!scn || worker_engine_set_scenario(self->engine, &scn, err) != 0) {
            apex_scenario_destroy(&scn);
            goto fail;
        }
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    self->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0) {
        apex_error_set(err, "signalfd: %s", strerror(errno));
        goto fail;
    }
    if (apex_io_start(self->loop, &self->sig_io, self->sigfd, EPOLLIN, err))
        goto fail;
    // A name is looked up by s_register (locate.h says why ZeroMQ is not
    // left to do it).
    bool numeric = worker_locate_numeric(options->master_host);
    if (!numeric)
        self->locate =
            worker_locate_new(self->loop, options->master_host,
                              options->master_port, s_on_located, self);
    proto_zio_options_t zio = {.role = PROTO_ZIO_DEALER,
                               .endpoint = numeric ? self->endpoint : NULL,
                               .identity = self->id,
                               .linger_ms = WORKER_QUIT_LINGER_MS,
                               .fn = s_on_message,
                               .arg = self};
    self->zio = proto_zio_new(self->loop, &zio, err);
    if (!self->zio)
        goto fail;
    return self;
fail:
    worker_destroy(&self);
    return NULL;
}

void worker_destroy(worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_t *self = *self_p;
    if (self->loop) {
        apex_timer_stop(self->loop, &self->connect_timer);
        apex_timer_stop(self->loop, &self->heartbeat);
        apex_timer_stop(self->loop, &self->report);
        apex_timer_stop(self->loop, &self->spawned);
        apex_io_stop(self->loop, &self->sig_io);
        proto_zio_destroy(&self->zio);
        worker_locate_destroy(&self->locate);
    }
    worker_engine_destroy(&self->engine);
    if (self->sigfd >= 0)
        close(self->sigfd);
    apex_loop_destroy(&self->loop);
    apex_buf_fini(&self->out);
    free(self->scenario_text);
    free(self->unknown_classes);
    free(self);
    *self_p = NULL;
}

int worker_run(worker_t *self)
{
    apex_info("starting apex-worker %s, connecting to %s as %s", APEX_VERSION,
              self->endpoint, self->id);
    s_register_anew(self);
    apex_error_t err = {""};
    if (apex_loop_run(self->loop, &err) != 0) {
        apex_err("%s", err.msg);
        return 1;
    }
    uint64_t malformed = proto_zio_counters(self->zio)->malformed;
    if (malformed)
        apex_warn("%llu malformed messages from the master were dropped",
                  (unsigned long long)malformed);
    apex_info("shutting down (exit code %d)", self->exit_code);
    return self->exit_code;
}
