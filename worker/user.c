// worker/user.c - see user.h.
//
// A user runs one step at a time. Starting a step hands it to its kind
// (worker/kind.h); the kind calls worker_user_step_done() when it ends,
// and everything that follows is decided here for every kind alike:
// record the latency (from the intended start in the open model) and the
// bytes, apply the step's captures, record a failure and end the task,
// or go on with the next step of a sequence; when the task ends, count
// the iteration, free a user that was told to stop, or wait the class's
// think time on the user's timer before the next task.
//
// Before a step starts, the user variables its templates read are
// checked: one that is unset fails the step ("variable 'x' is not set")
// instead of sending an empty string. Each task (on_start too) takes the
// rows of the sequential and random data sets it reads for its whole
// length, so a login sends the username and password of one row; a
// per_user data set's row is fixed by the user index.
#include "worker/user.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "worker/failure.h"
#include "worker/script.h"

static void s_start_step(worker_user_t *u);

static void s_begin(worker_user_t *u)
{
    u->unborn = false;
    if (worker_user_run_on_start(u))
        return;
    if (u->engine->arrival.on)
        worker_arrival_push_idle(u); // waits for its first iteration
    else
        worker_user_start_task(u);
}

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_user_t *u = timer->arg;
    if (u->unborn)
        s_begin(u);
    else
        worker_user_start_task(u);
}

void worker_user_begin_after(worker_user_t *u, uint64_t delay_us)
{
    if (delay_us == 0) {
        s_begin(u);
        return;
    }
    u->unborn = true;
    apex_timer_start(u->engine->loop, &u->timer, delay_us);
}

worker_user_t *worker_user_new(worker_engine_t *engine, worker_class_t *cls)
{
    worker_user_t *u = apex_calloc(1, sizeof *u);
    u->engine = engine;
    u->cls = cls;
    u->rng = apex_rng_seed(apex_rng_next(&engine->rng));
    size_t nvars = engine->scenario->nvars;
    u->vars = apex_calloc(nvars ? nvars : 1, sizeof *u->vars);
    u->vars_json = apex_calloc(nvars ? nvars : 1, 1);
    u->ordinal = worker_engine_take_ordinal(engine);
    u->info.user_index =
        engine->index_base + (int64_t)u->ordinal * engine->index_stride;
    u->info.worker_index = engine->worker_index;
    const apex_scenario_t *scn = engine->scenario;
    u->rows = apex_calloc(scn->ndata + 1, sizeof *u->rows);
    for (size_t d = 0; d < scn->ndata; d++) // per_user: fixed; others:
        u->rows[d] = apex_dataset_row(      // replaced per task
            &scn->data[d], (size_t)u->info.user_index % scn->data[d].nrows);
    u->info.rows = u->rows;
    if (cls->cls->cookies)
        u->cookies = apex_cookie_jar_new();
    apex_timer_init(&u->timer, s_on_timer, u);
    if (cls->cls->script)
        u->script = worker_script_user_new(engine->script, u);
    return u;
}

void worker_user_free(worker_user_t *u)
{
    worker_engine_t *engine = u->engine;
    apex_timer_stop(engine->loop, &u->timer);
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (u->conns[k])
            engine->ops[k]->conn_free(engine->kinds[k], u->conns[k]);
    if (u->script)
        worker_script_user_free(engine->script, u);
    for (size_t i = 0; i < engine->scenario->nvars; i++)
        free(u->vars[i]);
    free(u->vars);
    free(u->vars_json);
    free(u->rows);
    worker_engine_put_ordinal(engine, u->ordinal);
    apex_cookie_jar_destroy(&u->cookies);
    free(u);
}

apex_template_ctx_t worker_user_template_ctx(worker_user_t *u)
{
    u->info.iteration = (int64_t)u->done_tasks;
    return (apex_template_ctx_t){.vars = (const char *const *)u->vars,
                                 .rng = &u->rng,
                                 .vars_json = u->vars_json,
                                 .user = &u->info};
}

apex_cookie_jar_t *worker_user_cookies(worker_user_t *u)
{
    return u->cookies;
}

