// master/master.c - see master.h. The wiring of an apex-master: its one
// event loop, the ROUTER socket and what arrives on it, signals, the
// periodic timers, and the outputs at the end of the run (master_end.c
// prints and writes them).
//
// Everything runs on one loop: the ROUTER socket (edge-triggered ZMQ_FD,
// drained after every iteration), a signalfd (SIGINT, SIGTERM, SIGCHLD),
// the web server's queue (master/web.h) and timers: the once-a-second
// tick (liveness, then the runner's step), the console table and the CSV
// files here, the dispatch steps and run time in master/runner.c.
//
// Who owns what: master/registry.c the workers, master/runner.c the test
// and its state, master/results.c what it measured, master/routes.c the
// web API, master/children.c the local workers of --processes. A message
// from a worker is decoded here and handed to them in that order: the
// registry updates the worker, the results merge what it measured, and
// the runner decides what follows (a rebalance, the end of a ramp or of
// a stop).
#include "master/master.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/loop.h"
#include "common/rng.h"
#include "common/stats.h"
#include "common/version.h"
#include "master/assets.h"
#include "master/children.h"
#include "master/limits.h"
#include "master/master_int.h"
#include "master/outputs.h"
#include "master/registry.h"
#include "master/report.h"
#include "master/report_json.h"
#include "master/trends.h"
#include "master/results.h"
#include "master/routes.h"
#include "master/runner.h"
#include "master/thresholds.h"
#include "master/web.h"
#include "proto/proto.h"
#include "proto/zio.h"

#define MASTER_TICK_US (1 * APEX_USEC_PER_SEC)
#define MASTER_CONSOLE_US (2 * APEX_USEC_PER_SEC)
#define MASTER_CSV_US (1 * APEX_USEC_PER_SEC)
#define MASTER_LINGER_MS 1000 // the ROUTER's linger at close
// Workers' messages are taken in batches at most this far apart: with
// hundreds of workers the loop wakes per batch, not per heartbeat.
#define MASTER_ZIO_BATCH_US (50 * APEX_USEC_PER_MSEC)
#define MASTER_ENDPOINT_MAX 300 // "tcp://HOST:PORT"

// ---------------------------------------------------------------------
// Messages from and to workers

// Send a payload to a worker; proto_zio counts and logs a failed send
// (the worker's queue full, or the worker gone). False when it failed.
static bool s_send_to(void *arg, const char *id, const apex_buf_t *payload)
{
    master_t *self = arg;
    return proto_zio_send(self->zio, id, payload) == PROTO_ZIO_SENT;
}

static bool s_send(master_t *self, const char *id)
{
    return s_send_to(self, id, &self->out);
}

