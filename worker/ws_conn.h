// worker/ws_conn.h - one WebSocket client connection (RFC 6455) on the
// worker's loop: name resolution (worker/resolve.h), TCP or TLS
// (worker/stream.h), the HTTP/1.1 upgrade (our request; the response
// parsed with Debian's http-parser, Sec-WebSocket-Accept checked), then
// frames with Debian's wslay (masking, fragmentation, pings, the close
// handshake). A connection holds only its socket, wslay's context and
// what it is sending: no libcurl handle.
#ifndef WORKER_WS_CONN_H
#define WORKER_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/loop.h"
#include "worker/resolve.h"
#include "worker/stream.h"

typedef struct worker_ws worker_ws_t; // opaque

#define WORKER_WS_TEXT 0x1      // a text message (UTF-8)
#define WORKER_WS_BINARY 0x2    // a binary message
#define WORKER_WS_NORMAL 1000   // close code: normal closure
#define WORKER_WS_ABNORMAL 1006 // no close frame was received

// What the owner hears. Every event comes from the loop, never from a
// call the owner made; the owner may destroy the connection in any.
typedef struct {
    // The upgrade succeeded; protocol is the server's subprotocol or "".
    void (*on_open)(void *arg, const char *protocol);
    // A text or binary message (opcode WORKER_WS_TEXT or _BINARY).
    void (*on_message)(void *arg, int opcode, const uint8_t *data, size_t len);
    // A pong (an answer to worker_ws_ping(), or unsolicited).
    void (*on_pong)(void *arg, const uint8_t *data, size_t len);
    // The connection is over: code is the server's close code (or
    // WORKER_WS_ABNORMAL); error is why when it failed (a connect,
    // handshake, protocol or I/O error), NULL after a clean close.
    // by_us is true when our worker_ws_close() started the close.
    void (*on_close)(void *arg, int code, const char *error, bool by_us);
} worker_ws_events_t;

// What every connection of a kind shares.
typedef struct {
    apex_loop_t *loop;           // the loop
    worker_resolver_t *resolver; // names
    worker_tls_ctx_t *tls;       // for wss:// (NULL: wss fails)
    uint64_t *rng;               // masks and keys
    size_t max_message;          // larger messages close with 1009
} worker_ws_env_t;

// Start connecting to url (ws:// or wss://). headers are extra request
// header lines ("Name: value", NULL-terminated array, or NULL);
// protocols a comma-separated Sec-WebSocket-Protocol value, or NULL.
// NULL with err set for a URL that is not ws:// or wss://.
worker_ws_t *worker_ws_open(const worker_ws_env_t *env, const char *url,
                            const char *const *headers, const char *protocols,
                            const worker_ws_events_t *events, void *arg,
                            apex_error_t *err);

// Queue a message (opcode WORKER_WS_TEXT or _BINARY); 0, or -1 when the
// connection is not open.
int worker_ws_send(worker_ws_t *self, int opcode, const void *data, size_t len);

// Queue a ping with this payload (at most 125 bytes); 0 or -1.
int worker_ws_ping(worker_ws_t *self, const void *data, size_t len);

// Start the close handshake with code and reason; on_close follows when
// the server answers (or the connection fails).
void worker_ws_close(worker_ws_t *self, int code, const char *reason);

// True once on_open was delivered and until the close starts.
bool worker_ws_is_open(const worker_ws_t *self);

// Bytes sent and received on the connection so far (frames and upgrade).
uint64_t worker_ws_bytes_sent(const worker_ws_t *self);
uint64_t worker_ws_bytes_received(const worker_ws_t *self);

// Drop the connection at once (no close frame) and free *self_p.
void worker_ws_destroy(worker_ws_t **self_p);

#endif
