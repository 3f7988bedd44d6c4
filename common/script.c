// common/script.c - see script.h.
//
// In Lua, a class is a table made by apex.user{...}: its options copied
// in, its tasks in the hidden list __tasks, and the metatable
// "apex.class" whose __index is the registry's "apex.user_base" table
// (task() here; a worker adds http(), get(), sleep(), ...). A user is a
// table whose metatable's __index is its class, so self.x finds the
// user's own field, then the class's, then the library's. Every class
// apex.user() makes is listed in the registry's "apex.classes": a script
// that returns none of them defines the one it made.
#include "common/script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/lua_json.h"
#include "common/rng.h"

#define S_CLASS_MT "apex.class"
#define S_USER_BASE "apex.user_base"
#define S_CLASSES "apex.classes"
#define S_TASKS "__tasks"
#define S_WAIT "__wait"
#define S_RANDOM_STRING_MAX 1024

// The wait kinds, as apex_wait_kind_t numbers them (common/scenario.h).
enum { S_CONSTANT, S_BETWEEN, S_PACING, S_THROUGHPUT };

static apex_script_host_t *s_host(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

// ---------------------------------------------------------------------
// Classes and tasks

static int s_user(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_newtable(L); // the class
    int cls = lua_gettop(L);
    if (lua_istable(L, 1)) {
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, cls);
        }
    }
    lua_newtable(L);
    lua_setfield(L, cls, S_TASKS);
    luaL_getmetatable(L, S_CLASS_MT);
    lua_setmetatable(L, cls);
    lua_getfield(L, LUA_REGISTRYINDEX, S_CLASSES);
    lua_pushvalue(L, cls);
    lua_rawseti(L, -2, (int)apex_lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
    return 1;
}

static unsigned s_weight(lua_State *L, int idx)
{
    int64_t w;
    if (!apex_lua_tointeger(L, idx, &w) || w < 1 || w > APEX_SCRIPT_MAX_WEIGHT)
        luaL_error(L, "task weight: expected an integer from 1 to %d",
                   APEX_SCRIPT_MAX_WEIGHT);
    return (unsigned)w;
}

// The tags list at idx, checked (strings of 1..APEX_SCRIPT_NAME_MAX).
static void s_check_tags(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return;
    luaL_argcheck(L, lua_istable(L, idx), 2, "tags: expected a list");
    size_t n = apex_lua_rawlen(L, idx);
    if (n > APEX_SCRIPT_MAX_TAGS)
        luaL_error(L, "tags: more than %d", APEX_SCRIPT_MAX_TAGS);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        size_t len = 0;
        if (lua_type(L, -1) != LUA_TSTRING ||
            (lua_tolstring(L, -1, &len), len == 0) ||
            len > APEX_SCRIPT_NAME_MAX)
            luaL_error(L, "tags: expected names of 1 to %d bytes",
                       APEX_SCRIPT_NAME_MAX);
        lua_pop(L, 1);
    }
}

// cls:task(name, weight | {weight=, tags=}, fn)
static int s_task(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t len;
    const char *name = luaL_checklstring(L, 2, &len);
    if (len == 0 || len > APEX_SCRIPT_NAME_MAX)
        return luaL_error(L, "task name: expected 1 to %d bytes",
                          APEX_SCRIPT_NAME_MAX);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    unsigned weight = 1;
    lua_settop(L, 4);
    lua_pushnil(L); // 5: tags
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "weight");
        if (!lua_isnil(L, -1))
            weight = s_weight(L, -1);
        lua_getfield(L, 3, "tags");
        s_check_tags(L, -1);
        lua_replace(L, 5);
        lua_pop(L, 1);
    } else if (!lua_isnil(L, 3)) {
        weight = s_weight(L, 3);
    }
    lua_getfield(L, 1, S_TASKS);
    if (!lua_istable(L, -1))
        return luaL_error(L, "task: call it on a class (Class:task(...))");
    int tasks = lua_gettop(L);
    size_t n = apex_lua_rawlen(L, tasks);
    if (n >= APEX_SCRIPT_MAX_TASKS)
        return luaL_error(L, "more than %d tasks", APEX_SCRIPT_MAX_TASKS);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, tasks, (int)i);
        lua_getfield(L, -1, "name");
        if (strcmp(lua_tostring(L, -1), name) == 0)
            return luaL_error(L, "task '%s' is defined twice", name);
        lua_pop(L, 2);
    }
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, weight);
    lua_setfield(L, -2, "weight");
    lua_pushvalue(L, 5);
    lua_setfield(L, -2, "tags");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "fn");
    lua_rawseti(L, tasks, (int)n + 1);
    lua_settop(L, 1);
    return 1;
}

