// worker/http_debug.h - --http-debug (k6's name): each request and
// response of the HTTP engines written to the worker's log as
// "http-debug: > GET /x HTTP/1.1" (what went out) and "http-debug: <
// HTTP/1.1 200 OK" (what came in), header lines as they are, bodies
// only at WORKER_HTTP_DEBUG_FULL and cut after WORKER_HTTP_DEBUG_BODY_MAX
// bytes. Both engines print through here so their output reads alike.
#ifndef WORKER_HTTP_DEBUG_H
#define WORKER_HTTP_DEBUG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/scenario.h"

#define WORKER_HTTP_DEBUG_OFF APEX_HTTP_DEBUG_OFF
#define WORKER_HTTP_DEBUG_HEADERS APEX_HTTP_DEBUG_HEADERS
#define WORKER_HTTP_DEBUG_FULL APEX_HTTP_DEBUG_FULL
#define WORKER_HTTP_DEBUG_BODY_MAX 1024 // bytes of a body printed

// Log a header block (dir '>' sent, '<' received), line by line.
void worker_http_debug_headers(char dir, const char *data, size_t len);

// Log a body at level FULL: at most what is left of
// WORKER_HTTP_DEBUG_BODY_MAX given *shown bytes shown already for this
// message (updated), then a note of what was left out once.
void worker_http_debug_body(int level, char dir, const char *data, size_t len,
                            size_t *shown);

#endif