// Microseconds to wait after a task, by the class's rule.
static uint64_t s_wait_us(worker_user_t *u)
{
    const apex_wait_t *w = &u->cls->cls->wait;
    uint64_t now = apex_loop_now(u->engine->loop);
    switch (w->kind) {
    case APEX_WAIT_CONSTANT:
        return apex_us_from_s(w->a);
    case APEX_WAIT_BETWEEN:
        return apex_us_from_s(w->a + apex_rng_unit(&u->rng) * (w->b - w->a));
    case APEX_WAIT_CONSTANT_PACING:
    case APEX_WAIT_CONSTANT_THROUGHPUT: {
        // Locust's constant_pacing: the time spent in the task since the
        // previous wait ended is taken off the period; the first wait is
        // a whole period (so users begun apart stay apart).
        double period =
            w->kind == APEX_WAIT_CONSTANT_PACING ? w->a : 1.0 / w->a;
        uint64_t period_us = apex_us_from_s(period);
        if (!u->pacing_started) {
            u->pacing_started = true;
            u->pacing_last_wait = period_us;
            u->pacing_last_run = now;
            return period_us;
        }
        uint64_t since = now - u->pacing_last_run;
        uint64_t run =
            since > u->pacing_last_wait ? since - u->pacing_last_wait : 0;
        u->pacing_last_wait = run < period_us ? period_us - run : 0;
        u->pacing_last_run = now;
        return u->pacing_last_wait;
    }
    }
    return 0;
}

void worker_user_task_done(worker_user_t *u)
{
    worker_engine_t *engine = u->engine;
    bool was_on_start = u->task == &u->cls->on_start;
    u->task = NULL;
    if (!was_on_start) {
        engine->iterations++;
        u->done_tasks++;
    }
    if (u->stopping) {
        worker_engine_release(engine, u);
        return;
    }
    if (engine->arrival.on) {
        // Open model: no think time; the user is free for the next
        // iteration, or runs the one that waited for it.
        worker_arrival_task_done(u, was_on_start);
        return;
    }
    if (was_on_start) {
        worker_user_start_task(u); // Locust runs a task right after on_start
        return;
    }
    apex_timer_start(engine->loop, &u->timer, s_wait_us(u));
}

// The rows of the sequential and random data sets for the task starting.
static void s_take_rows(worker_user_t *u)
{
    worker_engine_t *engine = u->engine;
    const apex_scenario_t *scn = engine->scenario;
    for (size_t d = 0; d < scn->ndata; d++) {
        const apex_dataset_t *set = &scn->data[d];
        uint64_t row;
        if (set->mode == APEX_DATA_PER_USER)
            continue;
        if (set->mode == APEX_DATA_RANDOM) {
            row = apex_rng_below(&u->rng, set->nrows);
        } else { // this worker's rows: position, position + workers, ...
            uint64_t n = engine->data_next[d]++;
            row = ((uint64_t)engine->index_base +
                   n * (uint64_t)engine->index_stride) %
                  set->nrows;
        }
        u->rows[d] = apex_dataset_row(set, (size_t)row);
    }
}

bool worker_user_run_on_start(worker_user_t *u)
{
    if (u->script) {
        s_take_rows(u);
        return worker_script_on_start(u);
    }
    if (u->cls->on_start.nsteps == 0)
        return false;
    s_take_rows(u);
    u->task = &u->cls->on_start;
    u->step = 0;
    s_start_step(u);
    return true;
}

void worker_user_start_task(worker_user_t *u)
{
    const apex_user_class_t *cls = u->cls->cls;
    if (cls->npick == 0) {
        apex_timer_start(u->engine->loop, &u->timer, APEX_USEC_PER_SEC);
        return;
    }
    uint32_t t = cls->pick[apex_rng_below(&u->rng, cls->npick)];
    s_take_rows(u);
    u->task = &u->cls->tasks[t];
    u->step = 0;
    if (u->script)
        worker_script_task(u, t);
    else
        s_start_step(u);
}

static apex_stats_entry_t *s_entry(worker_user_t *u, const worker_step_t *step);

// The first user variable step reads that is unset, or NULL.
static const char *s_unset(worker_user_t *u, const worker_step_t *step)
{
    const apex_step_t *model = step->model;
    if (model->nuses == 0)
        return NULL;
    apex_template_ctx_t ctx = worker_user_template_ctx(u);
    for (size_t i = 0; i < model->nuses; i++) {
        const char *name = apex_template_unset(model->uses[i], &ctx);
        if (name)
            return name;
    }
    return NULL;
}

