// worker/script_int.h - internal to the scripted users' files
// (script.c the runtime and coroutines, script_http.c requests and
// responses, script_lib.c the rest of the library): their shared state.
#ifndef WORKER_SCRIPT_INT_H
#define WORKER_SCRIPT_INT_H

#include "common/buf.h"
#include "common/lua_sandbox.h"
#include "proto/proto.h"
#include "worker/script.h"

typedef struct worker_script_req worker_script_req_t; // script_http.c
typedef struct worker_script_sql worker_script_sql_t; // script_sql.c

// A scripted class in the engine's state (NULL refs for JSON classes).
typedef struct {
    bool scripted;    // the class is a script
    int mt_ref;       // its users' metatable {__index = class}
    int *task_refs;   // per model task: its function
    int on_start_ref; // on_start, or LUA_NOREF
    int on_stop_ref;  // on_stop, or LUA_NOREF
} worker_script_class_t;

typedef struct {
    char name[PROTO_METRIC_NAME_MAX + 1]; // "orders"
    int64_t value;                        // since the engine began
} worker_script_counter_t;

typedef struct {
    char *name;      // the check's name
    uint64_t passes; // since the last clear
    uint64_t fails;  // since the last clear
} worker_script_named_check_t;

struct worker_script {
    worker_engine_t *engine;        // owner
    apex_lua_t *sb;                 // the sandboxed state
    lua_State *L;                   // its main thread
    uint64_t rng;                   // apex.random*()
    worker_user_t *current;         // the user whose coroutine runs
    worker_script_class_t *classes; // per engine class
    size_t nclasses;                // their number
    worker_script_req_t **buckets;  // request shapes (a hash table)
    size_t nbuckets;                // its size (a power of two)
    size_t nreqs;                   // shapes in it
    size_t nfixed;                  // those with a fixed URL
    worker_script_sql_t **queries;  // SQL query shapes (script_sql.c)
    size_t nqueries;                // their number
    apex_buf_t key;                 // scratch: a shape's key
    apex_buf_t url;                 // scratch: a request's URL
    apex_buf_t body;                // scratch: a JSON body
    apex_buf_t check;               // scratch: a check= table's text
    apex_stats_t *trends;           // apex.trend() values (x1000)
    worker_script_counter_t counters[WORKER_SCRIPT_MAX_COUNTERS];
    size_t ncounters;                    // counters used
    worker_script_named_check_t *checks; // apex.check() names of scripts
    size_t nchecks;                      // their number
    worker_exception_t exceptions[WORKER_SCRIPT_MAX_EXCEPTIONS];
    size_t nexceptions;       // since the last take
    uint64_t lost_exceptions; // beyond the table (logged)
};

struct worker_script_user {
    lua_State *co;                    // its coroutine (reused by tasks)
    int co_ref;                       // keeps co alive
    int self_ref;                     // its table `self`
    const worker_script_req_t *req;   // the request in flight, or NULL
    const worker_script_sql_t *query; // the SQL query in flight, or NULL
    apex_step_t *sleep;               // its sleep step (at the first sleep)
    void *sleep_plan;                 // the sleep kind's plan of it
    bool begun;                       // began its life (on_start or a task)
    bool on_stop;                     // runs on_stop, then goes
};

// The running user of L (the coroutine that called): raises a Lua error
// when L is not a user's coroutine (the top level, a coroutine of the
// script's own). Never returns NULL.
worker_user_t *worker_script_caller(lua_State *L);

// script_http.c: put self:http(), get(), post(), put(), patch(),
// delete(), head() and options() on the user base table at the top.
void worker_script_http_open(lua_State *L);

// script_http.c: record the request u had in flight (stats, failure)
// and push its response on u's coroutine.
void worker_script_http_done(worker_user_t *u, const worker_result_t *r);

// script_http.c: free every request shape (their plans first).
void worker_script_http_free(worker_script_t *self);

// script_http.c: a template of user variable var ("${var}").
apex_template_t *worker_script_var_template(const apex_scenario_t *sc,
                                            const char *var);

// script_http.c: set u's variable slot to text (a copy, not JSON).
void worker_script_set_var(worker_user_t *u, size_t slot, const char *text);

// script_sql.c: put self:sql() on the user base table at the top.
void worker_script_sql_open(lua_State *L);

// script_sql.c: record the query u had in flight and push its result on
// u's coroutine.
void worker_script_sql_done(worker_user_t *u, const worker_result_t *r);

// script_sql.c: free every query shape (their plans first).
void worker_script_sql_free(worker_script_t *self);

// script_lib.c: put self:sleep() on the user base table at the top, and
// apex.data(), apex.check(), apex.trend(), apex.counter() and
// apex.user_index() on the global apex.
void worker_script_lib_open(lua_State *L);

// script_lib.c: count a check called name (the scenario's slot when it
// has one, else the scripts' own table); -1 when that table is full.
int worker_script_count_check(worker_script_t *self, const char *name, bool ok);

// script_lib.c: free the sleep step of a user's script part.
void worker_script_lib_user_free(worker_script_t *self,
                                 worker_script_user_t *su);

// script.c: start step on u through its kind (u->in_flight on success);
// raises a Lua error on L when the kind cannot start it.
void worker_script_start_step(lua_State *L, worker_user_t *u,
                              const worker_step_t *step);

#endif
