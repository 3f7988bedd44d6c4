// worker/script_sql.c - a scripted user's SQL queries, through the SQL
// step kind (worker/step_sql.c), and their results:
//
//   local r = self:sql("SELECT id, title FROM tasks WHERE status = $1",
//                      {params = {"pending"}, name = "pending tasks",
//                       expect_rows = {1, 20}, timeout = 5})
//   r.ok, r.failure, r.rows ({{id = "7", title = "x"}, ...}: each value
//   as PostgreSQL's text, SQL NULL absent), r.row_count, r.elapsed_ms
//
// A query is a step of the kind that runs JSON SQL steps, on the user's
// connection to the scenario's "database", prepared once per connection,
// timed, worded on failure and counted ("SQL", name) exactly as a JSON
// step: the kind cannot tell them apart. Values reach the server only as
// parameters ($1, $2, ...): a string as it is, a number or boolean as its
// text, a table as compact JSON, nil or apex.json.null as SQL NULL; they
// travel in the user variables scripted requests use for header values
// (at most APEX_SCRIPT_HEADERS). Each query shape (text, name, timeout,
// expect_rows, which parameters are NULL) becomes a step model once, is
// planned by the kind once, and is reused; a script may use at most
// WORKER_SCRIPT_MAX_QUERIES shapes (a query built from values instead of
// parameters stops there, with an error saying so).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/lua_json.h"
#include "worker/script_int.h"
#include "worker/user.h"

#define S_TIMEOUT 60.0 // seconds, as a JSON step's default

struct worker_script_sql {
    uint64_t hash;       // of key
    char *key;           // the shape
    size_t keylen;       // its length
    apex_step_t model;   // the step: kind SQL
    apex_sql_step_t sql; // its query
    worker_step_t step;  // the step with its kind's plan and stats row
};

// What one call asks for.
typedef struct {
    const char *query;                       // the SQL text
    const char *name;                        // stats name, or NULL
    double timeout;                          // seconds
    bool has_expect;                         // expect_rows given
    uint64_t min_rows;                       // at least
    uint64_t max_rows;                       // at most
    const char *params[APEX_SCRIPT_HEADERS]; // $1...: text, NULL: SQL NULL
    size_t nparams;                          // their number
} s_call_t;

static uint64_t s_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

// The shape's key into self->key.
static void s_key(worker_script_t *self, const s_call_t *c)
{
    apex_buf_t *k = &self->key;
    apex_buf_reset(k);
    apex_buf_putc(k, (char)((c->name ? 1 : 0) | (c->has_expect ? 2 : 0)));
    apex_buf_append(k, &c->timeout, sizeof c->timeout);
    apex_buf_append(k, &c->min_rows, sizeof c->min_rows);
    apex_buf_append(k, &c->max_rows, sizeof c->max_rows);
    apex_buf_putc(k, (char)c->nparams);
    for (size_t i = 0; i < c->nparams; i++)
        apex_buf_putc(k, c->params[i] ? 'v' : 'n');
    apex_buf_append(k, c->query, strlen(c->query) + 1);
    if (c->name)
        apex_buf_append(k, c->name, strlen(c->name) + 1);
}

static void s_free_query(worker_script_sql_t *q)
{
    if (q->step.ops)
        q->step.ops->plan_free(q->step.kind, q->step.plan);
    for (size_t i = 0; i < q->sql.nparams; i++)
        apex_template_destroy(&q->sql.params[i]);
    free(q->sql.params);
    free(q->sql.query);
    free(q->sql.database);
    free(q->model.type);
    free(q->model.name);
    free(q->key);
    free(q);
}

void worker_script_sql_free(worker_script_t *self)
{
    for (size_t i = 0; i < self->nqueries; i++)
        s_free_query(self->queries[i]);
    free(self->queries);
    self->queries = NULL;
    self->nqueries = 0;
}

