// worker/http_redirect.h - redirects as both HTTP engines follow them
// (as Python's requests does, which Locust's HttpUser uses): which
// statuses redirect, where to (the Location header resolved against the
// URL asked for, by libcurl's URL parser) and with which method.
#ifndef WORKER_HTTP_REDIRECT_H
#define WORKER_HTTP_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>

#define WORKER_HTTP_MAX_REDIRS 5 // hops followed, as libcurl's MAXREDIRS

// True for 301, 302, 303, 307 and 308.
bool worker_http_is_redirect(long status);

// The value of the last header called name (any case) in a raw header
// block of len bytes (block may be NULL when len is 0), or NULL (a new
// string the caller frees).
char *worker_http_header(const char *block, size_t len, const char *name);

// The absolute URL of the block's Location relative to base (a new
// string), or NULL when there is none or libcurl cannot make one.
char *worker_http_location(const char *block, size_t len, const char *base);

// The method of the next hop: GET after a 303 (but for HEAD) and after a
// 301 or 302 that answered a POST; else method itself.
const char *worker_http_redirect_method(long status, const char *method);

#endif
