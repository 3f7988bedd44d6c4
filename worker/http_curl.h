// worker/http_curl.h - HTTP steps on libcurl, one of the HTTP kind's two
// engines (worker/step_http.c picks): each user owns an easy handle (its
// connection kept alive in the multi handle's pool), the multi handle
// runs on the engine's loop (worker/curl_multi.h), and responses are
// checked and worded as Locust's HttpUser does (worker/failure.h). It
// runs every option a step can have (TLS, HTTP/2, proxies, compression).
#ifndef WORKER_HTTP_CURL_H
#define WORKER_HTTP_CURL_H

#include "worker/kind.h"

// The operations of worker/kind.h, for step_http.c to call.
extern const worker_kind_ops_t worker_http_curl_ops;

// --http-debug's level (worker/http_debug.h) for transfers started from
// now on.
void worker_http_curl_set_debug(worker_kind_t *self, int level);

#endif
