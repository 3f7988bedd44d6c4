// worker/http1.h - HTTP steps on our own plain HTTP/1.1 engine, one of
// the HTTP kind's two engines (worker/step_http.c picks): each user owns
// one keep-alive connection, opened on first use and opened again when
// the server closes it or after an error; requests are built once per
// constant step (worker/http1_request.h) and written with one system
// call; responses are parsed with http-parser (worker/http1_response.h)
// from one read buffer shared by all users. Cookies, redirects,
// captures, checks and failure texts are those of the libcurl engine.
//
// It runs plain http:// only, without a proxy: start() declines other
// requests (https://, a proxy from the environment) so the caller can
// hand them to libcurl.
#ifndef WORKER_HTTP1_H
#define WORKER_HTTP1_H

#include "worker/kind.h"

// What start() returns for a request this engine does not run (it then
// has not started anything and reports nothing).
#define WORKER_HTTP1_DECLINED 1

// worker/kind.h's operations; start() may also return
// WORKER_HTTP1_DECLINED.
extern const worker_kind_ops_t worker_http1_ops;

// --http-debug's level (worker/http_debug.h) from now on.
void worker_http1_set_debug(worker_kind_t *self, int level);

// Start user u's step of plan (from this engine's plan()) as a failure
// with this text, reported from the loop as any step's end: for a step
// that the engine asked for cannot run. Returns 0.
int worker_http1_fail(worker_kind_t *self, void *plan, worker_user_t *u,
                      void **conn, const char *failure);

#endif
