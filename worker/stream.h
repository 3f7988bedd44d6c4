// worker/stream.h - a byte stream over TCP or TLS on the worker's loop:
// a non-blocking connect, an optional TLS handshake (OpenSSL), then reads
// and writes that never block, with readiness reported through one
// callback. Step kinds that own their connections (WebSocket today) build
// on it; libcurl steps do not need it.
//
// Errors are worded as Python words them, so failures from apex and
// Locust workers read alike: "ConnectionRefusedError(111, 'Connection
// refused')", "ConnectionResetError(104, 'Connection reset by peer')",
// "SSLError('certificate verify failed: ...')".
#ifndef WORKER_STREAM_H
#define WORKER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/loop.h"

typedef struct worker_stream worker_stream_t; // opaque
typedef struct ssl_ctx_st worker_tls_ctx_t;   // OpenSSL's SSL_CTX

typedef enum {
    WORKER_STREAM_CONNECTED, // TCP (and TLS) is up: read and write
    WORKER_STREAM_READABLE,  // worker_stream_read() has something
    WORKER_STREAM_WRITABLE,  // worker_stream_write() can take more
    WORKER_STREAM_FAILED     // connect, TLS or I/O failed: see the text
} worker_stream_event_t;

// What happened; error is the failure text for WORKER_STREAM_FAILED. The
// callback may destroy the stream.
typedef void(worker_stream_fn)(void *arg, worker_stream_event_t event,
                               const char *error);

// TLS settings shared by the streams of a kind.
typedef struct {
    bool verify;         // check the certificate and the host name
    const char *ca_file; // CA bundle (PEM), or NULL for the system's
} worker_tls_options_t;

// A client TLS context (the caller frees it with worker_tls_ctx_free()),
// or NULL with err set ("tls: cannot read CA file X: ...").
worker_tls_ctx_t *worker_tls_ctx_new(const worker_tls_options_t *options,
                                     apex_error_t *err);
void worker_tls_ctx_free(worker_tls_ctx_t *ctx);

// Start connecting to addr; with tls, then shake hands with server_name
// as SNI and, when verifying, as the name the certificate must carry.
// fn(arg, ...) reports CONNECTED or FAILED later, never from here. NULL
// with err set when no socket can be made.
worker_stream_t *worker_stream_connect(apex_loop_t *loop,
                                       const struct sockaddr *addr,
                                       socklen_t addrlen, worker_tls_ctx_t *tls,
                                       const char *server_name,
                                       worker_stream_fn *fn, void *arg,
                                       apex_error_t *err);

#define WORKER_STREAM_AGAIN (-1) // nothing now; an event comes when there is
#define WORKER_STREAM_ERROR (-2) // failed: worker_stream_error() says why

// Read up to size bytes: the count, 0 at the end of the stream,
// WORKER_STREAM_AGAIN or WORKER_STREAM_ERROR.
ssize_t worker_stream_read(worker_stream_t *self, void *buf, size_t size);

// Write up to size bytes: the count taken (maybe fewer),
// WORKER_STREAM_AGAIN or WORKER_STREAM_ERROR.
ssize_t worker_stream_write(worker_stream_t *self, const void *buf,
                            size_t size);

// The failure text after WORKER_STREAM_ERROR (borrowed).
const char *worker_stream_error(const worker_stream_t *self);

// Which events the owner wants from now on.
void worker_stream_want(worker_stream_t *self, bool read, bool write);

// Close the connection (without a TLS close_notify) and free *self_p.
void worker_stream_destroy(worker_stream_t **self_p);

#endif