// A new shape for call c, planned by the kind.
static worker_script_sql_t *s_new_query(worker_script_t *self,
                                        const s_call_t *c, uint64_t hash)
{
    worker_engine_t *engine = self->engine;
    const apex_scenario_t *sc = engine->scenario;
    worker_script_sql_t *q = apex_calloc(1, sizeof *q);
    q->hash = hash;
    q->keylen = self->key.len;
    q->key = apex_strndup(self->key.data, q->keylen);
    apex_step_t *m = &q->model;
    m->kind = APEX_STEP_SQL;
    m->type = apex_strdup("SQL");
    m->name = c->name ? apex_strdup(c->name) : apex_sql_default_name(c->query);
    m->name_given = c->name != NULL;
    m->timeout = c->timeout;
    m->timed = true;
    m->needs_body = true; // the rows, for r.rows
    m->sql = &q->sql;
    q->sql.query = apex_strdup(c->query);
    q->sql.database = apex_strdup(sc->database);
    q->sql.has_expect = c->has_expect;
    q->sql.min_rows = c->min_rows;
    q->sql.max_rows = c->max_rows;
    q->sql.nparams = c->nparams;
    q->sql.params = apex_calloc(c->nparams + 1, sizeof *q->sql.params);
    for (size_t i = 0; i < c->nparams; i++) {
        char var[32];
        snprintf(var, sizeof var, "_lua_h%zu", i);
        if (c->params[i])
            q->sql.params[i] = worker_script_var_template(sc, var);
    }
    worker_step_t *st = &q->step;
    st->model = m;
    st->ops = engine->ops[APEX_STEP_SQL];
    st->kind = engine->kinds[APEX_STEP_SQL];
    st->plan = st->ops->plan(st->kind, m);
    st->entry = apex_stats_get(engine->stats, m->type, m->name,
                               worker_engine_wall(engine));
    self->queries =
        apex_realloc(self->queries, self->nqueries + 1, sizeof *self->queries);
    self->queries[self->nqueries++] = q;
    return q;
}

// The shape of call c: found, or made; NULL when there are too many.
static worker_script_sql_t *s_shape(worker_script_t *self, const s_call_t *c)
{
    s_key(self, c);
    uint64_t hash = s_hash(self->key.data, self->key.len);
    for (size_t i = 0; i < self->nqueries; i++) {
        worker_script_sql_t *q = self->queries[i];
        if (q->hash == hash && q->keylen == self->key.len &&
            memcmp(q->key, self->key.data, q->keylen) == 0)
            return q;
    }
    if (self->nqueries == WORKER_SCRIPT_MAX_QUERIES)
        return NULL;
    return s_new_query(self, c, hash);
}

// opts.params (at idx) into c as text; the texts made here stay on L's
// stack until the call yields.
static void s_read_params(lua_State *L, int idx, s_call_t *c)
{
    size_t n = apex_lua_rawlen(L, idx);
    if (n > APEX_SCRIPT_HEADERS)
        luaL_error(L, "sql: more than %d params", APEX_SCRIPT_HEADERS);
    luaL_checkstack(L, (int)n + 4, "sql: params");
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        int t = lua_type(L, -1);
        if (t == LUA_TNIL ||
            (t == LUA_TLIGHTUSERDATA && !lua_touserdata(L, -1))) {
            c->params[i] = NULL;
        } else if (t == LUA_TBOOLEAN) {
            c->params[i] = lua_toboolean(L, -1) ? "true" : "false";
        } else if (t == LUA_TNUMBER || t == LUA_TSTRING) {
            size_t len;
            c->params[i] = lua_tolstring(L, -1, &len);
            if (memchr(c->params[i], '\0', len))
                luaL_error(L, "sql: param %zu has a NUL byte", i + 1);
        } else if (t == LUA_TTABLE) {
            apex_error_t err = {""};
            json_t *v = apex_lua_json_from(L, -1, &err);
            if (!v)
                luaL_error(L, "sql: param %zu: %s", i + 1, err.msg);
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_decref(v);
            lua_pushstring(L, text ? text : "null");
            free(text);
            c->params[i] = lua_tostring(L, -1);
        } else {
            luaL_error(L,
                       "sql: param %zu is a %s (expected a string, "
                       "number, boolean, table or nil)",
                       i + 1, lua_typename(L, t));
        }
    }
    c->nparams = n;
}

