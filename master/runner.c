// master/runner.c - see runner.h.
// This file: the state, test control (start, stop, quit, the workers'
// comings and goings), what the rest of the master reads, and the
// runner's life; dispatch and the ramp are in runner_dispatch.c, beginning
// a test and the once-a-second tick in runner_tick.c, the struct in
// runner_int.h.
//
// State: one enum (runner.h draws its transitions). Only
// master_runner_wait() enters WAITING, master_runner_start() SPAWNING,
// s_ramp_complete() (runner_dispatch.c) RUNNING, s_stop() STOPPING,
// s_check_stopped() STOPPED, master_runner_quit() QUITTING and s_finish()
// DONE. From QUITTING the run only goes on to DONE, which it never leaves:
// nothing starts once the run ends. How it ended (master_run_end_t) is set
// on the way to QUITTING.
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
#include "master/runner_int.h"
#include "proto/proto.h"

#define MASTER_QUIT_WAIT_US (5 * APEX_USEC_PER_SEC)
#define MASTER_WORKERS_NAMED 10 // worker ids a warning lists

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
// ---------------------------------------------------------------------
// Test control

// -> SPAWNING towards users at rate; a new test when none was running.
void master_runner_start(master_runner_t *self, int64_t users, double rate)
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
void master_runner_quit(master_runner_t *self, const char *why)
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
        master_runner_send_empty(self, master_registry_at(self->registry, i),
                                 "quit");
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
            master_runner_send_empty(self, w, "stop");
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
    master_runner_quit(self, self->shape
                                 ? "the load shape is complete, shutting down"
                                 : "--run-time limit reached, shutting down");
}

static void s_on_autoquit(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    master_runner_quit(timer->arg, "--autoquit time reached, shutting down");
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
        master_runner_quit(self, "no workers left, shutting down");
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
    master_runner_quit(self, why);
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
    apex_timer_init(&self->dispatch_timer, master_runner_on_dispatch, self);
    apex_timer_init(&self->report_wait, master_runner_on_report_wait, self);
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
