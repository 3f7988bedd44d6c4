// worker/script.c - see script.h: the runtime and the users' coroutines.
//
// The engine's state runs every scripted class's chunk once (the same
// code the scenario loader ran: common/script.h), so each class table
// and its task functions are kept in the registry by the model's task
// order (tasks are matched by name: --tags may have left some out).
//
// A user's coroutine is made once and reused: a task starts by pushing
// its function and `self` and resuming. Only our library yields (after
// it started a step), so a coroutine is either idle between tasks or
// suspended with exactly one step in flight. A task that raises, or
// that yields without a step (coroutine.yield() in a task), leaves a
// dead or stranded coroutine: it is dropped for a new one. self.current
// is the user whose coroutine runs, so the library knows its caller.
#include "worker/script.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "worker/script_int.h"
#include "worker/user.h"

static const char s_key = 0; // registry key of the worker_script_t

static int s_host_env(void *arg, const char *name, const char **value,
                      apex_error_t *err)
{
    (void)err;
    const apex_scenario_scripts_t *s = arg;
    *value = NULL;
    for (size_t i = 0; i < s->nenv; i++)
        if (strcmp(s->env_names[i], name) == 0)
            *value = s->env_values[i];
    return 0;
}

worker_user_t *worker_script_caller(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    worker_script_t *self = lua_touserdata(L, -1);
    lua_pop(L, 1);
    worker_user_t *u = self ? self->current : NULL;
    if (!u || u->script->co != L)
        luaL_error(L, "requests, sleeps, data rows, checks and custom "
                      "metrics belong to a user's task, on_start or on_stop "
                      "(not the top of the script or a coroutine of its "
                      "own)");
    return u;
}

// ---------------------------------------------------------------------
// The runtime

// The ref of the class's field name when it is a function, else
// LUA_NOREF (the class table at the top).
static int s_ref_field(lua_State *L, const char *name)
{
    lua_getfield(L, -1, name);
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

// The ref of the function of the class's task called name (the tasks
// list at the top), or LUA_NOREF.
static int s_task_ref(lua_State *L, const char *name)
{
    size_t n = apex_lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        lua_getfield(L, -1, "name");
        bool found =
            lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), name) == 0;
        lua_pop(L, 1);
        if (found) {
            lua_getfield(L, -1, "fn");
            lua_remove(L, -2);
            return luaL_ref(L, LUA_REGISTRYINDEX);
        }
        lua_pop(L, 1);
    }
    return LUA_NOREF;
}

