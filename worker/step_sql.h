// worker/step_sql.h - the SQL step kind: PostgreSQL queries with libpq's
// asynchronous API on the worker's loop (worker/pg_conn.h). Each user has
// one connection per database it queries, opened by its first step there
// and kept until the user goes; each query is prepared once per
// connection and executed with its parameters bound ($1, $2, ...).
#ifndef WORKER_STEP_SQL_H
#define WORKER_STEP_SQL_H

#include <stdint.h>

#include "worker/kind.h"

// Run-wide SQL figures of one engine (counts since it started).
typedef struct {
    uint64_t opened;           // connections that opened
    int64_t open;              // open now
    uint64_t connect_failures; // connection attempts that failed
    uint64_t dropped;          // open connections the server closed or lost
    uint64_t closed;           // closed by us (a user going, a timeout)
} worker_sql_counters_t;

extern const worker_kind_ops_t worker_step_sql_ops;

// The figures of the SQL kind state kind (an engine's).
const worker_sql_counters_t *
worker_step_sql_counters(const worker_kind_t *kind);

#endif