static void s_start_step(worker_user_t *u)
{
    worker_engine_t *engine = u->engine;
    const worker_step_t *step = &u->task->steps[u->step];
    u->started = apex_loop_now(engine->loop);
    const char *unset = s_unset(u, step);
    if (unset) {
        // Not sent: a failure of the step, which ends the task.
        char text[WORKER_FAILURE_MAX];
        worker_failure_unset(text, sizeof text, unset);
        apex_stats_record_failure(engine->stats, s_entry(u, step), text,
                                  worker_engine_wall(engine));
        u->intended = 0;
        worker_user_task_done(u);
        return;
    }
    if (step->ops->start(step->kind, step->plan, step->model, u,
                         &u->conns[step->model->kind]) != 0) {
        // The kind logged why; try a new task in a second.
        apex_timer_start(engine->loop, &u->timer, APEX_USEC_PER_SEC);
        u->task = NULL;
        return;
    }
    u->in_flight = true;
}

// The step's stats row, made the first time an untimed step needs one.
static apex_stats_entry_t *s_entry(worker_user_t *u, const worker_step_t *step)
{
    worker_step_t *mutable = (worker_step_t *)step;
    if (!mutable->entry)
        mutable->entry =
            apex_stats_get(u->engine->stats, step->model->type,
                           step->model->name, worker_engine_wall(u->engine));
    return mutable->entry;
}

// Record the step's time and size; in the open model the first step of
// an iteration is timed from when it should have started, so time spent
// queueing for a free user (or behind a stalled server) is not hidden.
static void s_record(worker_user_t *u, apex_stats_entry_t *entry,
                     const worker_result_t *result, double wall)
{
    worker_engine_t *engine = u->engine;
    uint64_t latency = result->elapsed_us;
    if (u->intended) {
        latency += u->started > u->intended ? u->started - u->intended : 0;
        u->intended = 0;
    }
    if (result->unrecorded)
        return;
    apex_stats_record(engine->stats, entry, latency, result->bytes, wall);
    if (engine->arrival.on)
        apex_stats_record_service(entry, result->elapsed_us);
}

void worker_user_record(worker_user_t *u, apex_stats_entry_t *entry,
                        const worker_result_t *result)
{
    double wall = worker_engine_wall(u->engine);
    s_record(u, entry, result, wall);
    if (result->failure)
        apex_stats_record_failure(u->engine->stats, entry, result->failure,
                                  wall);
}

void worker_user_sample(worker_user_t *u, uint64_t latency_us, uint64_t bytes)
{
    const worker_step_t *step = &u->task->steps[u->step];
    double wall = worker_engine_wall(u->engine);
    apex_stats_record(u->engine->stats, s_entry(u, step), latency_us, bytes,
                      wall);
}

void worker_user_step_done(worker_user_t *u, const worker_result_t *result)
{
    if (u->script) {
        worker_script_step_done(u, result);
        return;
    }
    worker_engine_t *engine = u->engine;
    const worker_step_t *step = &u->task->steps[u->step];
    u->in_flight = false;
    double wall = worker_engine_wall(engine);
    s_record(u, result->unrecorded ? NULL : s_entry(u, step), result, wall);

    const char *failure = result->failure;
    char capture[WORKER_FAILURE_MAX];
    if (!failure && step->model->ncaptures) {
        apex_error_t err = {""};
        int rc =
            result->rows
                ? apex_captures_apply_rows(step->model, result->rows, u->vars,
                                           u->vars_json, &u->rng, &err)
                : apex_captures_apply_typed(step->model, result->headers,
                                            result->headers_len, result->body,
                                            result->body_len, u->vars,
                                            u->vars_json, &u->rng, &err);
        if (rc != 0) {
            worker_failure_capture(capture, sizeof capture, err.msg);
            failure = capture;
        }
    }
    char check[WORKER_FAILURE_MAX];
    if (!failure && step->model->nchecks) {
        const apex_step_t *model = step->model;
        bool passed[APEX_CHECK_MAX_PER_STEP];
        long hard =
            apex_checks_apply(model, result->headers, result->headers_len,
                              result->body, result->body_len, passed);
        for (size_t i = 0; i < model->nchecks; i++) {
            if (passed[i])
                engine->check_passes[model->checks[i].slot]++;
            else
                engine->check_fails[model->checks[i].slot]++;
        }
        if (hard >= 0) {
            worker_failure_check(check, sizeof check, model->checks[hard].name);
            failure = check;
        }
    }
    if (failure) {
        apex_stats_record_failure(engine->stats, s_entry(u, step), failure,
                                  wall);
        worker_user_task_done(
            u); // a failed step ends its task, like an exception
        return;
    }
    // A user told to stop finishes its task only when a stop timeout
    // lets it; otherwise it goes after this step.
    if (u->step + 1 < u->task->nsteps &&
        (!u->stopping || engine->stop_timeout > 0)) {
        u->step++;
        s_start_step(u);
        return;
    }
    worker_user_task_done(u);
}