// ---------------------------------------------------------------------
// Wait times

static int s_wait(lua_State *L, int kind, double a, double b)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, kind);
    lua_setfield(L, -2, S_WAIT);
    lua_pushnumber(L, a);
    lua_setfield(L, -2, "a");
    lua_pushnumber(L, b);
    lua_setfield(L, -2, "b");
    return 1;
}

static int s_between(lua_State *L)
{
    double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
    if (!(a >= 0 && a <= b))
        return luaL_error(L, "apex.between: expected 0 <= min <= max");
    return s_wait(L, S_BETWEEN, a, b);
}

static int s_seconds(lua_State *L, int kind, const char *name)
{
    double a = luaL_checknumber(L, 1);
    if (!(a >= 0 && a < 1e9))
        return luaL_error(L, "%s: expected seconds >= 0", name);
    return s_wait(L, kind, a, 0);
}

static int s_constant(lua_State *L)
{
    return s_seconds(L, S_CONSTANT, "apex.constant");
}

static int s_constant_pacing(lua_State *L)
{
    return s_seconds(L, S_PACING, "apex.constant_pacing");
}

static int s_constant_throughput(lua_State *L)
{
    double a = luaL_checknumber(L, 1);
    if (!(a > 0 && a < 1e9))
        return luaL_error(L, "apex.constant_throughput: expected task runs "
                             "per second > 0");
    return s_wait(L, S_THROUGHPUT, a, 0);
}

// ---------------------------------------------------------------------
// Helpers

static int s_env(lua_State *L)
{
    apex_script_host_t *host = s_host(L);
    const char *name = luaL_checkstring(L, 1);
    const char *value = NULL;
    apex_error_t err = {""};
    if (!host->env)
        return luaL_error(L, "apex.env: no environment here");
    if (host->env(host->arg, name, &value, &err) != 0)
        return luaL_error(L, "apex.env: %s", err.msg);
    if (value)
        lua_pushstring(L, value);
    else if (lua_gettop(L) >= 2)
        lua_pushvalue(L, 2);
    else
        lua_pushnil(L);
    return 1;
}

static int s_random_int(lua_State *L)
{
    int64_t a, b;
    if (!apex_lua_tointeger(L, 1, &a) || !apex_lua_tointeger(L, 2, &b) || a > b)
        return luaL_error(L, "apex.random_int: expected integers a <= b");
    uint64_t span = (uint64_t)(b - a) + 1;
    uint64_t r = span ? apex_rng_below(s_host(L)->rng, span)
                      : apex_rng_next(s_host(L)->rng);
    lua_pushinteger(L, (lua_Integer)(a + (int64_t)r));
    return 1;
}

static int s_random(lua_State *L)
{
    lua_pushnumber(L, apex_rng_unit(s_host(L)->rng));
    return 1;
}

