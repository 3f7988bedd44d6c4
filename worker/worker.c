// worker/worker.c - see worker.h.
//
// Protocol (docs/protocol.md, "Message catalogue" and "Registration and
// liveness"): connect a DEALER whose identity is "<hostname>_<32 hex>",
// send client_ready (version -1, which every Locust accepts without a
// version warning) every few seconds with back-off until the master
// acks, then heartbeat every second and report stats every 3 s as
// deltas. A master given by name is looked up afresh at every retry
// (worker/locate.h) and the socket follows its address; while waiting,
// one line a minute says why. What the worker sends is worker_send.c's;
// a stats report that cannot be sent is not lost: the stats are only
// reset after a successful send.
//
// The socket is proto/zio.h's DEALER: it decodes what the master sends
// and hands it to s_on_message; it is drained after every loop iteration
// (ZMQ_FD is edge-triggered and a send can consume its edge).
#include "worker/worker_int.h"

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
#include "common/secrets.h"
#include "common/version.h"
#include "proto/curve.h"
#include "proto/proto.h"
#include "proto/zio.h"
#include "worker/engine.h"
#include "worker/kind.h"
#include "worker/locate.h"

static void s_on_stopped(void *arg);

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
        self->ready_sent = worker_send(self);
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
    proto_encode_heartbeat_gauges(&self->out, worker_state_name(self->state),
                                  self->proc.cpu_percent, apex_procstat_rss(),
                                  APEX_VERSION, gauges, ngauges, self->id);
    worker_send(self);
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
    worker_send_stats(self);
    apex_timer_start(loop, timer, WORKER_REPORT_US);
}

// ---------------------------------------------------------------------
// Messages from the master

static void s_on_stopped(void *arg)
{
    worker_t *self = arg;
    if (self->state == WORKER_QUITTING) {
        worker_send_stats(self);
        proto_encode_empty(&self->out, "quit", self->id);
        worker_send(self);
        apex_loop_stop(self->loop);
        return;
    }
    if (self->lost) {
        // Register again: whatever the old master had is gone.
        self->lost = false;
        worker_send_stats(self); // queued: delivered if that master returns
        apex_timer_stop(self->loop, &self->report);
        s_register_anew(self);
        return;
    }
    // A final report first: a Locust master forgets this worker on
    // client_stopped and would drop its stats until client_ready.
    worker_send_stats(self);
    proto_encode_empty(&self->out, "client_stopped", self->id);
    worker_send(self);
    self->state = WORKER_READY;
    worker_send_client_ready(self);
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
        worker_send_exception(self, msg);
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
        worker_send_exception(self, err.msg);
        return -1;
    }
    free(self->scenario_text);
    self->scenario_text = apex_strdup(text);
    self->secrets_of = NULL; // made again for this scenario at the spawn
    apex_info("scenario received from the master (%zu user classes)",
              worker_engine_scenario(self->engine)->nusers);
    return 0;
}

// Keep what a spawn asks for within what this worker can hold
// (worker_engine_user_cap): every class scaled down alike, and the open
// model's user budget too. Said once per test: a log line, and an
// exception the master lists.
static void s_cap_targets(worker_t *self, worker_count_t *targets, size_t n,
                          int64_t *arrival_max)
{
    char *text = worker_engine_cap_targets(targets, n, arrival_max);
    if (text && !self->warned_cap) {
        self->warned_cap = true;
        apex_err("%s", text);
        worker_send_exception(self, text);
    }
    free(text);
}

static void s_on_spawn(worker_t *self, proto_msg_t *msg)
{
    proto_encode_empty(&self->out, "spawning", self->id);
    worker_send(self);
    if (msg->timestamp <= self->last_spawn_ts) {
        apex_info("discarding a spawn message with an older or equal "
                  "timestamp than the previous one");
        return;
    }
    self->last_spawn_ts = msg->timestamp;
    if (self->state == WORKER_QUITTING)
        return;
    if (s_take_scenario(self, msg->scenario) != 0) {
        worker_send_spawning_complete(self);
        return;
    }
    if (self->state == WORKER_READY) {
        apex_stats_reset(worker_engine_stats(self->engine), apex_wall_time());
        self->warned_cap = false; // a new test
    }
    self->state = WORKER_SPAWNING;
    worker_engine_set_host(self->engine, msg->host);
    worker_update_secrets(self, msg->host);
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
    char *unknown = NULL;
    worker_count_t *targets =
        apex_calloc(msg->ncounts ? msg->ncounts : 1, sizeof *targets);
    for (size_t i = 0; i < msg->ncounts; i++) {
        targets[i].name = msg->counts[i].name;
        targets[i].count = msg->counts[i].count;
    }
    int64_t arrival_max = msg->arrival_max_users;
    s_cap_targets(self, targets, msg->ncounts, &arrival_max);
    // The open model is an apex extension: off unless the master asks.
    worker_engine_set_arrival(self->engine, msg->arrival_rate >= 0,
                              msg->arrival_rate, arrival_max);
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
        worker_send_exception(self, text);
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
    worker_t *self = timer->arg;
    if (self->state != WORKER_SPAWNING)
        return; // stopped or quitting meanwhile
    if (worker_engine_spawning(self->engine)) {
        apex_timer_start(loop, timer, WORKER_SPAWN_POLL_US); // more to make
        return;
    }
    self->state = WORKER_RUNNING;
    if (self->reset_when_spawned) {
        // Locust's --reset-stats on a worker: what the ramp measured and
        // was not reported yet is dropped (the master resets its own).
        apex_info("Resetting stats");
        apex_stats_reset(worker_engine_stats(self->engine), apex_wall_time());
        uint64_t iterations = 0, dropped = 0;
        worker_engine_take_counters(self->engine, &iterations, &dropped);
    }
    worker_send_spawning_complete(self);
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
    proto_curve_pair_t pair;
    char master_key[PROTO_CURVE_KEY_TEXT];
    // CURVE: the master's public key and this worker's pair (--worker-key,
    // else a new one).
    if (options->master_public_key &&
        proto_curve_client_keys(options->master_public_key, options->worker_key,
                                master_key, &pair, err))
        goto fail;
    // A name is looked up by s_register (locate.h says why ZeroMQ is not
    // left to do it).
    bool numeric = worker_locate_numeric(options->master_host);
    if (!numeric)
        self->locate =
            worker_locate_new(self->loop, options->master_host,
                              options->master_port, s_on_located, self);
    proto_zio_options_t zio = {
        .role = PROTO_ZIO_DEALER,
        .endpoint = numeric ? self->endpoint : NULL,
        .identity = self->id,
        .linger_ms = WORKER_QUIT_LINGER_MS,
        .fn = s_on_message,
        .arg = self,
        .curve = options->master_public_key ? &pair : NULL,
        .curve_server_key = options->master_public_key ? master_key : NULL,
    };
    self->zio = proto_zio_new(self->loop, &zio, err);
    explicit_bzero(&pair, sizeof pair);
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
    if (self->secrets)
        apex_log_set_secrets(NULL);
    worker_engine_destroy(&self->engine);
    apex_secrets_destroy(&self->secrets);
    free(self->secrets_host);
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
    apex_info("starting apex-worker %s, connecting to %s as %s%s", APEX_VERSION,
              self->endpoint, self->id,
              self->options.master_public_key ? " (CURVE)" : "");
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