// Run the class's script and keep what users need.
static int s_load_class(worker_script_t *self, const apex_user_class_t *model,
                        worker_script_class_t *c, apex_error_t *err)
{
    lua_State *L = self->L;
    const apex_script_t *s = model->script;
    c->scripted = true;
    c->task_refs = apex_calloc(model->ntasks + 1, sizeof *c->task_refs);
    for (size_t t = 0; t < model->ntasks; t++)
        c->task_refs[t] = LUA_NOREF;
    c->mt_ref = c->on_start_ref = c->on_stop_ref = LUA_NOREF;
    if (apex_script_run(self->sb, s->file, s->source, s->len, err) != 0)
        return -1;
    c->on_start_ref = s_ref_field(L, "on_start");
    c->on_stop_ref = s_ref_field(L, "on_stop");
    apex_script_push_tasks(L, lua_gettop(L));
    for (size_t t = 0; t < model->ntasks; t++) {
        c->task_refs[t] = s_task_ref(L, model->tasks[t].name);
        if (c->task_refs[t] == LUA_NOREF) {
            lua_pop(L, 2);
            return apex_error_set(err,
                                  "%s: task '%s' is not defined here (does "
                                  "the script define its tasks the same way "
                                  "every time?)",
                                  s->file, model->tasks[t].name);
        }
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 1); // the users' metatable
    lua_insert(L, -2);
    lua_setfield(L, -2, "__index");
    c->mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

worker_script_t *worker_script_new(worker_engine_t *engine, apex_error_t *err)
{
    const apex_scenario_t *scn = engine->scenario;
    worker_script_t *self = apex_calloc(1, sizeof *self);
    self->engine = engine;
    self->rng = apex_rng_seed(apex_rng_next(&engine->rng));
    self->trends = apex_stats_new(0);
    apex_buf_init(&self->key);
    apex_buf_init(&self->url);
    apex_buf_init(&self->body);
    apex_buf_init(&self->check);
    self->sb = apex_lua_new(err);
    if (!self->sb) {
        worker_script_destroy(&self);
        return NULL;
    }
    self->L = apex_lua_state(self->sb);
    lua_State *L = self->L;
    lua_pushlightuserdata(L, (void *)&s_key);
    lua_pushlightuserdata(L, self);
    lua_rawset(L, LUA_REGISTRYINDEX);
    apex_script_host_t host = {
        .env = s_host_env, .arg = scn->scripts, .rng = &self->rng};
    apex_script_open(L, &host);
    lua_getfield(L, LUA_REGISTRYINDEX, "apex.user_base");
    worker_script_http_open(L);
    worker_script_sql_open(L);
    worker_script_lib_open(L);
    lua_pop(L, 1);
    self->nclasses = engine->nclasses;
    self->classes = apex_calloc(self->nclasses + 1, sizeof *self->classes);
    for (size_t c = 0; c < engine->nclasses; c++) {
        const apex_user_class_t *model = engine->classes[c].cls;
        if (model->script &&
            s_load_class(self, model, &self->classes[c], err) != 0) {
            worker_script_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void worker_script_destroy(worker_script_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_script_t *self = *self_p;
    worker_script_http_free(self);
    worker_script_sql_free(self);
    for (size_t c = 0; c < self->nclasses; c++)
        free(self->classes[c].task_refs);
    free(self->classes);
    apex_lua_destroy(&self->sb);
    apex_stats_destroy(&self->trends);
    apex_buf_fini(&self->key);
    apex_buf_fini(&self->url);
    apex_buf_fini(&self->body);
    apex_buf_fini(&self->check);
    for (size_t i = 0; i < self->nchecks; i++)
        free(self->checks[i].name);
    free(self->checks);
    for (size_t i = 0; i < self->nexceptions; i++)
        worker_exception_fini(&self->exceptions[i]);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
// Users

static worker_script_class_t *s_class(worker_user_t *u)
{
    worker_script_t *self = u->engine->script;
    return &self->classes[u->cls - u->engine->classes];
}

static void s_new_co(worker_script_t *self, worker_script_user_t *su)
{
    if (su->co_ref != LUA_NOREF)
        luaL_unref(self->L, LUA_REGISTRYINDEX, su->co_ref);
    su->co = lua_newthread(self->L);
    su->co_ref = luaL_ref(self->L, LUA_REGISTRYINDEX);
}

worker_script_user_t *worker_script_user_new(worker_script_t *self,
                                             worker_user_t *u)
{
    lua_State *L = self->L;
    worker_script_user_t *su = apex_calloc(1, sizeof *su);
    su->co_ref = LUA_NOREF;
    s_new_co(self, su);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)u->info.user_index);
    lua_setfield(L, -2, "index");
    lua_pushinteger(L, (lua_Integer)u->info.worker_index);
    lua_setfield(L, -2, "worker_index");
    lua_rawgeti(L, LUA_REGISTRYINDEX,
                self->classes[u->cls - u->engine->classes].mt_ref);
    lua_setmetatable(L, -2);
    su->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return su;
}

void worker_script_user_free(worker_script_t *self, worker_user_t *u)
{
    worker_script_user_t *su = u->script;
    if (!su)
        return;
    luaL_unref(self->L, LUA_REGISTRYINDEX, su->co_ref);
    luaL_unref(self->L, LUA_REGISTRYINDEX, su->self_ref);
    worker_script_lib_user_free(self, su);
    free(su);
    u->script = NULL;
}

// ---------------------------------------------------------------------
// Exceptions

void worker_exception_fini(worker_exception_t *e)
{
    free(e->msg);
    free(e->traceback);
    memset(e, 0, sizeof *e);
}

static void s_exception(worker_script_t *self, const char *msg,
                        const char *traceback)
{
    for (size_t i = 0; i < self->nexceptions; i++) {
        worker_exception_t *e = &self->exceptions[i];
        if (strcmp(e->msg, msg) == 0 && strcmp(e->traceback, traceback) == 0) {
            e->count++;
            return;
        }
    }
    if (self->nexceptions == WORKER_SCRIPT_MAX_EXCEPTIONS) {
        if (self->lost_exceptions++ == 0)
            apex_warn("more than %d distinct script errors in one report: "
                      "the others are counted in the log only",
                      WORKER_SCRIPT_MAX_EXCEPTIONS);
        return;
    }
    apex_err("script error: %s", msg);
    worker_exception_t *e = &self->exceptions[self->nexceptions++];
    e->msg = apex_strdup(msg);
    e->traceback = apex_strdup(traceback);
    e->count = 1;
}

worker_exception_t *worker_script_take_exceptions(worker_script_t *self,
                                                  size_t *n)
{
    *n = self->nexceptions;
    worker_exception_t *out = apex_calloc(*n + 1, sizeof *out);
    memcpy(out, self->exceptions, *n * sizeof *out);
    memset(self->exceptions, 0, sizeof self->exceptions);
    self->nexceptions = 0;
    return out;
}

// The error on top of co (message and traceback) into the table.
static void s_record_error(worker_script_t *self, lua_State *co)
{
    const char *msg = lua_tostring(co, -1);
    if (!msg)
        msg = "(error object is not a string)";
    luaL_traceback(self->L, co, NULL, 0);
    s_exception(self, msg, lua_tostring(self->L, -1));
    lua_pop(self->L, 1);
}

// ---------------------------------------------------------------------
// Running

static void s_run(worker_user_t *u, int ref);

// The coroutine finished what it ran (a task, on_start or on_stop).
static void s_end(worker_user_t *u)
{
    worker_script_user_t *su = u->script;
    worker_script_class_t *c = s_class(u);
    if (su->on_stop) {
        worker_engine_release(u->engine, u);
        return;
    }
    if (u->stopping && su->begun && c->on_stop_ref != LUA_NOREF) {
        su->on_stop = true;
        s_run(u, c->on_stop_ref);
        return;
    }
    worker_user_task_done(u);
}

// Resume u's coroutine with nargs values on its stack, and follow what
// it did: yielded with a step in flight, returned, or raised.
static void s_resume(worker_user_t *u, int nargs)
{
    worker_script_t *self = u->engine->script;
    worker_script_user_t *su = u->script;
    lua_State *co = su->co;
    self->current = u;
    apex_lua_budget(self->sb);
    int nres = 0;
    int rc = apex_lua_resume(co, self->L, nargs, &nres);
    self->current = NULL;
    if (rc == LUA_YIELD && u->in_flight) {
        lua_pop(co, nres);
        return;
    }
    if (rc == LUA_YIELD) {
        s_exception(self,
                    "a task yielded without waiting for a request or a "
                    "sleep (coroutine.yield() in a task)",
                    "");
        s_new_co(self, su);
    } else if (rc != LUA_OK) {
        s_record_error(self, co);
        s_new_co(self, su);
    } else {
        lua_settop(co, 0);
    }
    s_end(u);
}

// Start the function ref on u's idle coroutine with self.
static void s_run(worker_user_t *u, int ref)
{
    worker_script_user_t *su = u->script;
    su->begun = true;
    lua_rawgeti(su->co, LUA_REGISTRYINDEX, ref);
    lua_rawgeti(su->co, LUA_REGISTRYINDEX, su->self_ref);
    s_resume(u, 1);
}

bool worker_script_on_start(worker_user_t *u)
{
    worker_script_class_t *c = s_class(u);
    if (c->on_start_ref == LUA_NOREF)
        return false;
    u->task = &u->cls->on_start;
    s_run(u, c->on_start_ref);
    return true;
}

void worker_script_task(worker_user_t *u, size_t t)
{
    s_run(u, s_class(u)->task_refs[t]);
}

void worker_script_start_step(lua_State *L, worker_user_t *u,
                              const worker_step_t *step)
{
    u->started = apex_loop_now(u->engine->loop);
    if (step->ops->start(step->kind, step->plan, step->model, u,
                         &u->conns[step->model->kind]) != 0)
        luaL_error(L, "the %s step could not start (see the worker's log)",
                   step->ops->name);
    u->in_flight = true;
}

void worker_script_step_done(worker_user_t *u, const worker_result_t *result)
{
    worker_script_t *self = u->engine->script;
    worker_script_user_t *su = u->script;
    u->in_flight = false;
    int nargs = 0;
    if (su->req) {
        worker_script_http_done(u, result);
        su->req = NULL;
        nargs = 1;
    } else if (su->query) {
        worker_script_sql_done(u, result);
        su->query = NULL;
        nargs = 1;
    }
    if (u->stopping && !su->on_stop && u->engine->stop_timeout <= 0) {
        // Told to stop without a stop timeout: the task ends here.
        s_new_co(self, su);
        s_end(u);
        return;
    }
    s_resume(u, nargs);
}

bool worker_script_wants_stop(worker_user_t *u)
{
    worker_script_user_t *su = u->script;
    return su && su->begun && !su->on_stop &&
           s_class(u)->on_stop_ref != LUA_NOREF;
}

void worker_script_stop(worker_user_t *u)
{
    if (u->in_flight)
        return; // its step's end runs on_stop (s_end)
    apex_timer_stop(u->engine->loop, &u->timer);
    u->script->on_stop = true;
    u->task = NULL;
    s_run(u, s_class(u)->on_stop_ref);
}

// ---------------------------------------------------------------------
// Figures

size_t worker_script_metrics(worker_script_t *self, worker_metric_t *out,
                             size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->ncounters && n < max; i++)
        out[n++] = (worker_metric_t){self->counters[i].name, false,
                                     self->counters[i].value};
    return n;
}

apex_stats_t *worker_script_trends(worker_script_t *self)
{
    return self->trends;
}

worker_script_check_t *worker_script_checks(worker_script_t *self, size_t *n)
{
    worker_script_check_t *out = apex_calloc(self->nchecks + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < self->nchecks; i++) {
        const worker_script_named_check_t *c = &self->checks[i];
        if (c->passes || c->fails)
            out[(*n)++] = (worker_script_check_t){c->name, c->passes, c->fails};
    }
    return out;
}

void worker_script_clear(worker_script_t *self)
{
    apex_stats_reset(self->trends, 0);
    for (size_t i = 0; i < self->nchecks; i++)
        self->checks[i].passes = self->checks[i].fails = 0;
}