static int s_random_string(lua_State *L)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    int64_t n;
    if (!apex_lua_tointeger(L, 1, &n) || n < 1 || n > S_RANDOM_STRING_MAX)
        return luaL_error(L,
                          "apex.random_string: expected a length from 1 "
                          "to %d",
                          S_RANDOM_STRING_MAX);
    char buf[S_RANDOM_STRING_MAX];
    for (int64_t i = 0; i < n; i++)
        buf[i] = alnum[apex_rng_below(s_host(L)->rng, sizeof alnum - 1)];
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int s_uuid(lua_State *L)
{
    uint64_t *rng = s_host(L)->rng;
    unsigned char b[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = apex_rng_next(rng);
        memcpy(b + i, &r, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char s[37];
    snprintf(s, sizeof s,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
             "%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
    lua_pushstring(L, s);
    return 1;
}

static int s_now_ms(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)(apex_wall_time() * 1000.0));
    return 1;
}

void apex_script_open(lua_State *L, const apex_script_host_t *host)
{
    luaL_newmetatable(L, S_CLASS_MT);
    lua_newtable(L); // the user base
    lua_pushcfunction(L, s_task);
    lua_setfield(L, -2, "task");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, S_USER_BASE);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, S_CLASSES);

    static const luaL_Reg fns[] = {
        {"env", s_env},       {"random_int", s_random_int},
        {"random", s_random}, {"random_string", s_random_string},
        {"uuid", s_uuid},     {NULL, NULL}};
    lua_newtable(L); // apex
    apex_script_host_t *h = lua_newuserdata(L, sizeof *h);
    *h = *host;
    luaL_setfuncs(L, fns, 1);
    static const luaL_Reg plain[] = {
        {"user", s_user},
        {"between", s_between},
        {"constant", s_constant},
        {"constant_pacing", s_constant_pacing},
        {"constant_throughput", s_constant_throughput},
        {"now_ms", s_now_ms},
        {NULL, NULL}};
    luaL_setfuncs(L, plain, 0);
    apex_lua_json_open(L);
    lua_setfield(L, -2, "json");
    lua_setglobal(L, "apex");
}

// ---------------------------------------------------------------------
// Running a script

// The class the chunk defined: its return value when that is a class,
// else the only class it made. Replaces the returned values at the top
// with it; -1 with err set when there is none, or several.
static int s_pick_class(lua_State *L, int base, const char *file,
                        apex_error_t *err)
{
    if (lua_gettop(L) > base && lua_istable(L, base + 1)) {
        lua_getfield(L, base + 1, S_TASKS);
        bool is_class = lua_istable(L, -1);
        lua_pop(L, 1);
        if (is_class) {
            lua_settop(L, base + 1);
            return 0;
        }
    }
    lua_settop(L, base);
    lua_getfield(L, LUA_REGISTRYINDEX, S_CLASSES);
    size_t n = apex_lua_rawlen(L, -1);
    if (n != 1) {
        lua_pop(L, 1);
        return n == 0 ? apex_error_set(err,
                                       "%s: defines no user class (make "
                                       "one with apex.user{...} and return "
                                       "it)",
                                       file)
                      : apex_error_set(err,
                                       "%s: defines %zu user classes: "
                                       "return the one to run",
                                       file, n);
    }
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
    return 0;
}

int apex_script_run(apex_lua_t *sb, const char *file, const char *src,
                    size_t len, apex_error_t *err)
{
    lua_State *L = apex_lua_state(sb);
    int base = lua_gettop(L);
    if (apex_lua_load(L, src, len, file, err) != 0)
        return -1;
    apex_lua_budget(sb);
    if (lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        apex_error_set(err, "%s", msg ? msg : "error object is not a string");
        lua_settop(L, base);
        return -1;
    }
    return s_pick_class(L, base, file, err);
}

void apex_script_push_tasks(lua_State *L, int idx)
{
    lua_getfield(L, idx, S_TASKS);
}

// ---------------------------------------------------------------------
// Reading a class

// The class's wait_time (at cls), if it has one.
static int s_read_wait(lua_State *L, int cls, apex_script_t *s,
                       apex_error_t *err)
{
    lua_getfield(L, cls, "wait_time");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_istable(L, -1))
        lua_getfield(L, -1, S_WAIT);
    else
        lua_pushnil(L);
    int64_t kind;
    if (!apex_lua_tointeger(L, -1, &kind)) {
        lua_pop(L, 2);
        return apex_error_set(err,
                              "%s: wait_time: expected apex.between(a, b), "
                              "apex.constant(s), apex.constant_pacing(s) "
                              "or apex.constant_throughput(n)",
                              s->file);
    }
    lua_getfield(L, -2, "a");
    lua_getfield(L, -3, "b");
    s->wait.given = true;
    s->wait.kind = (int)kind;
    s->wait.a = lua_tonumber(L, -2);
    s->wait.b = lua_tonumber(L, -1);
    lua_pop(L, 4);
    return 0;
}