static void s_warn_unknown_type(master_t *self, const proto_msg_t *msg)
{
    for (size_t i = 0; i < MASTER_UNKNOWN_TYPES; i++) {
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

static void s_on_client_ready(master_t *self, const proto_msg_t *msg)
{
    bool replaced = false;
    master_worker_t *w = master_registry_ready(
        self->registry, msg, apex_loop_now(self->loop), &replaced);
    if (!w)
        return; // refused (logged): no ack, a real worker retries
    proto_encode_ack(&self->out, (int64_t)w->index, msg->node_id);
    s_send(self, msg->node_id);
    master_runner_rebalance(self->runner);
}

// Run-wide gauges a worker reported (in a heartbeat or a stats report):
// the totals now, and their peaks, are updated at once, so a peak between
// two ticks is not missed.
// The run-wide gauges now: the registry's totals into the results
// (their peaks too). After a worker reported gauges or went away, so a
// gauge that a quitting worker held does not stay "now" after the run.
static void s_refresh_gauges(master_t *self)
{
    master_figures_t totals = {0};
    master_registry_gauge_totals(self->registry, &totals);
    master_results_gauges(&self->results, &totals);
    master_figures_clear(&totals);
}

static void s_on_gauges(master_t *self, master_worker_t *w,
                        const proto_msg_t *msg)
{
    if (!msg->ngauges)
        return;
    master_registry_gauges(self->registry, w, msg->gauges, msg->ngauges);
    s_refresh_gauges(self);
}

static void s_on_heartbeat(master_t *self, master_worker_t *w,
                           const proto_msg_t *msg)
{
    bool reached = true;
    if (!w->python_old) {
        proto_encode_empty(&self->out, "heartbeat", w->id);
        reached = s_send(self, w->id);
    }
    // A missing worker that we cannot reach (its queue is full) does not
    // heal: it would get users whose spawn could not go out.
    if (!reached && !master_worker_active(w))
        return;
    bool healed = master_registry_heartbeat(self->registry, w, msg,
                                            apex_loop_now(self->loop));
    if (healed)
        master_runner_rebalance(self->runner);
    master_runner_heartbeat(self->runner);
    s_on_gauges(self, w, msg);
}

static void s_on_stats(master_t *self, master_worker_t *w,
                       const proto_msg_t *msg)
{
    const apex_stats_entry_t *total =
        master_results_merge(&self->results, msg, &w->names_left);
    master_registry_gauges(self->registry, w, msg->gauges, msg->ngauges);
    master_registry_count(self->registry, w, total->num_requests,
                          total->num_failures);
    master_registry_users(self->registry, w, msg->user_count);
    master_outputs_merge(self->outputs, msg);
    master_runner_reported(self->runner);
}

// An exception from a registered worker (from anyone else it is
// dropped as any unknown peer's message: it would fail a clean run),
// logged the first time it is seen.
static void s_on_exception(master_t *self, const proto_msg_t *msg)
{
    const char *text = msg->msg ? msg->msg : "";
    if (master_results_exception(
            &self->results, text, msg->traceback ? msg->traceback : "",
            msg->exception_count ? msg->exception_count : 1, msg->node_id))
        apex_warn("exception from worker %s: %s", msg->node_id, text);
}

// A message from a registered worker.
static void s_on_worker_message(master_t *self, master_worker_t *w,
                                const proto_msg_t *msg)
{
    switch (msg->type) {
    case PROTO_HEARTBEAT:
        s_on_heartbeat(self, w, msg);
        break;
    case PROTO_STATS:
        s_on_stats(self, w, msg);
        break;
    case PROTO_SPAWNING:
        w->state = MASTER_WORKER_SPAWNING;
        break;
    case PROTO_SPAWNING_COMPLETE:
        w->state = MASTER_WORKER_RUNNING;
        master_registry_users(self->registry, w, msg->user_count);
        master_runner_reported(self->runner);
        break;
    case PROTO_CLIENT_STOPPED:
        master_registry_remove(self->registry, w, "stopped");
        s_refresh_gauges(self);
        master_runner_worker_stopped(self->runner);
        break;
    case PROTO_QUIT:
        apex_info("Worker %s quit.", msg->node_id);
        master_registry_remove(self->registry, w, "gone");
        s_refresh_gauges(self);
        master_runner_worker_quit(self->runner);
        break;
    case PROTO_EXCEPTION:
        s_on_exception(self, msg);
        break;
    case PROTO_LOGS:
        break;
    default:
        s_warn_unknown_type(self, msg);
        break;
    }
}

static void s_handle(master_t *self, const proto_msg_t *msg)
{
    if (msg->type == PROTO_CLIENT_READY) {
        s_on_client_ready(self, msg);
        return;
    }
    master_worker_t *w = master_registry_find(self->registry, msg->node_id);
    if (!w)
        master_registry_unknown(self->registry, msg);
    else if (master_registry_from_peer(self->registry, w, msg))
        s_on_worker_message(self, w, msg);
}

// Mask the scenario's secrets in what a worker reports before anything
// keeps it: request names, failure texts, exceptions, check names. A
// Locust worker does not mask, nor does an old or hostile one.
static void s_mask(master_t *self, proto_msg_t *msg)
{
    if (!apex_secrets_count(self->secrets))
        return;
    if (msg->stats)
        apex_stats_mask(msg->stats, apex_secrets_mask_fn, self->secrets);
    apex_secrets_mask_in_place(self->secrets, msg->msg);
    apex_secrets_mask_in_place(self->secrets, msg->traceback);
    for (size_t i = 0; i < msg->nchecks; i++)
        apex_secrets_mask_in_place(self->secrets, msg->checks[i].name);
}

// A message from the ROUTER (proto_zio decoded it and checked that its
// node id is the sender's socket identity).
static void s_on_message(void *arg, proto_msg_t *msg)
{
    s_mask(arg, msg);
    s_handle(arg, msg);
}

// ---------------------------------------------------------------------
// Timers and signals

static void s_on_missing(void *arg, master_worker_t *w)
{
    (void)w;
    master_t *self = arg;
    master_runner_worker_missing(self->runner);
}

static void s_on_tick(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    master_registry_tick(self->registry, s_on_missing, self);
    master_runner_tick(self->runner);
    apex_timer_start(loop, timer, MASTER_TICK_US);
}

static void s_on_console(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    if (master_runner_running(self->runner)) {
        master_runner_print_stage(self->runner, stdout);
        master_report_table(stdout, self->results.stats, true);
        fflush(stdout);
    }
    apex_timer_start(loop, timer, MASTER_CONSOLE_US);
}

// PREFIX_stats.csv, _failures.csv, _exceptions.csv, and a history row
// with users users.
// Rewrite the CSVs and add a history row; false when a CSV could not be
// written now, or a history row ever (the file's error flag stays set).
static bool s_write_csv(master_t *self, int64_t users)
{
    apex_error_t err = {""};
    bool ok = true;
    if (master_csv_write(self->options.csv_prefix, self->results.stats,
                         self->results.exceptions, self->results.nexceptions,
                         &err) != 0) {
        apex_err("%s", err.msg);
        ok = false;
    }
    if (self->scenario->scripts &&
        master_csv_trends(self->options.csv_prefix, self->results.trends,
                          &err) != 0) {
        apex_err("%s", err.msg);
        ok = false;
    }
    if (!self->history_csv)
        return ok;
    master_csv_shape_t shape;
    master_csv_history_append(self->history_csv, self->results.stats, users,
                              self->options.csv_full_history,
                              (int64_t)apex_wall_time(),
                              master_runner_csv_shape(self->runner, &shape));
    if (ferror(self->history_csv)) { // it stays set: the file is incomplete
        if (!self->history_failed)
            apex_err("%s_stats_history.csv: write failed: %s",
                     self->options.csv_prefix, strerror(errno));
        self->history_failed = true;
        ok = false;
    }
    return ok;
}

static void s_on_csv(apex_loop_t *loop, apex_timer_t *timer)
{
    master_t *self = timer->arg;
    s_write_csv(self, master_registry_reported_users(self->registry));
    apex_timer_start(loop, timer, MASTER_CSV_US);
}

static void s_on_signal(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    master_t *self = io->arg;
    struct signalfd_siginfo info;
    while (read(self->sigfd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
            master_children_reap(self->children,
                                 master_runner_ending(self->runner));
            continue;
        }
        if (++self->signals > 1) {
            apex_warn("second signal: exiting at once");
            master_runner_finish(self->runner);
            return;
        }
        master_runner_signal(self->runner, info.ssi_signo == SIGINT
                                               ? "interrupted, shutting down"
                                               : "terminated, shutting down");
    }
}

// ---------------------------------------------------------------------
// Life cycle

static int s_bind(master_t *self, apex_error_t *err)
{
    const char *host = self->options.bind_host;
    if (!host || !host[0])
        host = "*";
    char endpoint[MASTER_ENDPOINT_MAX];
    if (self->options.bind_port == 0)
        snprintf(endpoint, sizeof endpoint, "tcp://%s:*", host);
    else
        snprintf(endpoint, sizeof endpoint, "tcp://%s:%d", host,
                 self->options.bind_port);
    proto_zio_options_t o = {
        .role = PROTO_ZIO_ROUTER,
        .endpoint = endpoint,
        .linger_ms = MASTER_LINGER_MS,
        .fn = s_on_message,
        .arg = self,
        .batch_us = MASTER_ZIO_BATCH_US,
        .curve = self->curve_on ? &self->curve : NULL,
        .admitted_keys = self->options.authorized_workers,
    };
    apex_error_t why = {""};
    self->zio = proto_zio_new(self->loop, &o, &why);
    if (!self->zio)
        return apex_error_set(err,
                              "cannot listen for workers: %s (is the port "
                              "busy?)",
                              why.msg);
    self->port = proto_zio_port(self->zio);
    return 0;
}

static void s_on_iteration(void *arg)
{
    master_t *self = arg;
    proto_zio_drain(self->zio);
}

static int s_watch_signals(master_t *self, apex_error_t *err)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    self->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0)
        return apex_error_set(err, "signalfd: %s", strerror(errno));
    apex_io_init(&self->sig_io, s_on_signal, self);
    return apex_io_start(self->loop, &self->sig_io, self->sigfd, EPOLLIN, err);
}

