// worker/step_http.h - the HTTP step kind: each step runs on one of two
// engines, the plain HTTP/1.1 one (worker/http1.h) or libcurl
// (worker/http_curl.h), chosen per step and per request by the engine a
// user class, the document or the run names (auto, curl, http1). auto
// takes the plain engine for plain http:// requests that need nothing it
// lacks, and libcurl for https://, HTTP/2, a proxy (given or from the
// environment) and compression.
#ifndef WORKER_STEP_HTTP_H
#define WORKER_STEP_HTTP_H

#include "worker/kind.h"

extern const worker_kind_ops_t worker_step_http_ops;

// Why a step with these options needs libcurl ("HTTP/2", "a proxy",
// "compression", "a client certificate"), or NULL when the plain engine
// can run it (for plain http://).
const char *worker_step_http_needs_curl(const apex_http_options_t *opts);

#endif
