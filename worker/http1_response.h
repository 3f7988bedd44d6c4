// worker/http1_response.h - one HTTP/1.1 response read with http-parser
// (Debian's libhttp-parser, the parser wrk uses): bytes are fed as they
// arrive, in any pieces; 1xx responses before the final one are skipped;
// HEAD, 204 and 304 have no body; a body ends at its Content-Length, its
// last chunk or, with neither, the end of the stream. The header block
// is kept as libcurl hands it out ("HTTP/1.1 200 OK\r\nName: value\r\n
// ...\r\n") when asked, or for a redirect (its Location); the body is
// kept up to a size the owner gives. For a cookie jar alone, only the
// Set-Cookie lines are kept. Memory: the struct (embedded in the
// owner) and the owner's two buffers, nothing else.
#ifndef WORKER_HTTP1_RESPONSE_H
#define WORKER_HTTP1_RESPONSE_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "worker/http_capture.h"

#define WORKER_HTTP1_MAX_HEADER (300u * 1024u) // header bytes (libcurl's)

typedef enum {
    WORKER_HTTP1_MORE,     // the response goes on: feed more
    WORKER_HTTP1_COMPLETE, // the response is whole
    WORKER_HTTP1_PARTIAL,  // the stream ended in the middle of it
    WORKER_HTTP1_EMPTY,    // the stream ended before its first byte
    WORKER_HTTP1_BAD,      // not HTTP
    WORKER_HTTP1_TOO_LARGE // the header block is over WORKER_HTTP1_MAX_HEADER
} worker_http1_status_t;

typedef struct {
    http_parser parser;           // http-parser's state
    apex_buf_t *headers;          // the header block goes here (owner's)
    worker_http_capture_t *body;  // the body goes here (owner's)
    worker_http_budget_t *budget; // what every capture holds (owner's)
    size_t body_keep;             // body bytes kept, at most
    size_t fail_keep;             // body bytes kept when the status is >= 400
    bool keep_headers; // keep the header block (else only a redirect's)
    bool keep_cookies; // else keep its Set-Cookie lines
    bool head;         // the response to a HEAD request
    int mode;          // what this message's headers keep (internal)
    char name[12];     // a header name, cookies only (internal)
    size_t name_len;   // its length so far
    bool matching;     // the header being read is a Set-Cookie
    bool in_value;     // the last header piece was a value
    bool in_status;    // the status line is not ended yet
    bool headers_done; // this message's headers are all in
    bool complete;     // the final response is whole
    bool started;      // some byte came
    bool extra;        // bytes came after it (never reuse the stream)
    int status;        // the final status, once its headers are in
    uint64_t bytes;    // body bytes of the final response
} worker_http1_response_t;

// Get ready for the response to a request (head: a HEAD request): the
// header block into headers when keep_headers (always for a 3xx), else
// only its Set-Cookie lines when keep_cookies (for a cookie jar); body
// bytes into body up to body_keep, or up to fail_keep for a status of
// 400 or more; a body_keep of WORKER_HTTP_CAPTURE_MAX keeps it within
// http_capture.h's limits (marked cut past them), counted in budget.
// Both buffers are reset.
void worker_http1_response_begin(worker_http1_response_t *self, bool head,
                                 bool keep_headers, bool keep_cookies,
                                 apex_buf_t *headers,
                                 worker_http_capture_t *body,
                                 worker_http_budget_t *budget, size_t body_keep,
                                 size_t fail_keep);

// Feed len bytes (len 0: the stream ended). Returns what the response is
// now; after COMPLETE, PARTIAL, EMPTY or BAD nothing more is fed.
worker_http1_status_t worker_http1_response_feed(worker_http1_response_t *self,
                                                 const char *data, size_t len);

// True when the connection may carry another request: the server did not
// say close, HTTP/1.1 (or 1.0 with keep-alive), nothing came after.
bool worker_http1_response_keep_alive(const worker_http1_response_t *self);

#endif
