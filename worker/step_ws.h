// worker/step_ws.h - the WebSocket step kind: each user owns a WebSocket
// connection (worker/ws_conn.h) across its steps: connect, send, receive
// (a message matching a JSON path, a regex or a text), request (send,
// then the reply carrying the same correlation value: its latency is the
// message latency), listen (server pushes for a time or a count, with
// push latency from a server timestamp), ping (round trip), close.
#ifndef WORKER_STEP_WS_H
#define WORKER_STEP_WS_H

#include <stdint.h>

#include "worker/kind.h"

// Run-wide WebSocket figures of one engine (counts since it started).
typedef struct {
    uint64_t opened;           // connections that got through the upgrade
    int64_t open;              // open now
    uint64_t closed;           // closed by us (a close step, a reconnect)
    uint64_t dropped;          // closed by the server or lost, not by us
    uint64_t connect_failures; // connects that never opened
    uint64_t msgs_sent;        // messages sent
    uint64_t msgs_received;    // messages received
    uint64_t bytes_sent;       // their payload bytes
    uint64_t bytes_received;   // likewise
} worker_ws_counters_t;

extern const worker_kind_ops_t worker_step_ws_ops;

// The figures of the WebSocket kind state kind (an engine's).
const worker_ws_counters_t *worker_step_ws_counters(const worker_kind_t *kind);

#endif
