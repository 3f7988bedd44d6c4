// worker/script_lib.c - the part of the script library that needs a
// running user, next to the requests (script_http.c):
//
//   self:sleep(seconds)          a pause through the sleep step kind
//   apex.data("accounts")        the user's current row of a data set, as
//                                a table {column = value} (rows are taken
//                                per task as for JSON steps)
//   apex.check(name, ok)         count a check under name (the same
//                                table as the scenario's checks); returns
//                                ok
//   apex.trend(name, value)      a sample of a custom trend (>= 0)
//   apex.counter(name [, n])     add n (default 1) to a custom counter
//
// Trend and counter names are [a-z0-9_], at most 64 bytes, as the wire's
// metric names; names beginning with http_, ws_ or sql_ belong to the
// step kinds.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/lua_json.h"
#include "worker/script_int.h"

#define S_SLEEP_MAX 1e6 // seconds

static worker_script_t *s_self(lua_State *L)
{
    return worker_script_caller(L)->engine->script;
}

// self:sleep(seconds)
static int s_sleep(lua_State *L)
{
    worker_user_t *u = worker_script_caller(L);
    double seconds = luaL_checknumber(L, 2);
    if (!(seconds >= 0 && seconds <= S_SLEEP_MAX))
        return luaL_error(L, "sleep: expected seconds from 0 to %g",
                          S_SLEEP_MAX);
    worker_script_user_t *su = u->script;
    worker_engine_t *engine = u->engine;
    const worker_kind_ops_t *ops = engine->ops[APEX_STEP_SLEEP];
    worker_kind_t *kind = engine->kinds[APEX_STEP_SLEEP];
    if (!su->sleep) {
        su->sleep = apex_calloc(1, sizeof *su->sleep);
        su->sleep->kind = APEX_STEP_SLEEP;
        su->sleep->type = apex_strdup("SLEEP");
        su->sleep->name = apex_strdup("sleep");
        su->sleep->timeout = S_SLEEP_MAX;
        su->sleep->sleep = apex_calloc(1, sizeof *su->sleep->sleep);
        su->sleep_plan = ops->plan(kind, su->sleep);
    }
    su->sleep->sleep->min = su->sleep->sleep->max = seconds;
    worker_step_t step = {
        .model = su->sleep, .ops = ops, .kind = kind, .plan = su->sleep_plan};
    su->req = NULL;
    su->query = NULL;
    worker_script_start_step(L, u, &step);
    return lua_yield(L, 0);
}

void worker_script_lib_user_free(worker_script_t *self,
                                 worker_script_user_t *su)
{
    if (!su->sleep)
        return;
    worker_engine_t *engine = self->engine;
    engine->ops[APEX_STEP_SLEEP]->plan_free(engine->kinds[APEX_STEP_SLEEP],
                                            su->sleep_plan);
    free(su->sleep->type);
    free(su->sleep->name);
    free(su->sleep->sleep);
    free(su->sleep);
    su->sleep = NULL;
}

// apex.data(name)
static int s_data(lua_State *L)
{
    worker_user_t *u = worker_script_caller(L);
    const char *name = luaL_checkstring(L, 1);
    const apex_scenario_t *scn = u->engine->scenario;
    for (size_t d = 0; d < scn->ndata; d++) {
        const apex_dataset_t *set = &scn->data[d];
        if (strcmp(set->name, name) != 0)
            continue;
        const apex_value_t *row = u->rows[d];
        lua_createtable(L, 0, (int)set->ncolumns);
        for (size_t c = 0; c < set->ncolumns; c++) {
            apex_error_t err = {""};
            if (!row[c].json ||
                apex_lua_json_decode(L, row[c].text, strlen(row[c].text),
                                     &err) != 0)
                lua_pushstring(L, row[c].text);
            lua_setfield(L, -2, set->columns[c]);
        }
        return 1;
    }
    return luaL_error(L,
                      "apex.data: no data set '%s' (the scenario's "
                      "\"data\" names them)",
                      name);
}