// The loop, the workers, the test (the runner takes config's plan), the
// signals and the ROUTER.
static int s_setup_run(master_t *self, master_runner_config_t *config,
                       apex_error_t *err)
{
    self->loop = apex_loop_new(err);
    if (!self->loop) {
        master_plan_fini(config);
        return -1;
    }
    self->registry = master_registry_new(self->scenario->nusers);
    config->loop = self->loop;
    config->options = &self->options;
    config->scenario = self->scenario;
    config->registry = self->registry;
    config->results = &self->results;
    config->send = s_send_to;
    config->send_arg = self;
    self->runner = master_runner_new(config);
    apex_timer_init(&self->tick, s_on_tick, self);
    apex_timer_init(&self->console, s_on_console, self);
    apex_timer_init(&self->csv_timer, s_on_csv, self);
    apex_loop_on_iteration(self->loop, s_on_iteration, self);
    if (s_watch_signals(self, err) != 0 || s_bind(self, err) != 0)
        return -1;
    return 0;
}

// --csv's history file (its folder made), the web server, --processes.
static int s_setup_outputs(master_t *self, apex_error_t *err, int *exit_code)
{
    const master_options_t *o = &self->options;
    if (o->csv_prefix) {
        // Locust 2.12.1 crashes on a missing folder; we create it. A
        // folder that cannot be made is reported by the open below.
        apex_error_t mkdir_err = {""};
        if (apex_fs_mkdir_parent(o->csv_prefix, &mkdir_err) != 0)
            apex_debug("%s", mkdir_err.msg);
        self->history_csv = master_csv_history_open(
            o->csv_prefix, master_runner_shape(self->runner) != NULL, err);
        if (!self->history_csv) {
            *exit_code = MASTER_EXIT_USAGE;
            return -1;
        }
    }
    self->routes = (master_routes_ctx_t){
        .loop = self->loop,
        .runner = self->runner,
        .registry = self->registry,
        .results = &self->results,
        .options = &self->options,
        .scenario = self->scenario,
        .history_csv = self->history_csv,
        .run_id = self->run_id,
        .master_port = self->port,
        .refused = proto_zio_counters(self->zio)->refused,
        .secrets = self->secrets,
        .scenario_document = self->scenario_document,
    };
    if (!o->headless || o->metrics) {
        master_web_options_t web = {
            .host = o->web_host,
            .port = o->web_port,
            .auth = o->web_auth,
            .metrics_only = o->headless,
            .tls_cert = o->tls_cert,
            .tls_key = o->tls_key,
        };
        self->web = master_web_new(self->loop, &web, master_routes_handle,
                                   &self->routes, err);
        if (!self->web)
            return -1;
    }
    apex_error_t out_err = {""};
    self->outputs = master_outputs_new(&self->routes, &out_err);
    if (!self->outputs && apex_error_is_set(&out_err)) {
        *err = out_err;
        *exit_code = MASTER_EXIT_USAGE;
        return -1;
    }
    if (o->processes > 0) {
        // Local workers with CURVE: the master's public key (no secret),
        // and the pair --worker-key names, if any.
        const char *curve_args[] = {"--master-public-key",
                                    self->curve.public_key, "--worker-key",
                                    o->worker_key, NULL};
        if (!self->curve_on)
            curve_args[0] = NULL;
        else if (!o->worker_key)
            curve_args[2] = NULL;
        self->children = master_children_new(
            o->processes, o->bind_host, self->port, o->level, curve_args, err);
        if (!self->children)
            return -1;
    }
    return 0;
}

