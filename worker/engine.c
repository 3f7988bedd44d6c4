// worker/engine.c - see engine.h.
//
// The engine owns the scenario, its plan (worker/plan.c), the step kinds'
// state (worker/kinds.c) and the users, and applies what the master asks:
// per-class user targets, stops and the open model (worker/arrival.c).
// Users live their lives in worker/user.c; the protocols are the kinds'.
//
// Stopping. Users stop newest first (Locust pops the most recent). A user
// without a step in flight is freed at once. One with a step in flight is
// moved to the stopping list and finishes that step (its whole task when a
// stop timeout is set); a cut-off timer, stop_timeout or
// WORKER_ENGINE_STOP_GRACE_US when none is set, frees what is left, so
// requests a target has served are nearly always counted.
//
// Spawning. An apply sets each class's target; surplus users stop at
// once, new ones are made WORKER_ENGINE_SPAWN_SLICE per loop iteration
// (the spawn timer, due at once, makes the next slice), each beginning
// at its place in the spread of a second counted from the apply. The
// worker keeps totals within worker_engine_user_cap() (issue 19's review:
// -u 10000000 made a worker allocate 1.8 GB in one loop, with no
// heartbeat, until it was marked missing).
#include "worker/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/procstat.h"
#include "worker/core.h"
#include "worker/kinds.h"
#include "worker/plan.h"
#include "worker/script.h"
#include "worker/user.h"

#define WORKER_ENGINE_STOP_GRACE_US (1 * APEX_USEC_PER_SEC)
#define WORKER_ENGINE_SPAWN_SPREAD_US                                          \
    (1 * APEX_USEC_PER_SEC) // the master's
                            // dispatch step

static void s_on_cutoff(apex_loop_t *loop, apex_timer_t *timer);
static void s_on_spawn(apex_loop_t *loop, apex_timer_t *timer);

// ---------------------------------------------------------------------
// Life cycle

worker_engine_t *worker_engine_new(apex_loop_t *loop, apex_error_t *err)
{
    return worker_engine_new_with_kinds(loop, worker_kinds, err);
}

