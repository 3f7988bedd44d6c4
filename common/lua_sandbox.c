// common/lua_sandbox.c - see lua_sandbox.h.
//
// The state is made with our allocator, which counts the bytes the state
// holds and refuses to grow past APEX_LUA_MEMORY_MAX (the script then
// gets Lua's "not enough memory" error). LuaJIT's 64-bit builds may
// refuse a custom allocator; the state is then made with luaL_newstate()
// and only the instruction budget applies.
//
// The libraries are opened one by one (never luaL_openlibs(), which
// would bring io, os, package and debug), then the globals that reach
// outside the state are removed: dofile, loadfile, load, loadstring,
// collectgarbage, getfenv, setfenv, newproxy, string.dump, and os but
// for time, clock and date. print writes to the worker's log.
//
// The instruction budget is a count hook every S_HOOK_EVERY instructions
// on the main state (Lua 5.4 copies it to each new coroutine; LuaJIT's
// hooks are global), which raises an error once the steps since the last
// apex_lua_budget() pass APEX_LUA_BUDGET.
#include "common/lua_sandbox.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

#define S_HOOK_EVERY 10000 // instructions between two budget checks

struct apex_lua {
    lua_State *L;   // the state
    size_t used;    // bytes it holds (our allocator only)
    bool capped;    // our allocator is in use
    uint64_t steps; // instructions since the budget was started
};

static const char s_key = 0; // the registry key of the apex_lua_t

static void *s_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    apex_lua_t *self = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        self->used -= old;
        return NULL;
    }
    if (nsize > old && self->used + (nsize - old) > APEX_LUA_MEMORY_MAX)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        self->used = self->used - old + nsize;
    return p;
}

static int s_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    apex_err("unprotected Lua error: %s", msg ? msg : "?");
    abort();
}

static apex_lua_t *s_self(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    apex_lua_t *self = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return self;
}

static void s_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    apex_lua_t *self = s_self(L);
    if (!self)
        return;
    self->steps += S_HOOK_EVERY;
    if (self->steps > APEX_LUA_BUDGET)
        luaL_error(L,
                   "script ran too long without waiting (more than %d "
                   "instructions)",
                   APEX_LUA_BUDGET);
}

// print(...): the arguments, tab-separated, as one line of the log.
static int s_print(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s;
        lua_getglobal(L, "tostring");
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        s = lua_tolstring(L, -1, &len);
        if (!s)
            return luaL_error(L, "'tostring' must return a string to 'print'");
        if (i > 1)
            luaL_addchar(&b, '\t');
        luaL_addvalue(&b); // pops the string
        (void)len;
    }
    luaL_pushresult(&b);
    apex_info("script: %s", lua_tostring(L, -1));
    return 0;
}

static void s_open(lua_State *L, const char *name, lua_CFunction fn)
{
#if LUA_VERSION_NUM >= 502
    luaL_requiref(L, name, fn, 1);
    lua_pop(L, 1);
#else
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
#endif
}

// Keep only the listed fields of the global table name.
static void s_keep_only(lua_State *L, const char *name, const char *const *keep)
{
    lua_getglobal(L, name);
    lua_newtable(L);
    for (; *keep; keep++) {
        lua_getfield(L, -2, *keep);
        lua_setfield(L, -2, *keep);
    }
    lua_setglobal(L, name);
    lua_pop(L, 1);
}

