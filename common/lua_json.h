// common/lua_json.h - JSON for scripts: Lua values to and from jansson
// (the JSON library the whole tree uses), as the script library's
// apex.json.encode(), apex.json.decode(), apex.json.null and
// apex.json.array().
//
// Mapping: objects are tables with string keys; arrays are tables
// 1..n marked with a metatable (apex.json.array(t) marks one, so an
// empty array encodes as [] and survives a round trip); null is the
// light userdata apex.json.null; numbers without a fraction are
// integers. A table encodes as an array when it is marked or its keys
// are exactly 1..n (n > 0), else as an object whose keys are strings
// (number keys are written as text). Functions, threads, userdata, NaN
// and infinities, cycles and nesting deeper than APEX_LUA_JSON_DEPTH are
// errors that say where ("$.items[2].price: NaN").
#ifndef APEX_LUA_JSON_H
#define APEX_LUA_JSON_H

#include <jansson.h>

#include "common/error.h"
#include "common/lua_sandbox.h"

#define APEX_LUA_JSON_DEPTH 64 // nesting a value may have

// Push the Lua value of v (NULL pushes nil).
void apex_lua_json_push(lua_State *L, const json_t *v);

// The JSON of the Lua value at idx: a new reference the caller owns, or
// NULL with err set ("$.a[1]: a function cannot be JSON").
json_t *apex_lua_json_from(lua_State *L, int idx, apex_error_t *err);

// Decode text (len bytes) and push the value; -1 with err set
// ("line 1, column 5: ...") and nothing pushed.
int apex_lua_json_decode(lua_State *L, const char *text, size_t len,
                         apex_error_t *err);

// Push the table {encode, decode, null, array} (the script library's
// apex.json).
void apex_lua_json_open(lua_State *L);

#endif
