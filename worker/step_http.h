// worker/step_http.h - the HTTP step kind on libcurl: each user owns an
// easy handle (its connection kept alive in the multi handle's pool), the
// multi handle runs on the engine's loop (worker/curl_multi.h), and
// responses are checked and worded as Locust's HttpUser does
// (worker/failure.h).
#ifndef WORKER_STEP_HTTP_H
#define WORKER_STEP_HTTP_H

#include "worker/kind.h"

extern const worker_kind_ops_t worker_step_http_ops;

#endif
