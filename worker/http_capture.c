// worker/http_capture.c - see http_capture.h. The budget counts each
// buffer's allocation (apex_buf_t.cap), updated after every append.
#include "worker/http_capture.h"

#include <string.h>

#define S_MIB(n) ((n) >> 20)

void worker_http_capture_init(worker_http_capture_t *self)
{
    apex_buf_init(&self->buf);
    self->cut = NULL;
}

void worker_http_capture_fini(worker_http_capture_t *self,
                              worker_http_budget_t *budget)
{
    budget->held -= self->buf.cap;
    apex_buf_fini(&self->buf);
    self->cut = NULL;
}

void worker_http_capture_reset(worker_http_capture_t *self,
                               worker_http_budget_t *budget)
{
    if (self->buf.cap > WORKER_HTTP_CAPTURE_KEEP)
        worker_http_capture_fini(self, budget); // back to empty
    apex_buf_reset(&self->buf);
    self->cut = NULL;
}

// The texts name the limits (sizes in MiB from the macros).
static const char *s_cut_text(const char *what, bool total)
{
    if (strcmp(what, "headers") == 0)
        return total ? "response headers not kept: the worker holds at most "
                       "256 MiB of responses for all its users together"
                     : "response headers over 16 MiB, the most a step keeps";
    return total ? "response body not kept: the worker holds at most 256 MiB "
                   "of responses for all its users together"
                 : "response body over 16 MiB, the most a step keeps";
}

_Static_assert(S_MIB(WORKER_HTTP_CAPTURE_MAX) == 16 &&
                   S_MIB(WORKER_HTTP_CAPTURE_TOTAL) == 256,
               "the cut texts name these limits");

void worker_http_capture_add(worker_http_capture_t *self,
                             worker_http_budget_t *budget, const char *what,
                             const char *data, size_t n)
{
    if (self->cut)
        return;
    if (self->buf.len + n > WORKER_HTTP_CAPTURE_MAX) {
        self->cut = s_cut_text(what, false);
        return;
    }
    // What the buffer may grow to (apex_buf doubles): counted before.
    size_t need = self->buf.len + n + 1;
    size_t more = need > self->buf.cap ? 2 * need - self->buf.cap : 0;
    if (budget->held + more > WORKER_HTTP_CAPTURE_TOTAL) {
        self->cut = s_cut_text(what, true);
        return;
    }
    size_t before = self->buf.cap;
    apex_buf_append(&self->buf, data, n);
    budget->held += self->buf.cap - before;
}
