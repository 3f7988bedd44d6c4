// master/runner_tick.c - beginning a test (the command line's, the UI's,
// a load shape's) and the runner's once-a-second tick: waiting for
// workers, following the shape, abort_on_fail thresholds, the history
// (see runner.h, runner_int.h).
#include <math.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "master/runner_int.h"

#define MASTER_WAIT_LOG_S 5          // "Waiting for workers" this often
#define MASTER_RATE_CHANGE_MIN 0.001 // iterations/s worth a new spawn ...
#define MASTER_RATE_CHANGE_REL 0.002 // ... and as a fraction of the rate

// ---------------------------------------------------------------------
// Starting, load shapes and thresholds

// Start the test the command line (or the UI, with a shape) asks for.
static void s_begin(master_runner_t *self)
{
    if (!self->shape) {
        master_runner_start(self, self->params.users, self->params.spawn_rate);
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
        master_runner_start(self, self->shape->pre_allocated,
                            (double)self->shape->pre_allocated);
        return;
    }
    master_runner_start(self, (int64_t)self->point.users,
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
    master_runner_start(self, users, rate);
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
        master_runner_quit(self, "shutting down");
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
        master_runner_start(self, users, rate < 1 ? 1 : rate);
        return;
    }
    // A dispatch still under way carries the new rate by itself.
    if (self->dispatched != self->target)
        return;
    double change = fabs(self->point.rate - self->arrival_sent);
    if (change > MASTER_RATE_CHANGE_MIN &&
        change > MASTER_RATE_CHANGE_REL * self->point.rate)
        master_runner_dispatch_send(self, self->dispatched);
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
    master_runner_quit(self,
                       "a threshold with abort_on_fail failed, shutting down");
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
