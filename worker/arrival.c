// worker/arrival.c - see arrival.h.
//
// A timer fires at the next intended start; each firing starts every
// iteration whose time has come (so a stalled loop catches up rather than
// losing them), then re-arms for the next. An iteration picks its class by
// weight among the classes this worker was given users of. Its first
// step is timed from the intended start (worker/user.c adds the time the
// iteration waited), so queueing behind busy users or a stalled server
// shows in the latency: coordinated omission cannot hide it.
//
// Waiting iterations are a ring of intended start times, one slot per
// user allowed (max_users); a user finishing a task takes the oldest.
#include "worker/arrival.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "worker/core.h"
#include "worker/user.h"

static void s_on_arrival(apex_loop_t *loop, apex_timer_t *timer);

void worker_arrival_init(worker_arrival_t *self, worker_engine_t *engine)
{
    *self = (worker_arrival_t){0};
    apex_timer_init(&self->timer, s_on_arrival, engine);
}

void worker_arrival_fini(worker_arrival_t *self, apex_loop_t *loop)
{
    apex_timer_stop(loop, &self->timer);
    free(self->queue);
    self->queue = NULL;
}

void worker_arrival_push_idle(worker_user_t *u)
{
    worker_class_t *cls = u->cls;
    if (u->idle)
        return;
    if (cls->nidle == cls->idle_cap) {
        cls->idle_cap = cls->idle_cap ? cls->idle_cap * 2 : 16;
        cls->idle = apex_realloc(cls->idle, cls->idle_cap, sizeof *cls->idle);
    }
    cls->idle[cls->nidle++] = u;
    u->idle = true;
}

void worker_arrival_remove_idle(worker_user_t *u)
{
    worker_class_t *cls = u->cls;
    if (!u->idle)
        return;
    for (size_t i = cls->nidle; i-- > 0;) {
        if (cls->idle[i] == u) {
            cls->idle[i] = cls->idle[--cls->nidle];
            break;
        }
    }
    u->idle = false;
}

void worker_arrival_task_done(worker_user_t *u, bool was_on_start)
{
    worker_arrival_t *self = &u->engine->arrival;
    if (was_on_start && u->pending) {
        u->pending = false; // the iteration that created it
        worker_user_start_task(u);
        return;
    }
    if (self->len) {
        // An iteration waited for a free user: it starts now, late, and
        // its latency counts from when it should have started.
        u->intended = self->queue[self->head];
        self->head = (self->head + 1) % self->cap;
        self->len--;
        worker_user_start_task(u);
        return;
    }
    worker_arrival_push_idle(u);
}

// The class of the next iteration: by weight among the classes this
// worker has users of; with none yet (the pre-allocated users are still
// on their way), among all classes.
static worker_class_t *s_pick_class(worker_engine_t *engine)
{
    bool any = false;
    for (size_t c = 0; c < engine->nclasses; c++)
        any = any || engine->classes[c].nusers;
    uint64_t total = 0;
    for (size_t c = 0; c < engine->nclasses; c++)
        if (engine->classes[c].nusers || !any)
            total += engine->classes[c].cls->weight;
    if (total == 0)
        return NULL;
    uint64_t r = apex_rng_below(&engine->rng, total);
    for (size_t c = 0; c < engine->nclasses; c++) {
        if (!engine->classes[c].nusers && any)
            continue;
        if (r < engine->classes[c].cls->weight)
            return &engine->classes[c];
        r -= engine->classes[c].cls->weight;
    }
    return NULL;
}

// Every user is busy: the iteration waits for one (at most one iteration
// per user may wait), else it is dropped.
static void s_wait_for_user(worker_arrival_t *self, uint64_t intended)
{
    if (self->len < self->cap) {
        self->queue[(self->head + self->len) % self->cap] = intended;
        self->len++;
    } else {
        self->dropped++;
    }
}

// Start one iteration meant to begin at loop time `intended`.
static void s_iteration(worker_engine_t *engine, uint64_t intended)
{
    worker_arrival_t *self = &engine->arrival;
    worker_class_t *cls = s_pick_class(engine);
    if (!cls) {
        self->dropped++;
        return;
    }
    if (cls->nidle) {
        worker_user_t *u = cls->idle[--cls->nidle];
        u->idle = false;
        u->intended = intended;
        worker_user_start_task(u);
        return;
    }
    if ((int64_t)(engine->nusers + engine->nstopping) >= self->max_users) {
        s_wait_for_user(self, intended);
        return;
    }
    worker_user_t *u = worker_user_new(engine, cls);
    worker_engine_add_user(engine, u);
    u->intended = intended;
    u->pending = true; // cleared by on_start's end, if it has one
    if (!worker_user_run_on_start(u)) {
        u->pending = false;
        worker_user_start_task(u);
    }
}

static void s_on_arrival(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_engine_t *engine = timer->arg;
    worker_arrival_t *self = &engine->arrival;
    if (!self->on || self->rate <= 0)
        return;
    uint64_t interval = apex_us_from_s(1.0 / self->rate);
    if (interval == 0)
        interval = 1;
    uint64_t now = apex_loop_now(loop);
    while (self->next <= now) {
        s_iteration(engine, self->next);
        self->next += interval;
    }
    apex_timer_start_at(loop, timer, self->next);
}

// A ring of cap slots keeping the waiting iterations in order (the newest
// are dropped when it shrinks).
static void s_resize_queue(worker_arrival_t *self, size_t cap)
{
    uint64_t *queue = apex_calloc(cap, sizeof *queue);
    size_t n = 0;
    for (; n < self->len; n++) {
        uint64_t t = self->queue[(self->head + n) % self->cap];
        if (n < cap)
            queue[n] = t;
        else
            self->dropped++;
    }
    free(self->queue);
    self->queue = queue;
    self->head = 0;
    self->len = n < cap ? n : cap;
    self->cap = cap;
}

// The open model is off: iterations still waiting never start, and idle
// users are no longer idle.
static void s_turn_off(worker_engine_t *engine)
{
    worker_arrival_t *self = &engine->arrival;
    self->dropped += self->len;
    self->len = 0;
    for (size_t c = 0; c < engine->nclasses; c++) {
        worker_class_t *cls = &engine->classes[c];
        for (size_t i = 0; i < cls->nidle; i++)
            cls->idle[i]->idle = false;
        cls->nidle = 0;
    }
}

void worker_engine_set_arrival(worker_engine_t *engine, bool on, double rate,
                               int64_t max_users)
{
    worker_arrival_t *self = &engine->arrival;
    bool was = self->on;
    self->on = on;
    self->rate = rate;
    self->max_users = max_users;
    size_t cap = max_users > 0 ? (size_t)max_users : 1;
    if (on && cap != self->cap)
        s_resize_queue(self, cap);
    if (!on || rate <= 0) {
        apex_timer_stop(engine->loop, &self->timer);
        if (!on)
            s_turn_off(engine);
        return;
    }
    if (!was || !apex_timer_active(&self->timer)) {
        self->next = apex_loop_now(engine->loop);
        apex_timer_start_at(engine->loop, &self->timer, self->next);
    }
}

void worker_engine_take_counters(worker_engine_t *engine, uint64_t *iterations,
                                 uint64_t *dropped)
{
    *iterations = engine->iterations;
    *dropped = engine->arrival.dropped;
    engine->iterations = 0;
    engine->arrival.dropped = 0;
}

void worker_engine_put_back_counters(worker_engine_t *engine,
                                     uint64_t iterations, uint64_t dropped)
{
    engine->iterations += iterations;
    engine->arrival.dropped += dropped;
}
