// worker/http1_target.h - where a plain HTTP/1.1 request goes: an
// absolute URL split into host, port and request target without libcurl
// (the engine's hot path parses constant URLs once and per-user ones per
// request), and whether the environment's proxy applies to a host, read
// the way libcurl reads it, so `auto` hands a proxied request to libcurl.
#ifndef WORKER_HTTP1_TARGET_H
#define WORKER_HTTP1_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#define WORKER_HTTP1_HOST_MAX 256 // bytes of a host name, with its NUL

typedef enum {
    WORKER_HTTP1_URL_OK,     // a plain http:// URL
    WORKER_HTTP1_URL_HTTPS,  // https://: libcurl's (TLS)
    WORKER_HTTP1_URL_SCHEME, // another scheme, or none (libcurl guesses
                             // one): libcurl refuses it (1)
    WORKER_HTTP1_URL_BAD     // not a URL libcurl would take (3)
} worker_http1_url_t;

typedef struct {
    char host[WORKER_HTTP1_HOST_MAX]; // name or address, without [ ]
    int port;                         // 80 when not given
    bool ipv6;                        // host was [...]
    const char *target;               // "/path?query" within the URL
    size_t target_len;                // its length (no fragment)
    const char *authority;            // "host:port" as written (Host:)
    size_t authority_len;             // its length
} worker_http1_target_t;

// Split url into out (out->target and authority point into url).
worker_http1_url_t worker_http1_target_parse(const char *url,
                                             worker_http1_target_t *out);

// True when libcurl would send a request to host over a proxy named by
// the environment: http_proxy (lower case only, as libcurl), all_proxy
// or ALL_PROXY, unless no_proxy or NO_PROXY lists the host ("*", a name
// or domain suffix, an address). When in doubt it answers true (the
// caller then lets libcurl decide).
bool worker_http1_env_proxy(const char *host);

#endif
