// worker/plan.c - see plan.h.
#include "worker/plan.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "worker/script.h"

static void s_plan_task(worker_engine_t *engine, worker_task_t *task,
                        const apex_step_t *steps, size_t n)
{
    task->nsteps = n;
    task->steps = apex_calloc(n ? n : 1, sizeof *task->steps);
    double now = apex_wall_time();
    for (size_t i = 0; i < n; i++) {
        worker_step_t *step = &task->steps[i];
        const apex_step_t *model = &steps[i];
        step->model = model;
        // A step that is no request (a WebSocket send) gets a row only
        // if it fails (worker/user.c).
        if (model->timed)
            step->entry =
                apex_stats_get(engine->stats, model->type, model->name, now);
        step->ops = engine->ops[model->kind];
        step->kind = engine->kinds[model->kind];
        step->plan = step->ops->plan(step->kind, model);
    }
}

static void s_free_task(worker_task_t *task)
{
    for (size_t i = 0; i < task->nsteps; i++) {
        worker_step_t *step = &task->steps[i];
        step->ops->plan_free(step->kind, step->plan);
    }
    free(task->steps);
    task->steps = NULL;
    task->nsteps = 0;
}

void worker_plan_set_base(worker_engine_t *engine)
{
    const char *base = NULL;
    if (engine->host && engine->host[0])
        base = engine->host;
    else if (engine->scenario && engine->scenario->host)
        base = engine->scenario->host;
    for (size_t k = 0; k < APEX_STEP_KIND_COUNT; k++)
        if (engine->ops[k]->set_base)
            engine->ops[k]->set_base(engine->kinds[k], base);
}

void worker_plan_build(worker_engine_t *engine)
{
    const apex_scenario_t *scn = engine->scenario;
    worker_plan_set_base(engine);
    engine->nclasses = scn->nusers;
    engine->classes =
        apex_calloc(scn->nusers ? scn->nusers : 1, sizeof *engine->classes);
    for (size_t c = 0; c < scn->nusers; c++) {
        worker_class_t *cls = &engine->classes[c];
        const apex_user_class_t *model = &scn->users[c];
        cls->cls = model;
        s_plan_task(engine, &cls->on_start, model->on_start, model->non_start);
        cls->tasks =
            apex_calloc(model->ntasks ? model->ntasks : 1, sizeof *cls->tasks);
        for (size_t t = 0; t < model->ntasks; t++)
            s_plan_task(engine, &cls->tasks[t], model->tasks[t].steps,
                        model->tasks[t].nsteps);
    }
}

void worker_plan_free(worker_engine_t *engine)
{
    worker_script_destroy(&engine->script);
    for (size_t c = 0; c < engine->nclasses; c++) {
        worker_class_t *cls = &engine->classes[c];
        for (size_t t = 0; t < cls->cls->ntasks; t++)
            s_free_task(&cls->tasks[t]);
        s_free_task(&cls->on_start);
        free(cls->tasks);
        free(cls->users);
        free(cls->idle);
    }
    free(engine->classes);
    engine->classes = NULL;
    engine->nclasses = 0;
}
