// common/lua_json.c - see lua_json.h. Decoding is jansson's (with its
// limits, JSON_DECODE_ANY and NUL bytes allowed in strings), then one
// walk that pushes tables; encoding walks the Lua value into a json_t and
// lets jansson write it. The array marker is one metatable kept in the
// registry, shared by every decoded array.
#include "common/lua_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

static const char s_array_key = 0; // registry key of the array metatable

// Push the array metatable (nil when apex_lua_json_open() never ran).
static void s_push_array_mt(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s_array_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

static void s_push(lua_State *L, const json_t *v, int depth)
{
    size_t i;
    const char *key;
    json_t *item;
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, key, item)
        {
            s_push(L, item, depth + 1);
            lua_setfield(L, -2, key);
        }
        break;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, item)
        {
            s_push(L, item, depth + 1);
            lua_rawseti(L, -2, (int)i + 1);
        }
        s_push_array_mt(L);
        if (lua_istable(L, -1))
            lua_setmetatable(L, -2);
        else
            lua_pop(L, 1);
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(v));
        break;
    case JSON_NULL:
        lua_pushlightuserdata(L, NULL);
        break;
    }
}

void apex_lua_json_push(lua_State *L, const json_t *v)
{
    if (!v)
        lua_pushnil(L);
    else
        s_push(L, v, 0);
}

int apex_lua_json_decode(lua_State *L, const char *text, size_t len,
                         apex_error_t *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text ? text : "", text ? len : 0,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return apex_error_set(err, "line %d, column %d: %s", jerr.line,
                              jerr.column, jerr.text);
    s_push(L, v, 0);
    json_decref(v);
    return 0;
}

// ---------------------------------------------------------------------
// Lua to JSON

typedef struct {
    lua_State *L;      // the state
    apex_buf_t path;   // "$.a[2]" of the value being converted
    apex_error_t *err; // where the first error goes
} s_enc_t;

static json_t *s_from(s_enc_t *e, int idx, int depth);

static json_t *s_fail(s_enc_t *e, const char *what)
{
    apex_error_set(e->err, "%s: %s", apex_buf_str(&e->path), what);
    return NULL;
}

// True when the table at idx is an array: marked, or keys 1..n, n > 0.
static bool s_is_array(lua_State *L, int idx, size_t *n)
{
    *n = apex_lua_rawlen(L, idx);
    if (lua_getmetatable(L, idx)) {
        s_push_array_mt(L);
        bool marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (marked)
            return true;
    }
    if (*n == 0)
        return false;
    size_t keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys++;
        if (lua_type(L, -1) != LUA_TNUMBER || keys > *n) {
            lua_pop(L, 1);
            return false;
        }
    }
    return keys == *n;
}

static json_t *s_from_array(s_enc_t *e, int idx, size_t n, int depth)
{
    json_t *a = json_array();
    size_t old = e->path.len;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(e->L, idx, (int)i);
        apex_buf_printf(&e->path, "[%zu]", i - 1);
        json_t *item = s_from(e, lua_gettop(e->L), depth + 1);
        lua_pop(e->L, 1);
        e->path.len = old;
        e->path.data[old] = '\0';
        if (!item) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, item);
    }
    return a;
}

static json_t *s_from_object(s_enc_t *e, int idx, int depth)
{
    lua_State *L = e->L;
    json_t *o = json_object();
    size_t old = e->path.len;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
            lua_pop(L, 2);
            json_decref(o);
            return s_fail(e, "a table key that is not a string or number");
        }
        lua_pushvalue(L, -2); // tolstring would turn a number key to text
        size_t klen;
        const char *key = lua_tolstring(L, -1, &klen);
        apex_buf_printf(&e->path, ".%s", key);
        json_t *item = s_from(e, lua_gettop(L) - 1, depth + 1);
        e->path.len = old;
        e->path.data[old] = '\0';
        if (!item) {
            lua_pop(L, 3);
            json_decref(o);
            return NULL;
        }
        json_object_setn_new(o, key, klen, item);
        lua_pop(L, 2); // the copy of the key and the value
    }
    return o;
}

static json_t *s_number(s_enc_t *e, int idx)
{
    lua_State *L = e->L;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx))
        return json_integer((json_int_t)lua_tointeger(L, idx));
#endif
    lua_Number n = lua_tonumber(L, idx);
    if (!isfinite(n))
        return s_fail(e, "NaN or infinity cannot be JSON");
    int64_t i;
    if (apex_lua_tointeger(L, idx, &i))
        return json_integer((json_int_t)i);
    return json_real(n);
}

static json_t *s_from(s_enc_t *e, int idx, int depth)
{
    lua_State *L = e->L;
    size_t len;
    const char *s;
    if (depth > APEX_LUA_JSON_DEPTH)
        return s_fail(e, "nested too deeply (or a table holds itself)");
    luaL_checkstack(L, 6, "JSON nested too deeply");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return json_null();
        return s_fail(e, "a userdata cannot be JSON");
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return s_number(e, idx);
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        return json_stringn_nocheck(s, len);
    case LUA_TTABLE: {
        size_t n;
        if (s_is_array(L, idx, &n))
            return s_from_array(e, idx, n, depth);
        return s_from_object(e, idx, depth);
    }
    default:
        return s_fail(e, lua_typename(L, lua_type(L, idx)));
    }
}

json_t *apex_lua_json_from(lua_State *L, int idx, apex_error_t *err)
{
    s_enc_t e = {.L = L, .err = err};
    apex_buf_init(&e.path);
    apex_buf_puts(&e.path, "$");
    json_t *v = s_from(&e, apex_lua_absindex(L, idx), 0);
    apex_buf_fini(&e.path);
    return v;
}

// ---------------------------------------------------------------------
// The library

static int s_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    apex_error_t err = {""};
    json_t *v = apex_lua_json_from(L, 1, &err);
    if (!v)
        return luaL_error(L, "apex.json.encode: %s", err.msg);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!text)
        return luaL_error(L, "apex.json.encode: cannot write the value");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

static int s_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    apex_error_t err = {""};
    if (apex_lua_json_decode(L, text, len, &err) != 0)
        return luaL_error(L, "apex.json.decode: %s", err.msg);
    return 1;
}

static int s_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    else
        luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    s_push_array_mt(L);
    lua_setmetatable(L, 1);
    return 1;
}

void apex_lua_json_open(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&s_array_key);
    lua_newtable(L);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_rawset(L, LUA_REGISTRYINDEX);
    static const luaL_Reg fns[] = {{"encode", s_encode},
                                   {"decode", s_decode},
                                   {"array", s_array},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
}
