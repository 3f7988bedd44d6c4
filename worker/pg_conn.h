// worker/pg_conn.h - one PostgreSQL connection on the worker's loop, with
// libpq's asynchronous API only: the host name resolved off the loop
// (worker/resolve.h), PQconnectStartParams/PQconnectPoll driven by the
// socket's readiness, then commands the owner sends with libpq's PQsend*
// functions, whose results this module reads when the socket is readable
// (PQconsumeInput, PQisBusy, PQgetResult) and whose output it flushes when
// it is writable (PQflush). No call here ever blocks the loop.
#ifndef WORKER_PG_CONN_H
#define WORKER_PG_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "common/error.h"
#include "common/loop.h"
#include "worker/resolve.h"

typedef struct worker_pg worker_pg_t;               // opaque
typedef struct worker_pg_target worker_pg_target_t; // opaque

// What the owner hears. Every event comes from the loop, never from a
// call the owner made; the owner may destroy the connection in any.
typedef struct {
    // The connection is open and idle: commands may be sent.
    void (*on_open)(void *arg);
    // One result of the command in flight; the owner PQclear()s it.
    void (*on_result)(void *arg, PGresult *result);
    // The command in flight is over (every result was delivered). The
    // connection may have been lost meanwhile: see worker_pg_ok().
    void (*on_done)(void *arg);
    // The connection failed to open, or was lost while no command was in
    // flight; error is libpq's first line ("connection to server at
    // ... failed: Connection refused"). Only destroy remains.
    void (*on_close)(void *arg, const char *error);
} worker_pg_events_t;

// What the connections of a kind share.
typedef struct {
    apex_loop_t *loop;           // the loop
    worker_resolver_t *resolver; // host names
} worker_pg_env_t;

// A libpq connection string or URL parsed once: a new target the caller
// owns, or NULL with err set to libpq's message ("missing \"=\" after
// ..."). A single host name (not an address, not a socket folder) is
// resolved off the loop when a connection opens; everything else is
// libpq's business.
worker_pg_target_t *worker_pg_target_new(const char *conninfo,
                                         apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void worker_pg_target_destroy(worker_pg_target_t **self_p);

// Start connecting to target, with statement_timeout set to timeout_ms
// for the session (in the startup packet's options). on_open or
// on_close follows. NULL with err set when libpq refuses at once.
worker_pg_t *worker_pg_open(const worker_pg_env_t *env,
                            const worker_pg_target_t *target, long timeout_ms,
                            const worker_pg_events_t *events, void *arg,
                            apex_error_t *err);

// The libpq connection, for PQsend* calls once open (borrowed).
PGconn *worker_pg_conn(worker_pg_t *self);

// After a successful PQsend* on worker_pg_conn(): flush and wait for its
// results (on_result for each, then on_done). 0, or -1 with err set
// (the command was not sent; the connection is probably lost).
int worker_pg_sent(worker_pg_t *self, apex_error_t *err);

// True while the connection is open (libpq's CONNECTION_OK).
bool worker_pg_ok(const worker_pg_t *self);

// Close the connection (libpq's Terminate, without waiting) and free
// *self_p; a command in flight is abandoned. Safe on NULL.
void worker_pg_destroy(worker_pg_t **self_p);

// The first line of text with runs of white space as one space, into
// out (size bytes): how libpq's messages become failure texts.
void worker_pg_first_line(const char *text, char *out, size_t size);

#endif
