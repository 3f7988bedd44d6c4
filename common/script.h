// common/script.h - scripted user classes: a Lua file that defines one
// user class the way a Locust locustfile does, and the part of the
// script library (the global `apex`) that needs no running user:
//
//   local Shopper = apex.user{wait_time = apex.between(0.5, 2)}
//   function Shopper:on_start() ... end             -- optional
//   function Shopper:on_stop() ... end              -- optional
//   Shopper:task("browse", 3, function(self) ... end)
//   Shopper:task("buy", {weight = 1, tags = {"checkout"}},
//                function(self) ... end)
//   return Shopper
//
// apex.between(a, b), apex.constant(s), apex.constant_pacing(s) and
// apex.constant_throughput(n) are the wait times; apex.env(name
// [, default]) an environment value (as the master saw it), apex.json
// (common/lua_json.h), apex.random_int(a, b), apex.random(),
// apex.random_string(n), apex.uuid() and apex.now_ms() helpers. A worker
// adds what needs a running user (requests, data rows, checks, metrics:
// worker/script_lib.c).
//
// Loading a scenario runs each script once in a sandbox
// (common/lua_sandbox.h) to read its class: tasks, weights, tags, wait
// time, on_start and on_stop. A script that does not compile, or fails
// while it defines its class, is a scenario error with file and line:
// "shopper.lua:12: '=' expected near 'x'".
#ifndef APEX_SCRIPT_H
#define APEX_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/lua_sandbox.h"

#define APEX_SCRIPT_MAX_TASKS 256    // per class
#define APEX_SCRIPT_NAME_MAX 128     // bytes of a task name or a tag
#define APEX_SCRIPT_MAX_TAGS 64      // per task
#define APEX_SCRIPT_MAX_WEIGHT 10000 // as APEX_SCENARIO_MAX_WEIGHT

// What a script reads from the process that runs it.
typedef struct {
    // apex.env(name): *value gets the text, or NULL when unset (borrowed
    // until the next call). 0, or -1 with err set.
    int (*env)(void *arg, const char *name, const char **value,
               apex_error_t *err);
    void *arg;     // passed to env
    uint64_t *rng; // the PRNG of apex.random*() (xorshift64*, != 0)
} apex_script_host_t;

typedef struct {
    char *name;      // task name ("browse")
    unsigned weight; // 1 .. APEX_SCRIPT_MAX_WEIGHT
    char **tags;     // its tags
    size_t ntags;    // their number
} apex_script_task_t;

// The wait time a class gives: kind and parameters as in
// common/scenario.h's apex_wait_t (the same numbers).
typedef struct {
    bool given; // the class sets a wait_time
    int kind;   // apex_wait_kind_t
    double a;   // first parameter
    double b;   // second parameter (between)
} apex_script_wait_t;

typedef struct {
    char *file;                // the file name the scenario gives
    char *source;              // the script text
    size_t len;                // its length
    apex_script_task_t *tasks; // tasks, in the order defined
    size_t ntasks;             // their number (>= 1)
    apex_script_wait_t wait;   // the class's wait time
    bool has_on_start;         // it defines on_start
    bool has_on_stop;          // it defines on_stop
} apex_script_t;

// Open the library on L as the global `apex` (host is copied).
void apex_script_open(lua_State *L, const apex_script_host_t *host);

// Run a script's chunk on sb's state (the library open) and push its
// class table. 0, or -1 with err set ("file:LINE: message") and nothing
// pushed.
int apex_script_run(apex_lua_t *sb, const char *file, const char *src,
                    size_t len, apex_error_t *err);

// The class table at idx: push its tasks list (each {name=, weight=,
// tags=, fn=}, in order).
void apex_script_push_tasks(lua_State *L, int idx);

// Read a script's class in a new sandbox: fill s (file and source copied
// from the arguments). 0, or -1 with err set; s is then half filled and
// apex_script_fini() frees it either way.
int apex_script_define(apex_script_t *s, const char *file, const char *src,
                       size_t len, const apex_script_host_t *host,
                       apex_error_t *err);

// Free what s holds; s is zeroed.
void apex_script_fini(apex_script_t *s);

#endif
