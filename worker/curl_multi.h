// worker/curl_multi.h - a libcurl multi handle driven by an apex loop:
// curl's socket interface (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION) on the
// loop's epoll and timer heap, and completed transfers handed to a
// callback. Connections stay in the multi handle's pool, sized to the
// number of handles in use so keep-alive connections survive between a
// user's requests.
#ifndef WORKER_CURL_MULTI_H
#define WORKER_CURL_MULTI_H

#include <curl/curl.h>
#include <stddef.h>

#include "common/error.h"
#include "common/loop.h"

typedef struct worker_curlm worker_curlm_t; // opaque

// A transfer finished: priv is the easy handle's CURLOPT_PRIVATE.
typedef void(worker_curlm_done_fn)(void *arg, CURL *easy, void *priv,
                                   CURLcode result);

// A multi handle on loop; NULL with err set when libcurl fails.
worker_curlm_t *worker_curlm_new(apex_loop_t *loop, worker_curlm_done_fn *done,
                                 void *arg, apex_error_t *err);

// Close every pooled connection and free *self_p; sets it to NULL. Every
// easy handle must have been removed.
void worker_curlm_destroy(worker_curlm_t **self_p);

// Start a transfer. 0, or -1 when curl refuses it (logged).
int worker_curlm_add(worker_curlm_t *self, CURL *easy);

// Take a transfer out (finished or abandoned).
void worker_curlm_remove(worker_curlm_t *self, CURL *easy);

// Keep at least `handles` connections pooled (grows generously, never
// shrinks, so a ramp does not set it handle by handle).
void worker_curlm_reserve(worker_curlm_t *self, size_t handles);

// Free sockets curl closed during this loop iteration. Call at its end.
void worker_curlm_after_iteration(worker_curlm_t *self);

#endif
