// master/runner_dispatch.c - the runner's dispatch and ramp (see
// runner.h, runner_int.h): the spawn messages, rebalancing, the ramp's
// steps and SPAWNING -> RUNNING.
//
// Dispatch: the master does all rate limiting. Each step sends every
// active worker its absolute per-class target for the new total (which
// grows or shrinks by max(1, floor(rate)) users every that/rate seconds),
// so a join, a leave or a rebalance is just the current total
// re-distributed over the current workers (master/dispatch.h). Unlike
// Locust without --enable-rebalancing, users of a missing worker move to
// the others at once, and back when it heals.
//
// Rebalances are coalesced: a join, a heal or a loss asks for one, done
// on the loop's next iteration and at most once per
// MASTER_REBALANCE_MIN_US, so 5,000 registrations in a burst (issue 19's
// review) cost a few dispatches, not 5,000 of 5,000 messages each. A
// spawn that could not be queued for a worker (its queue full, or the
// worker gone) makes that worker missing at once: its users go to the
// others, and it gets its share again when it heals.
#include <math.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "master/dispatch.h"
#include "master/runner_int.h"
#include "proto/proto.h"

#define MASTER_REPORT_WAIT_US (1 * APEX_USEC_PER_SEC)
#define MASTER_SPAWN_TS_STEP 1e-6 // spawn timestamps strictly increase
#define MASTER_REBALANCE_MIN_US (500 * APEX_USEC_PER_MSEC)

static bool s_arrival(const master_runner_t *self)
{
    return self->shape && self->shape->kind == MASTER_SHAPE_ARRIVAL;
}

// ---------------------------------------------------------------------
// Dispatch

static bool s_send(master_runner_t *self, const char *id)
{
    return self->config.send(self->config.send_arg, id, &self->out);
}

void master_runner_send_empty(master_runner_t *self, const master_worker_t *w,
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
void master_runner_dispatch_send(master_runner_t *self, int64_t total)
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
    master_worker_t **lost = apex_calloc(n + 1, sizeof *lost);
    size_t nlost = 0;
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
        if (!s_send(self, w->id))
            lost[nlost++] = w;
    }
    apex_debug("sent spawn for %lld users to %zu workers", (long long)total, n);
    for (size_t k = 0; k < nlost; k++)
        master_registry_lost(self->registry, lost[k],
                             "its spawn message could not be sent (its "
                             "queue is full, or it is gone)");
    free(lost);
    if (nlost)
        master_runner_worker_missing(self);
    free(counts);
    free(dist);
    free(order);
    free(ids);
    free(active);
}

void master_runner_rebalance(master_runner_t *self)
{
    if (!master_runner_running(self) ||
        apex_timer_active(&self->rebalance_timer))
        return;
    uint64_t now = apex_loop_now(self->loop);
    uint64_t next = self->rebalanced + MASTER_REBALANCE_MIN_US;
    apex_timer_start(self->loop, &self->rebalance_timer,
                     self->rebalanced && next > now ? next - now : 0);
}

void master_runner_on_rebalance(apex_loop_t *loop, apex_timer_t *timer)
{
    master_runner_t *self = timer->arg;
    if (!master_runner_running(self))
        return;
    size_t active = master_registry_active(self->registry);
    if (active == 0)
        return;
    self->rebalanced = apex_loop_now(loop);
    apex_info("rebalancing %lld users over %zu workers",
              (long long)self->dispatched, active);
    master_runner_dispatch_send(self, self->dispatched);
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

void master_runner_on_report_wait(apex_loop_t *loop, apex_timer_t *timer)
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
void master_runner_on_dispatch(apex_loop_t *loop, apex_timer_t *timer)
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
    master_runner_dispatch_send(self, self->dispatched);
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