// opts.expect_rows (at the top): n or {min, max}.
static void s_read_expect(lua_State *L, s_call_t *c)
{
    int64_t lo = -1, hi = -1;
    bool ok;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        ok = apex_lua_tointeger(L, -1, &lo);
        hi = lo;
    } else {
        ok = lua_istable(L, -1) && apex_lua_rawlen(L, -1) == 2;
        if (ok) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            ok = apex_lua_tointeger(L, -2, &lo) &&
                 apex_lua_tointeger(L, -1, &hi);
        }
    }
    if (!ok || lo < 0 || hi < lo)
        luaL_error(L, "sql: expect_rows: expected a row count or {min, "
                      "max} with 0 <= min <= max");
    c->has_expect = true;
    c->min_rows = (uint64_t)lo;
    c->max_rows = (uint64_t)hi;
}

// self:sql(query [, opts])
static int s_sql(lua_State *L)
{
    worker_user_t *u = worker_script_caller(L);
    worker_script_t *self = u->engine->script;
    const apex_scenario_t *sc = u->engine->scenario;
    s_call_t c = {.timeout = S_TIMEOUT};
    c.query = luaL_checkstring(L, 2);
    if (!*c.query)
        return luaL_error(L, "sql: expected a query");
    if (!sc->database)
        return luaL_error(L, "sql: the scenario names no \"database\"");
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "name");
        c.name = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
        lua_getfield(L, 3, "timeout");
        if (!lua_isnil(L, -1)) {
            c.timeout = lua_tonumber(L, -1);
            if (!(c.timeout > 0 && c.timeout < 1e6))
                return luaL_error(L, "sql: timeout: expected seconds > 0");
        }
        lua_getfield(L, 3, "expect_rows");
        if (!lua_isnil(L, -1))
            s_read_expect(L, &c);
        lua_getfield(L, 3, "params");
        if (!lua_isnil(L, -1)) {
            luaL_checktype(L, -1, LUA_TTABLE);
            s_read_params(L, lua_gettop(L), &c);
        }
    }
    worker_script_sql_t *q = s_shape(self, &c);
    if (!q)
        return luaL_error(L,
                          "sql: more than %d distinct queries (pass "
                          "values as params, not in the SQL text)",
                          WORKER_SCRIPT_MAX_QUERIES);
    const size_t slot = sc->scripts->header_slot;
    for (size_t i = 0; i < c.nparams; i++)
        if (c.params[i])
            worker_script_set_var(u, slot + i, c.params[i]);
    u->script->req = NULL;
    u->script->query = q;
    worker_script_start_step(L, u, &q->step);
    return lua_yield(L, 0);
}

// The result's rows as an array of tables at the top of co.
static void s_push_rows(lua_State *co, const apex_capture_rows_t *rows)
{
    size_t n = rows ? rows->nrows : 0;
    lua_createtable(co, n > INT32_MAX ? 0 : (int)n, 0);
    for (size_t r = 0; r < n; r++) {
        lua_createtable(co, 0, (int)rows->ncolumns);
        for (size_t col = 0; col < rows->ncolumns; col++) {
            const char *value = NULL;
            const char *name = rows->column(rows->arg, r, col, &value);
            if (!value)
                continue;
            lua_pushstring(co, value);
            lua_setfield(co, -2, name);
        }
        lua_rawseti(co, -2, (lua_Integer)r + 1);
    }
}

void worker_script_sql_done(worker_user_t *u, const worker_result_t *r)
{
    const worker_script_sql_t *q = u->script->query;
    worker_user_record(u, q->step.entry, r);
    lua_State *co = u->script->co;
    lua_createtable(co, 0, 5);
    lua_pushboolean(co, r->failure == NULL);
    lua_setfield(co, -2, "ok");
    if (r->failure) {
        lua_pushstring(co, r->failure);
        lua_setfield(co, -2, "failure");
    }
    lua_pushnumber(co, (lua_Number)r->elapsed_us / 1000.0);
    lua_setfield(co, -2, "elapsed_ms");
    lua_pushinteger(co, r->rows ? (lua_Integer)r->rows->nrows : 0);
    lua_setfield(co, -2, "row_count");
    s_push_rows(co, r->rows);
    lua_setfield(co, -2, "rows");
}

void worker_script_sql_open(lua_State *L)
{
    lua_pushcfunction(L, s_sql);
    lua_setfield(L, -2, "sql");
}
