// common/lua_sandbox.h - a sandboxed Lua state for scripted users: only
// the base, string, table, math (and utf8 on Lua 5.4) libraries and
// os.time/os.clock/os.date; no io, no package or require, no debug, no
// loading of binary chunks or files, no string.dump, no collectgarbage,
// no LuaJIT ffi or jit. Memory is capped per state and every resume of a
// coroutine has an instruction budget, so a script cannot take the
// worker's memory or hold its event loop forever.
//
// The same code builds against Debian's liblua5.4-dev and
// libluajit-5.1-dev (LuaJIT 2.1, the Lua 5.1 API): the few calls that
// differ are wrapped here (apex_lua_resume, apex_lua_rawlen, ...).
#ifndef APEX_LUA_SANDBOX_H
#define APEX_LUA_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#ifdef LUA_JITLIBNAME // LuaJIT's lualib.h names its extra libraries
#include <luajit.h>
#define APEX_LUAJIT 1
#endif

#include "common/error.h"

#ifndef APEX_LUA_MEMORY_MAX // (the fuzz targets build with smaller limits)
#define APEX_LUA_MEMORY_MAX (1024u * 1024u * 1024u) // bytes per state
#endif
#ifndef APEX_LUA_BUDGET
#define APEX_LUA_BUDGET 100000000 // instructions per resume (or per load)
#endif
#define APEX_LUA_SCRIPT_MAX (1024u * 1024u) // bytes of one script

typedef struct apex_lua apex_lua_t; // opaque: a state and its limits

// A new sandboxed state. NULL with err set when Lua cannot start.
apex_lua_t *apex_lua_new(apex_error_t *err);

// Close the state and free *self_p; sets it NULL, ignores NULL.
void apex_lua_destroy(apex_lua_t **self_p);

// The state (borrowed: lives as long as self).
lua_State *apex_lua_state(const apex_lua_t *self);

// Which Lua this binary runs ("Lua 5.4", "LuaJIT 2.1.0-beta3").
const char *apex_lua_version(void);

// Compile script text (never bytecode) as a function pushed on L, with
// chunk name "@file" so errors read "file:LINE: message". 0, or -1 with
// err set to Lua's message ("shopper.lua:3: '=' expected near 'x'")
// and nothing pushed.
int apex_lua_load(lua_State *L, const char *src, size_t len, const char *file,
                  apex_error_t *err);

// Start the instruction budget of a resume or call about to run on the
// state: a script that runs APEX_LUA_BUDGET instructions without
// yielding fails with "script ran too long without waiting". (LuaJIT
// does not count instructions in compiled traces.)
void apex_lua_budget(apex_lua_t *self);

// Resume coroutine co with nargs arguments on its stack (the Lua 5.4
// and 5.1 calls differ); *nres gets the number of values it yielded or
// returned. Returns LUA_OK, LUA_YIELD or an error code (the message on
// co's stack).
int apex_lua_resume(lua_State *co, lua_State *from, int nargs, int *nres);

// The length of the table or string at idx (lua_rawlen / lua_objlen).
size_t apex_lua_rawlen(lua_State *L, int idx);

// idx as an absolute stack index.
int apex_lua_absindex(lua_State *L, int idx);

// The value at idx as an integer when it is a number with no fraction
// within +-2^53: true and *out set, else false.
bool apex_lua_tointeger(lua_State *L, int idx, int64_t *out);

// A message handler for lua_pcall: the message plus Lua's traceback.
int apex_lua_traceback(lua_State *L);

// Bytes the state holds now.
size_t apex_lua_memory(const apex_lua_t *self);

#endif