int worker_script_count_check(worker_script_t *self, const char *name, bool ok)
{
    worker_engine_t *engine = self->engine;
    const apex_scenario_t *scn = engine->scenario;
    for (size_t i = 0; i < scn->ncheck_names; i++) {
        if (strcmp(scn->check_names[i], name) == 0) {
            (ok ? engine->check_passes : engine->check_fails)[i]++;
            return 0;
        }
    }
    size_t i = 0;
    while (i < self->nchecks && strcmp(self->checks[i].name, name) != 0)
        i++;
    if (i == self->nchecks) {
        if (self->nchecks == WORKER_SCRIPT_MAX_CHECKS)
            return -1;
        self->checks =
            apex_realloc(self->checks, self->nchecks + 1, sizeof *self->checks);
        self->checks[self->nchecks++] =
            (worker_script_named_check_t){apex_strdup(name), 0, 0};
    }
    if (ok)
        self->checks[i].passes++;
    else
        self->checks[i].fails++;
    return 0;
}

// apex.check(name, ok)
static int s_check(lua_State *L)
{
    worker_script_t *self = s_self(L);
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    bool ok = lua_toboolean(L, 2);
    if (len == 0 || len > APEX_CHECK_NAME_MAX)
        return luaL_error(L, "apex.check: expected a name of 1 to %d bytes",
                          APEX_CHECK_NAME_MAX);
    if (worker_script_count_check(self, name, ok) != 0)
        return luaL_error(L, "apex.check: more than %d check names",
                          WORKER_SCRIPT_MAX_CHECKS);
    lua_pushboolean(L, ok);
    return 1;
}

// A custom metric's name at idx, checked; what names the function.
static const char *s_metric_name(lua_State *L, int idx, const char *what)
{
    size_t len;
    const char *name = luaL_checklstring(L, idx, &len);
    bool ok = len > 0 && len <= PROTO_METRIC_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    if (!ok)
        luaL_error(L, "%s: '%s': expected a name of [a-z0-9_], 1 to %d bytes",
                   what, name, PROTO_METRIC_NAME_MAX);
    if (strncmp(name, "http_", 5) == 0 || strncmp(name, "ws_", 3) == 0 ||
        strncmp(name, "sql_", 4) == 0)
        luaL_error(L,
                   "%s: '%s': names beginning with http_, ws_ or sql_ "
                   "are the step kinds'",
                   what, name);
    return name;
}

// apex.trend(name, value)
static int s_trend(lua_State *L)
{
    worker_script_t *self = s_self(L);
    const char *name = s_metric_name(L, 1, "apex.trend");
    double v = luaL_checknumber(L, 2);
    if (!(v >= 0 && v <= WORKER_SCRIPT_TREND_MAX))
        return luaL_error(L, "apex.trend: '%s': expected a value from 0 to %g",
                          name, WORKER_SCRIPT_TREND_MAX);
    apex_stats_entry_t *e = apex_stats_find(self->trends, "", name);
    if (!e && apex_stats_size(self->trends) >= WORKER_SCRIPT_MAX_TRENDS)
        return luaL_error(L, "apex.trend: more than %d trends",
                          WORKER_SCRIPT_MAX_TRENDS);
    double wall = worker_engine_wall(self->engine);
    if (!e)
        e = apex_stats_get(self->trends, "", name, wall);
    apex_stats_record(self->trends, e, (uint64_t)llround(v * 1000.0), 0, wall);
    return 0;
}

// apex.counter(name [, n])
static int s_counter(lua_State *L)
{
    worker_script_t *self = s_self(L);
    const char *name = s_metric_name(L, 1, "apex.counter");
    int64_t n = 1;
    if (!lua_isnoneornil(L, 2) && (!apex_lua_tointeger(L, 2, &n) || n < 0))
        return luaL_error(L,
                          "apex.counter: '%s': expected a whole number "
                          ">= 0",
                          name);
    size_t i = 0;
    while (i < self->ncounters && strcmp(self->counters[i].name, name) != 0)
        i++;
    if (i == self->ncounters) {
        if (i == WORKER_SCRIPT_MAX_COUNTERS)
            return luaL_error(L, "apex.counter: more than %d counters",
                              WORKER_SCRIPT_MAX_COUNTERS);
        snprintf(self->counters[i].name, sizeof self->counters[i].name, "%s",
                 name);
        self->ncounters++;
    }
    if (self->counters[i].value <= INT64_MAX - n)
        self->counters[i].value += n;
    return 0;
}

void worker_script_lib_open(lua_State *L)
{
    lua_pushcfunction(L, s_sleep);
    lua_setfield(L, -2, "sleep");
    lua_getglobal(L, "apex");
    static const luaL_Reg fns[] = {{"data", s_data},
                                   {"check", s_check},
                                   {"trend", s_trend},
                                   {"counter", s_counter},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
