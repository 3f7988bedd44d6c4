// worker/worker.h - an apex-worker process: the Locust worker protocol
// over a ZeroMQ DEALER (registration, heartbeats, stats every 3 s,
// spawn/stop/quit/reconnect) driving a load engine, all on one event
// loop so master traffic never waits behind request I/O or vice versa.
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include "common/error.h"

typedef struct {
    const char *master_host;       // master address (default 127.0.0.1)
    int master_port;               // master port (default 5557)
    const char *scenario_path;     // -f FILE, or NULL: use the master's
    const char *master_public_key; // --master-public-key FILE|KEY: CURVE
    const char *worker_key;        // --worker-key FILE, or NULL: a new
                                   // pair
    int http_engine;               // --engine (apex_http_engine_t), 0
                                   // unset; a master's wins
    int http_debug;                // --http-debug level; a master's wins
} worker_options_t;

typedef struct worker worker_t; // opaque

// Set up (loop, engine, socket, signals); NULL with err set on failure.
// SIGINT and SIGTERM must be blocked in the calling thread beforehand.
worker_t *worker_new(const worker_options_t *options, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void worker_destroy(worker_t **self_p);

// Run until the master says quit, a signal arrives or the master is gone.
// Returns the process exit code.
int worker_run(worker_t *self);

#endif