// Open the safe libraries and remove what reaches outside (protected).
static int s_setup(lua_State *L)
{
    s_open(L, "_G", luaopen_base);
    s_open(L, LUA_TABLIBNAME, luaopen_table);
    s_open(L, LUA_STRLIBNAME, luaopen_string);
    s_open(L, LUA_MATHLIBNAME, luaopen_math);
    s_open(L, LUA_OSLIBNAME, luaopen_os);
#if LUA_VERSION_NUM >= 502
    s_open(L, LUA_COLIBNAME, luaopen_coroutine);
#endif
#if LUA_VERSION_NUM >= 503
    s_open(L, LUA_UTF8LIBNAME, luaopen_utf8);
#endif
    static const char *const removed[] = {
        "dofile",         "loadfile", "load",    "loadstring",
        "collectgarbage", "getfenv",  "setfenv", "newproxy",
        "require",        "module",   "package", "io",
        "debug",          "ffi",      "jit",     NULL};
    for (const char *const *r = removed; *r; r++) {
        lua_pushnil(L);
        lua_setglobal(L, *r);
    }
    static const char *const os_keep[] = {"time", "clock", "date", NULL};
    s_keep_only(L, "os", os_keep);
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    lua_pushcfunction(L, s_print);
    lua_setglobal(L, "print");
    return 0;
}

apex_lua_t *apex_lua_new(apex_error_t *err)
{
    apex_lua_t *self = apex_calloc(1, sizeof *self);
    self->L = lua_newstate(s_alloc, self);
    self->capped = self->L != NULL;
    if (!self->L)
        self->L = luaL_newstate();
    if (!self->L) {
        free(self);
        apex_error_set(err, "Lua: cannot create a state");
        return NULL;
    }
    lua_State *L = self->L;
    lua_atpanic(L, s_panic);
    lua_pushlightuserdata(L, (void *)&s_key);
    lua_pushlightuserdata(L, self);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, s_setup);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        apex_error_set(err, "Lua: cannot open its libraries: %s",
                       lua_tostring(L, -1));
        apex_lua_destroy(&self);
        return NULL;
    }
    lua_sethook(L, s_hook, LUA_MASKCOUNT, S_HOOK_EVERY);
    return self;
}

void apex_lua_destroy(apex_lua_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apex_lua_t *self = *self_p;
    lua_close(self->L);
    free(self);
    *self_p = NULL;
}

lua_State *apex_lua_state(const apex_lua_t *self)
{
    return self->L;
}

const char *apex_lua_version(void)
{
#ifdef APEX_LUAJIT
    return LUAJIT_VERSION;
#else
    return LUA_RELEASE;
#endif
}

int apex_lua_load(lua_State *L, const char *src, size_t len, const char *file,
                  apex_error_t *err)
{
    if (len > APEX_LUA_SCRIPT_MAX)
        return apex_error_set(err, "%s: too large: %zu bytes (at most %u)",
                              file, len, APEX_LUA_SCRIPT_MAX);
    if (memchr(src, '\0', len))
        return apex_error_set(err, "%s: not a text file (a NUL byte)", file);
    char *chunkname = apex_sprintf("@%s", file);
    int rc = luaL_loadbufferx(L, src, len, chunkname, "t");
    free(chunkname);
    if (rc == LUA_OK)
        return 0;
    apex_error_set(err, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
}

void apex_lua_budget(apex_lua_t *self)
{
    self->steps = 0;
}

int apex_lua_resume(lua_State *co, lua_State *from, int nargs, int *nres)
{
#if LUA_VERSION_NUM >= 504
    return lua_resume(co, from, nargs, nres);
#else
    (void)from;
    int rc = lua_resume(co, nargs);
    *nres = lua_gettop(co);
    return rc;
#endif
}

size_t apex_lua_rawlen(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 502
    return lua_rawlen(L, idx);
#else
    return lua_objlen(L, idx);
#endif
}

int apex_lua_absindex(lua_State *L, int idx)
{
    return idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : lua_gettop(L) + idx + 1;
}

bool apex_lua_tointeger(lua_State *L, int idx, int64_t *out)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        return false;
    lua_Number n = lua_tonumber(L, idx);
    if (!(n >= -9007199254740992.0 && n <= 9007199254740992.0) ||
        n != (lua_Number)(int64_t)n)
        return false;
    *out = (int64_t)n;
    return true;
}

int apex_lua_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

size_t apex_lua_memory(const apex_lua_t *self)
{
    if (self->capped)
        return self->used;
    return (size_t)lua_gc(self->L, LUA_GCCOUNT, 0) * 1024u;
}