// --run-id, else the start time (UTC) and a random number:
// "20250101-120000-3fa2".
static void s_set_run_id(master_t *self)
{
    if (self->options.run_id) {
        snprintf(self->run_id, sizeof self->run_id, "%s", self->options.run_id);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    uint64_t rng = apex_rng_seed(apex_now_us() ^ (uint64_t)getpid());
    snprintf(self->run_id, sizeof self->run_id, "%s-%04x", when,
             (unsigned)(apex_rng_next(&rng) & 0xffff));
}

// --master-key, --authorized-workers and --worker-key, read and checked
// before anything starts.
static int s_load_keys(master_t *self, apex_error_t *err)
{
    const master_options_t *o = &self->options;
    if (!o->master_key)
        return 0;
    apex_error_t e = {""};
    if (proto_curve_load_pair(o->master_key, &self->curve, &e) != 0)
        return apex_error_set(err, "--master-key: %s", e.msg);
    self->curve_on = true;
    proto_curve_pair_t worker;
    if (o->worker_key && proto_curve_load_pair(o->worker_key, &worker, &e))
        return apex_error_set(err, "--worker-key: %s", e.msg);
    size_t nkeys = 0;
    if (o->authorized_workers &&
        proto_curve_check_dir(o->authorized_workers, &nkeys, &e) != 0)
        return apex_error_set(err, "--authorized-workers: %s", e.msg);
    if (o->authorized_workers && nkeys == 0)
        apex_warn("--authorized-workers %s has no key yet: no worker is "
                  "admitted until one is put there",
                  o->authorized_workers);
    return 0;
}

master_t *master_new(const master_options_t *options, apex_error_t *err,
                     int *exit_code)
{
    *exit_code = MASTER_EXIT_USAGE;
    apex_scenario_t *scn = master_load_scenario(options, err);
    if (!scn)
        return NULL;
    for (size_t i = 0; i < scn->nwarnings; i++)
        apex_warn("%s", scn->warnings[i]);
    master_t *self = apex_calloc(1, sizeof *self);
    self->options = *options;
    self->scenario = scn;
    self->sigfd = -1;
    s_set_run_id(self);
    apex_buf_init(&self->out);
    master_results_init(&self->results);
    master_runner_config_t config = {0};
    if (master_plan(&self->options, self->scenario, &config, err) != 0) {
        master_plan_fini(&config);
        master_destroy(&self);
        return NULL;
    }
    if (s_load_keys(self, err) != 0) {
        master_plan_fini(&config);
        master_destroy(&self);
        return NULL;
    }
    // Before anything else logs or threads start: the log masks them.
    self->secrets = apex_secrets_new(self->scenario, config.host);
    apex_log_set_secrets(self->secrets);
    self->scenario_document =
        master_api_scenario_document(self->scenario, self->secrets);
    *exit_code = MASTER_EXIT_ABORTED;
    if (s_setup_run(self, &config, err) != 0 ||
        s_setup_outputs(self, err, exit_code) != 0)
        master_destroy(&self);
    return self;
}

void master_destroy(master_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_t *self = *self_p;
    if (self->loop) {
        apex_timer_stop(self->loop, &self->tick);
        apex_timer_stop(self->loop, &self->console);
        apex_timer_stop(self->loop, &self->csv_timer);
        if (self->sigfd >= 0)
            apex_io_stop(self->loop, &self->sig_io);
    }
    master_web_destroy(&self->web);
    master_outputs_destroy(&self->outputs);
    master_children_destroy(&self->children);
    proto_zio_destroy(&self->zio);
    if (self->sigfd >= 0)
        close(self->sigfd);
    master_runner_destroy(&self->runner);
    apex_loop_destroy(&self->loop);
    master_registry_destroy(&self->registry);
    for (size_t i = 0; i < MASTER_UNKNOWN_TYPES; i++)
        free(self->unknown_types[i]);
    if (self->history_csv)
        fclose(self->history_csv);
    master_results_fini(&self->results);
    if (self->secrets)
        apex_log_set_secrets(NULL);
    apex_secrets_destroy(&self->secrets);
    free(self->scenario_document);
    apex_scenario_destroy(&self->scenario);
    apex_buf_fini(&self->out);
    explicit_bzero(&self->curve, sizeof self->curve);
    free(self);
    *self_p = NULL;
}

// True when a step of the scenario is an HTTP request (the only kind
// that needs a host).
static bool s_has_http(const apex_scenario_t *scn)
{
    for (size_t u = 0; u < scn->nusers; u++) {
        const apex_user_class_t *cls = &scn->users[u];
        for (size_t i = 0; i < cls->non_start; i++)
            if (cls->on_start[i].kind == APEX_STEP_HTTP)
                return true;
        for (size_t t = 0; t < cls->ntasks; t++)
            for (size_t i = 0; i < cls->tasks[t].nsteps; i++)
                if (cls->tasks[t].steps[i].kind == APEX_STEP_HTTP)
                    return true;
    }
    return false;
}

// True when host (--master-bind-host) is a loopback address or name.
static bool s_loopback(const char *host)
{
    return host &&
           (strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
            strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0 ||
            strcmp(host, "lo") == 0);
}

// The review's finding 2: anyone who reaches the worker port can register
// and receive the scenario, environment values included.
static void s_warn_clear_text(master_t *self)
{
    const master_options_t *o = &self->options;
    char *sent = apex_secrets_sent(self->secrets);
    if (sent && !self->curve_on && !s_loopback(o->bind_host))
        apex_warn(
            "the scenario's environment values (%s) are sent in clear to "
            "every worker that connects to port %d on %s: anyone who can "
            "reach that port can register and read them. Turn CURVE on: "
            "apex-master --gen-keys DIR, then --master-key "
            "DIR/master.key_secret --authorized-workers DIR/authorized here "
            "and --master-public-key DIR/master.key --worker-key "
            "DIR/worker.key_secret on the workers (README, \"Security\"); or "
            "bind --master-bind-host 127.0.0.1 for local workers only",
            sent, self->port,
            !o->bind_host || !o->bind_host[0] || strcmp(o->bind_host, "*") == 0
                ? "all interfaces"
                : o->bind_host);
    free(sent);
}

static void s_log_start(master_t *self)
{
    const master_options_t *o = &self->options;
    apex_info("Starting apex-master %s; workers connect to port %d%s",
              APEX_VERSION, self->port,
              !self->curve_on                  ? ""
              : self->options.allow_any_worker ? " (CURVE: any worker that "
                                                 "knows the master's key)"
                                               : " (CURVE: only workers "
                                                 "whose keys are in "
                                                 "--authorized-workers)");
    if (self->curve_on)
        apex_info("the master's public key (--master-public-key for "
                  "workers): %s",
                  self->curve.public_key);
    s_warn_clear_text(self);
    if (!master_runner_params(self->runner)->host && s_has_http(self->scenario))
        apex_warn("no host: give --host, $API_URL or a scenario \"host\" "
                  "(requests with relative paths will fail)");
    if (self->web)
        apex_info("Starting %s at %s://%s:%d%s",
                  o->headless ? "Prometheus metrics" : "web interface",
                  master_web_tls(self->web) ? "https" : "http",
                  o->web_host && o->web_host[0] && strcmp(o->web_host, "*") != 0
                      ? o->web_host
                      : "0.0.0.0",
                  master_web_port(self->web), o->headless ? "/metrics" : "");
}

int master_run(master_t *self)
{
    s_log_start(self);
    apex_timer_start(self->loop, &self->tick, MASTER_TICK_US);
    if (self->options.csv_prefix)
        apex_timer_start(self->loop, &self->csv_timer, 0);
    const master_options_t *o = &self->options;
    if ((o->headless && !o->only_summary && !o->json_stdout) || o->print_stats)
        apex_timer_start(self->loop, &self->console, MASTER_CONSOLE_US);
    if (self->options.headless || self->options.autostart)
        master_runner_wait(self->runner);
    apex_error_t err = {""};
    if (apex_loop_run(self->loop, &err) != 0) {
        apex_err("%s", err.msg);
        return MASTER_EXIT_ABORTED;
    }
    bool outputs_ok = !self->options.csv_prefix || s_write_csv(self, 0);
    self->results.end_time =
        self->results.start_time > 0 ? apex_wall_time() : 0;
    bool thresholds_ok = master_runner_evaluate(self->runner);
    // The last points go out while the summary and reports are written.
    master_outputs_flush(self->outputs);
    master_end_summary(self);
    master_end_warnings(self);
    return master_end_finish(self, thresholds_ok, outputs_ok);
}
