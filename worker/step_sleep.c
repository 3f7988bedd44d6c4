// worker/step_sleep.c - the sleep step kind (see step_sleep.h): each user
// has a timer on the loop (its conn); a step arms it for the pause, drawn
// uniformly from the step's [min, max] with the user's PRNG, and reports
// the step done, unrecorded (a pause is no request), when it fires. A user
// freed while it sleeps takes its timer off the loop.
#include "worker/step_sleep.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/rng.h"

typedef struct {
    apex_loop_t *loop; // the loop
} s_sleep_t;

typedef struct {
    s_sleep_t *kind;     // the kind
    worker_user_t *user; // the user it belongs to
    apex_timer_t timer;  // the pause
} s_conn_t;

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_conn_t *conn = timer->arg;
    worker_result_t result = {.unrecorded = true};
    worker_user_step_done(conn->user, &result);
}

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    (void)err;
    s_sleep_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static void *s_plan(worker_kind_t *self, const apex_step_t *step)
{
    (void)self;
    return (void *)step->sleep; // nothing to compile
}

static void s_plan_free(worker_kind_t *self, void *plan)
{
    (void)self;
    (void)plan;
}

static int s_start(worker_kind_t *kind, void *plan, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    (void)plan;
    s_sleep_t *self = kind;
    s_conn_t *conn = *conn_p;
    if (!conn) {
        conn = *conn_p = apex_calloc(1, sizeof *conn);
        conn->kind = self;
        conn->user = u;
        apex_timer_init(&conn->timer, s_on_timer, conn);
    }
    const apex_sleep_step_t *s = step->sleep;
    apex_template_ctx_t ctx = worker_user_template_ctx(u);
    double seconds = s->min + apex_rng_unit(ctx.rng) * (s->max - s->min);
    apex_timer_start(self->loop, &conn->timer, apex_us_from_s(seconds));
    return 0;
}

static void s_conn_free(worker_kind_t *kind, void *c)
{
    s_sleep_t *self = kind;
    s_conn_t *conn = c;
    apex_timer_stop(self->loop, &conn->timer);
    free(conn);
}

const worker_kind_ops_t worker_step_sleep_ops = {
    .name = "sleep",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .start = s_start,
    .conn_free = s_conn_free,
};
