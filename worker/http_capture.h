// worker/http_capture.h - what an HTTP step keeps of a response for its
// captures, checks and cookie jar, within limits: WORKER_HTTP_CAPTURE_MAX
// per response and WORKER_HTTP_CAPTURE_TOTAL for all the responses a
// worker holds at once (issue 19's review: a 17 MiB body was cut and then
// "not JSON"; 40 users held 16 MiB each). A response over either limit is
// marked cut, with a text that names the limit; the step fails with it.
#ifndef WORKER_HTTP_CAPTURE_H
#define WORKER_HTTP_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define WORKER_HTTP_CAPTURE_MAX (16u << 20)    // bytes of one response part
#define WORKER_HTTP_CAPTURE_TOTAL (256u << 20) // bytes of all, per worker
#define WORKER_HTTP_CAPTURE_KEEP (64u << 10)   // capacity kept for the next

// Bytes held by the captures of one worker (its HTTP kind).
typedef struct {
    size_t held; // allocated by every capture buffer together
} worker_http_budget_t;

// One part (body or headers) of the response a user waits for.
typedef struct {
    apex_buf_t buf;  // what is kept
    const char *cut; // why the rest was not (a static text), or NULL
} worker_http_capture_t;

void worker_http_capture_init(worker_http_capture_t *self);

// Free the buffer and give its bytes back to budget.
void worker_http_capture_fini(worker_http_capture_t *self,
                              worker_http_budget_t *budget);

// Empty it for the next response (a big buffer is freed, a small one
// kept).
void worker_http_capture_reset(worker_http_capture_t *self,
                               worker_http_budget_t *budget);

// Keep n more bytes of what (the part's name in the cut text: "body",
// "headers"); once over a limit, nothing more is kept and cut says which.
void worker_http_capture_add(worker_http_capture_t *self,
                             worker_http_budget_t *budget, const char *what,
                             const char *data, size_t n);

#endif
