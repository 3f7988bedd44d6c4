// target/server.h - apex-target's HTTP server: libmicrohttpd with a
// thread pool on epoll, added latency that holds no thread, and injected
// errors, serving the API of target/api.h.
#ifndef APEX_TARGET_SERVER_H
#define APEX_TARGET_SERVER_H

#include <stdint.h>

#include "common/error.h"
#include "target/options.h"

typedef struct target_server target_server_t; // opaque

// Listen on opts->bind and opts->port and start serving on
// opts->threads threads. Returns a new server the caller owns, or NULL
// with err set ("server: cannot listen on 127.0.0.1:8080: ...").
target_server_t *target_server_new(const target_options_t *opts,
                                   apex_error_t *err);

// The port the server listens on (the real one when 0 was asked).
uint16_t target_server_port(const target_server_t *self);

// Answer the requests waiting on a delay at once, stop serving, free
// *self_p and set it to NULL; does nothing if *self_p is NULL.
void target_server_destroy(target_server_t **self_p);

#endif
