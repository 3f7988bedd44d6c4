// worker/ws_upgrade.h - the client's half of the WebSocket opening
// handshake (RFC 6455 section 4): our HTTP/1.1 upgrade request with a
// fresh Sec-WebSocket-Key, and the server's response parsed by Debian's
// http-parser and checked (101, Upgrade: websocket, Connection: upgrade,
// Sec-WebSocket-Accept = base64(SHA-1(key + GUID))). It lives only while
// the handshake does, so an open connection does not pay for it.
#ifndef WORKER_WS_UPGRADE_H
#define WORKER_WS_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "worker/stream.h"

typedef struct worker_ws_upgrade worker_ws_upgrade_t; // opaque

typedef enum {
    WORKER_WS_UPGRADE_MORE,  // not finished: wait for the stream
    WORKER_WS_UPGRADE_DONE,  // this half is done
    WORKER_WS_UPGRADE_FAILED // failed: the error text says why
} worker_ws_upgrade_status_t;

#define WORKER_WS_UPGRADE_ERROR_MAX 256 // bytes of a failure text

// The request for target ("/ws/echo?x=1") on host:port; headers are
// extra "Name: value" lines (NULL-terminated, or NULL), protocols a
// Sec-WebSocket-Protocol value or NULL; the key's bytes come from rng.
worker_ws_upgrade_t *worker_ws_upgrade_new(const char *host, int port, bool tls,
                                           const char *target,
                                           const char *const *headers,
                                           const char *protocols,
                                           uint64_t *rng);

// Free *self_p and set it to NULL.
void worker_ws_upgrade_destroy(worker_ws_upgrade_t **self_p);

// Write what is left of the request to stream (*sent counts the bytes):
// DONE when all of it is out, MORE when the stream is full, FAILED.
worker_ws_upgrade_status_t worker_ws_upgrade_write(worker_ws_upgrade_t *self,
                                                   worker_stream_t *stream,
                                                   uint64_t *sent);

// Read the response from stream (*received counts the bytes): DONE when
// the server switched protocols (bytes that came after the headers are
// appended to early: they are frames), MORE, or FAILED.
worker_ws_upgrade_status_t worker_ws_upgrade_read(worker_ws_upgrade_t *self,
                                                  worker_stream_t *stream,
                                                  apex_buf_t *early,
                                                  uint64_t *received);

// The same on bytes already read (n of them at buf): what
// worker_ws_upgrade_read() does with each read.
worker_ws_upgrade_status_t worker_ws_upgrade_feed(worker_ws_upgrade_t *self,
                                                  const char *buf, size_t n,
                                                  apex_buf_t *early);

// Why it failed (a Python-style exception text), after FAILED.
const char *worker_ws_upgrade_error(const worker_ws_upgrade_t *self);

// The subprotocol the server chose, or "" (after DONE).
const char *worker_ws_upgrade_protocol(const worker_ws_upgrade_t *self);

#endif