static void s_read_task(lua_State *L, int task, apex_script_task_t *t)
{
    lua_getfield(L, task, "name");
    t->name = apex_strdup(lua_tostring(L, -1));
    lua_getfield(L, task, "weight");
    t->weight = (unsigned)lua_tonumber(L, -1);
    lua_getfield(L, task, "tags");
    if (lua_istable(L, -1)) {
        t->ntags = apex_lua_rawlen(L, -1);
        t->tags = apex_calloc(t->ntags + 1, sizeof *t->tags);
        for (size_t i = 0; i < t->ntags; i++) {
            lua_rawgeti(L, -1, (int)i + 1);
            t->tags[i] = apex_strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 3);
}

static int s_read_class(lua_State *L, int cls, apex_script_t *s,
                        apex_error_t *err)
{
    const char *hooks[] = {"on_start", "on_stop"};
    bool *has[] = {&s->has_on_start, &s->has_on_stop};
    for (int i = 0; i < 2; i++) {
        lua_getfield(L, cls, hooks[i]);
        *has[i] = lua_isfunction(L, -1);
        bool bad = !lua_isnil(L, -1) && !*has[i];
        lua_pop(L, 1);
        if (bad)
            return apex_error_set(err, "%s: %s: expected a function", s->file,
                                  hooks[i]);
    }
    if (s_read_wait(L, cls, s, err) != 0)
        return -1;
    apex_script_push_tasks(L, cls);
    size_t n = apex_lua_rawlen(L, -1);
    if (n == 0) {
        lua_pop(L, 1);
        return apex_error_set(err,
                              "%s: defines no task (add one with "
                              "Class:task(name, weight, function(self) ... "
                              "end))",
                              s->file);
    }
    s->tasks = apex_calloc(n, sizeof *s->tasks);
    s->ntasks = n;
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        s_read_task(L, lua_gettop(L), &s->tasks[i]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

typedef struct {
    apex_script_t *s;  // what is read
    apex_error_t *err; // its error
    int rc;            // s_read_class()'s result
} s_read_t;

// s_read_class() in protected mode: a script's metatables may raise.
static int s_read_protected(lua_State *L)
{
    s_read_t *r = lua_touserdata(L, 2);
    r->rc = s_read_class(L, 1, r->s, r->err);
    return 0;
}

int apex_script_define(apex_script_t *s, const char *file, const char *src,
                       size_t len, const apex_script_host_t *host,
                       apex_error_t *err)
{
    s->file = apex_strdup(file);
    s->source = apex_strndup(src, len);
    s->len = len;
    apex_lua_t *sb = apex_lua_new(err);
    if (!sb)
        return -1;
    lua_State *L = apex_lua_state(sb);
    apex_script_open(L, host);
    int rc = apex_script_run(sb, file, src, len, err);
    if (rc == 0) {
        s_read_t r = {s, err, -1};
        lua_pushcfunction(L, s_read_protected);
        lua_insert(L, -2);
        lua_pushlightuserdata(L, &r);
        apex_lua_budget(sb);
        if (lua_pcall(L, 2, 0, 0) != LUA_OK)
            apex_error_set(err, "%s: %s", file, lua_tostring(L, -1));
        rc = r.rc;
    }
    apex_lua_destroy(&sb);
    return rc;
}

void apex_script_fini(apex_script_t *s)
{
    for (size_t i = 0; i < s->ntasks; i++) {
        free(s->tasks[i].name);
        for (size_t j = 0; j < s->tasks[i].ntags; j++)
            free(s->tasks[i].tags[j]);
        free(s->tasks[i].tags);
    }
    free(s->tasks);
    free(s->file);
    free(s->source);
    memset(s, 0, sizeof *s);
}