worker_engine_t *worker_engine_new_with_kinds(
    apex_loop_t *loop, const worker_kind_ops_t *const *kinds, apex_error_t *err)
{
    worker_engine_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->ops = kinds;
    self->stop_timeout = -1;
    self->index_stride = 1;
    self->stats = apex_stats_new(apex_wall_time());
    self->rng = apex_rng_seed(apex_now_us() ^ (uint64_t)(uintptr_t)self);
    apex_timer_init(&self->cutoff, s_on_cutoff, self);
    apex_timer_init(&self->spawn, s_on_spawn, self);
    worker_arrival_init(&self->arrival, self);
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++) {
        self->kinds[k] = kinds[k]->create(loop, err);
        if (!self->kinds[k]) {
            worker_engine_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void worker_engine_destroy(worker_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_engine_t *self = *self_p;
    worker_engine_stop(self, false, NULL, NULL);
    apex_timer_stop(self->loop, &self->cutoff);
    apex_timer_stop(self->loop, &self->spawn);
    worker_arrival_fini(&self->arrival, self->loop);
    worker_plan_free(self);
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (self->kinds[k])
            self->ops[k]->destroy(&self->kinds[k]);
    apex_scenario_destroy(&self->scenario);
    apex_stats_destroy(&self->stats);
    free(self->host);
    free(self->ordinals);
    free(self->data_next);
    free(self->check_passes);
    free(self->check_fails);
    free(self);
    *self_p = NULL;
}

int worker_engine_set_scenario(worker_engine_t *self,
                               apex_scenario_t **scenario_p, apex_error_t *err)
{
    if (self->nusers || self->nstopping)
        return apex_error_set(err,
                              "cannot change the scenario while %zu "
                              "users run",
                              self->nusers + self->nstopping);
    worker_plan_free(self);
    apex_scenario_destroy(&self->scenario);
    self->scenario = *scenario_p;
    *scenario_p = NULL;
    apex_stats_clear(self->stats, apex_wall_time());
    free(self->data_next);
    self->data_next =
        apex_calloc(self->scenario->ndata + 1, sizeof *self->data_next);
    free(self->check_passes);
    free(self->check_fails);
    size_t nchecks = self->scenario->ncheck_names + 1;
    self->check_passes = apex_calloc(nchecks, sizeof *self->check_passes);
    self->check_fails = apex_calloc(nchecks, sizeof *self->check_fails);
    worker_plan_build(self);
    if (self->scenario->scripts) {
        self->script = worker_script_new(self, err);
        if (!self->script) {
            worker_plan_free(self);
            apex_scenario_destroy(&self->scenario);
            return -1;
        }
    }
    return 0;
}

void worker_engine_set_index(worker_engine_t *self, int64_t worker_index,
                             int64_t position, int64_t workers)
{
    bool ok = workers > 0 && position >= 0 && position < workers;
    self->worker_index = worker_index;
    self->index_base = ok ? position : 0;
    self->index_stride = ok ? workers : 1;
}

void worker_engine_checks(const worker_engine_t *self, const uint64_t **passes,
                          const uint64_t **fails, size_t *n)
{
    *passes = self->check_passes;
    *fails = self->check_fails;
    *n = self->scenario ? self->scenario->ncheck_names : 0;
}

void worker_engine_clear_checks(worker_engine_t *self)
{
    if (self->script)
        worker_script_clear(self->script);
    size_t n = self->scenario ? self->scenario->ncheck_names : 0;
    if (n) {
        memset(self->check_passes, 0, n * sizeof *self->check_passes);
        memset(self->check_fails, 0, n * sizeof *self->check_fails);
    }
}

size_t worker_engine_take_ordinal(worker_engine_t *self)
{
    size_t i = 0;
    while (i < self->nordinals && self->ordinals[i])
        i++;
    if (i == self->nordinals) {
        size_t n = self->nordinals ? self->nordinals * 2 : 64;
        self->ordinals = apex_realloc(self->ordinals, n, 1);
        memset(self->ordinals + self->nordinals, 0, n - self->nordinals);
        self->nordinals = n;
    }
    self->ordinals[i] = 1;
    return i;
}

void worker_engine_put_ordinal(worker_engine_t *self, size_t ordinal)
{
    if (ordinal < self->nordinals)
        self->ordinals[ordinal] = 0;
}

const apex_scenario_t *worker_engine_scenario(const worker_engine_t *self)
{
    return self->scenario;
}

void worker_engine_set_host(worker_engine_t *self, const char *host)
{
    const char *old = self->host ? self->host : "";
    const char *new = host ? host : "";
    if (strcmp(old, new) == 0)
        return;
    free(self->host);
    self->host = host && host[0] ? apex_strdup(host) : NULL;
    worker_plan_set_base(self);
}

void worker_engine_set_stop_timeout(worker_engine_t *self, double seconds)
{
    self->stop_timeout = seconds;
}

void worker_engine_set_run_options(worker_engine_t *self,
                                   const worker_run_options_t *o)
{
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (self->ops[k]->configure)
            self->ops[k]->configure(self->kinds[k], o);
}

apex_stats_t *worker_engine_stats(worker_engine_t *self)
{
    return self->stats;
}

size_t worker_engine_user_count(const worker_engine_t *self)
{
    return self->nusers;
}

bool worker_engine_spawning(const worker_engine_t *self)
{
    return apex_timer_active(&self->spawn);
}

size_t worker_engine_user_cap(char *why, size_t size)
{
    struct rlimit lim = {0, 0};
    size_t by_fd = SIZE_MAX, by_mem = SIZE_MAX;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        by_fd = lim.rlim_cur > WORKER_ENGINE_FD_RESERVE
                    ? (size_t)(lim.rlim_cur - WORKER_ENGINE_FD_RESERVE)
                    : 1;
    uint64_t avail = apex_procstat_mem_available();
    if (avail)
        by_mem = (size_t)(avail / WORKER_ENGINE_USER_BYTES);
    if (by_mem < by_fd) {
        if (why)
            snprintf(why, size,
                     "%llu MiB of memory available at %d KiB per user",
                     (unsigned long long)(avail >> 20),
                     WORKER_ENGINE_USER_BYTES / 1024);
        return by_mem ? by_mem : 1;
    }
    if (why)
        snprintf(why, size, "open-file limit %llu",
                 (unsigned long long)lim.rlim_cur);
    return by_fd;
}

char *worker_engine_cap_targets(worker_count_t *targets, size_t n,
                                int64_t *arrival_max)
{
    char why[WORKER_ENGINE_CAP_WHY_MAX];
    size_t cap = worker_engine_user_cap(why, sizeof why);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += targets[i].count > 0 ? (uint64_t)targets[i].count : 0;
    bool over = total > cap || *arrival_max > (int64_t)cap;
    if (total > cap)
        for (size_t i = 0; i < n; i++)
            targets[i].count =
                (int64_t)((uint64_t)targets[i].count * cap / total);
    if (*arrival_max > (int64_t)cap)
        *arrival_max = (int64_t)cap;
    if (!over)
        return NULL;
    return apex_sprintf("asked for %llu users, but this worker runs at most "
                        "%zu (%s): running %zu",
                        (unsigned long long)total, cap, why,
                        total < cap ? (size_t)total : cap);
}

worker_count_t *worker_engine_counts(const worker_engine_t *self,
                                     size_t *ncounts)
{
    worker_count_t *counts =
        apex_calloc(self->nclasses ? self->nclasses : 1, sizeof *counts);
    for (size_t c = 0; c < self->nclasses; c++) {
        counts[c].name = self->classes[c].cls->name;
        counts[c].count = (int64_t)self->classes[c].nusers;
    }
    *ncounts = self->nclasses;
    return counts;
}

int64_t worker_engine_cut_off(const worker_engine_t *self)
{
    return self->cut_off;
}

size_t worker_engine_metrics(worker_engine_t *self, worker_metric_t *out,
                             size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (self->ops[k]->metrics)
            n += self->ops[k]->metrics(self->kinds[k], out + n, max - n);
    if (self->script) // after the kinds': their names only get added
        n += worker_script_metrics(self->script, out + n, max - n);
    return n;
}

worker_check_count_t *worker_engine_check_counts(worker_engine_t *self,
                                                 size_t *n)
{
    size_t nscript = 0;
    worker_script_check_t *script =
        self->script ? worker_script_checks(self->script, &nscript) : NULL;
    size_t all = self->scenario ? self->scenario->ncheck_names : 0;
    worker_check_count_t *out = apex_calloc(all + nscript + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < all; i++)
        if (self->check_passes[i] || self->check_fails[i])
            out[(*n)++] = (worker_check_count_t){self->scenario->check_names[i],
                                                 self->check_passes[i],
                                                 self->check_fails[i]};
    for (size_t i = 0; i < nscript; i++)
        out[(*n)++] = (worker_check_count_t){script[i].name, script[i].passes,
                                             script[i].fails};
    free(script);
    return out;
}

apex_stats_t *worker_engine_trends(worker_engine_t *self)
{
    return self->script ? worker_script_trends(self->script) : NULL;
}

worker_exception_t *worker_engine_take_exceptions(worker_engine_t *self,
                                                  size_t *n)
{
    *n = 0;
    return self->script ? worker_script_take_exceptions(self->script, n) : NULL;
}

double worker_engine_wall(worker_engine_t *self)
{
    if (self->wall_now == 0)
        self->wall_now = apex_wall_time();
    return self->wall_now;
}

void worker_engine_after_iteration(worker_engine_t *self)
{
    self->wall_now = 0;
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (self->ops[k]->after_iteration)
            self->ops[k]->after_iteration(self->kinds[k]);
}

// ---------------------------------------------------------------------
// Spawning and stopping

static void s_check_stopped(worker_engine_t *self)
{
    if (self->nstopping)
        return;
    apex_timer_stop(self->loop, &self->cutoff);
    if (self->nusers == 0 && self->done) {
        worker_engine_stopped_fn *done = self->done;
        self->done = NULL;
        done(self->done_arg);
    }
}

static void s_on_cutoff(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_engine_t *self = timer->arg;
    while (self->stopping) {
        worker_user_t *u = self->stopping;
        self->stopping = u->next;
        self->nstopping--;
        worker_user_free(u);
    }
    s_check_stopped(self);
}

void worker_engine_release(worker_engine_t *self, worker_user_t *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        self->stopping = u->next;
    if (u->next)
        u->next->prev = u->prev;
    self->nstopping--;
    worker_user_free(u);
    s_check_stopped(self);
}

// Stop one running user (already removed from its class list).
static void s_stop_user(worker_engine_t *self, worker_user_t *u, bool graceful)
{
    self->nusers--;
    worker_arrival_remove_idle(u);
    bool on_stop = graceful && worker_script_wants_stop(u);
    if (!on_stop && (!graceful || !u->in_flight)) {
        worker_user_free(u);
        return;
    }
    u->stopping = true;
    u->prev = NULL;
    u->next = self->stopping;
    if (self->stopping)
        self->stopping->prev = u;
    self->stopping = u;
    self->nstopping++;
    if (!apex_timer_active(&self->cutoff)) {
        uint64_t grace = self->stop_timeout > 0
                             ? apex_us_from_s(self->stop_timeout)
                             : WORKER_ENGINE_STOP_GRACE_US;
        apex_timer_start(self->loop, &self->cutoff, grace);
    }
    if (on_stop)
        worker_script_stop(u); // may release u before it returns
}

void worker_engine_add_user(worker_engine_t *self, worker_user_t *u)
{
    worker_class_t *cls = u->cls;
    if (cls->nusers == cls->cap) {
        cls->cap = cls->cap ? cls->cap * 2 : 16;
        cls->users = apex_realloc(cls->users, cls->cap, sizeof *cls->users);
    }
    u->index = cls->nusers;
    cls->users[cls->nusers++] = u;
    self->nusers++;
}

// Names in counts that the scenario does not define (with users asked
// for), comma-separated, or NULL.
static char *s_unknown_classes(const worker_engine_t *self,
                               const worker_count_t *counts, size_t ncounts)
{
    apex_buf_t missing;
    apex_buf_init(&missing);
    for (size_t i = 0; i < ncounts; i++) {
        bool known = false;
        for (size_t c = 0; c < self->nclasses; c++)
            if (strcmp(self->classes[c].cls->name, counts[i].name) == 0)
                known = true;
        if (!known && counts[i].count > 0)
            apex_buf_printf(&missing, "%s%s", missing.len ? ", " : "",
                            counts[i].name);
    }
    char *text = missing.len ? apex_buf_take(&missing) : NULL;
    apex_buf_fini(&missing);
    return text;
}

// Bring one class to target users: stop the newest surplus at once, plan
// the new ones (made by s_spawn_slice). Returns the delay at which the
// last new user is meant to begin.
static uint64_t s_apply_class(worker_engine_t *self, worker_class_t *cls,
                              size_t target)
{
    while (cls->nusers > target)
        s_stop_user(self, cls->users[--cls->nusers], true);
    if (target > cls->cap) {
        cls->cap = target;
        cls->users = apex_realloc(cls->users, cls->cap, sizeof *cls->users);
    }
    cls->target = target;
    cls->spawn_first = cls->nusers;
    cls->spawn_added = target - cls->nusers;
    if (self->arrival.on || cls->spawn_added == 0)
        return 0;
    return WORKER_ENGINE_SPAWN_SPREAD_US * (cls->spawn_added - 1) /
           cls->spawn_added;
}

// Make up to WORKER_ENGINE_SPAWN_SLICE of the planned users; the spawn
// timer makes the rest on the next loop iteration. New users begin
// spread over the dispatch interval counted from the apply, as the
// master's spawn rate means, not all in one instant: a herd started
// together stays in step (constant pacing) and measures its own
// queueing.
static void s_spawn_slice(worker_engine_t *self)
{
    size_t budget = WORKER_ENGINE_SPAWN_SLICE;
    uint64_t elapsed = apex_loop_now(self->loop) - self->spawn_at;
    for (size_t c = 0; c < self->nclasses; c++) {
        worker_class_t *cls = &self->classes[c];
        while (cls->nusers < cls->target && budget > 0) {
            worker_user_t *u = worker_user_new(self, cls);
            worker_engine_add_user(self, u);
            uint64_t at = self->arrival.on ? 0
                                           : WORKER_ENGINE_SPAWN_SPREAD_US *
                                                 (u->index - cls->spawn_first) /
                                                 cls->spawn_added;
            worker_user_begin_after(u, at > elapsed ? at - elapsed : 0);
            budget--;
        }
        if (cls->nusers < cls->target) {
            apex_timer_start(self->loop, &self->spawn, 0);
            return;
        }
    }
}

static void s_on_spawn(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_spawn_slice(timer->arg);
}

uint64_t worker_engine_apply(worker_engine_t *self,
                             const worker_count_t *counts, size_t ncounts,
                             char **unknown)
{
    uint64_t last = 0;
    *unknown = s_unknown_classes(self, counts, ncounts);
    for (size_t c = 0; c < self->nclasses; c++) {
        worker_class_t *cls = &self->classes[c];
        size_t target = 0;
        for (size_t i = 0; i < ncounts; i++)
            if (strcmp(cls->cls->name, counts[i].name) == 0)
                target = (size_t)counts[i].count;
        uint64_t delay = s_apply_class(self, cls, target);
        if (delay > last)
            last = delay;
    }
    self->spawn_at = apex_loop_now(self->loop);
    apex_timer_stop(self->loop, &self->spawn);
    s_spawn_slice(self);
    s_check_stopped(self);
    return last;
}

void worker_engine_stop(worker_engine_t *self, bool graceful,
                        worker_engine_stopped_fn *done, void *arg)
{
    self->done = done;
    self->done_arg = arg;
    worker_engine_set_arrival(self, false, 0, 0);
    apex_timer_stop(self->loop, &self->spawn);
    for (size_t c = 0; c < self->nclasses; c++) {
        worker_class_t *cls = &self->classes[c];
        cls->target = 0;
        while (cls->nusers > 0)
            s_stop_user(self, cls->users[--cls->nusers], graceful);
    }
    if (!graceful)
        s_on_cutoff(self->loop, &self->cutoff);
    else
        s_check_stopped(self);
}
