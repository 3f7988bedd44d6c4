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

// The environment's proxy settings as libcurl reads them for http://
// URLs: http_proxy (lower case only), all_proxy or ALL_PROXY; no_proxy
// or NO_PROXY. Read once (worker_http1_env_read()): the environment of
// a worker does not change.
typedef struct {
    const char *proxy;    // the proxy, or NULL
    const char *no_proxy; // hosts not to proxy, or NULL
} worker_http1_env_t;

// Read the environment into env (the strings are the environment's).
void worker_http1_env_read(worker_http1_env_t *env);

// True when libcurl would send a request to host over env's proxy:
// unless no_proxy lists the host ("*", a name or domain suffix, an
// address). When in doubt it answers true (the caller then lets libcurl
// decide).
bool worker_http1_env_proxy(const worker_http1_env_t *env, const char *host);

#endif
