// worker/http1_request.h - the bytes of a plain HTTP/1.1 request, built
// from an HTTP step as libcurl would send it: request line, Host,
// Authorization for basic auth, Accept: */*, the step's headers (with
// the worker's User-Agent unless the step names one), Cookie from the
// user's jar, Content-Length and libcurl's default Content-Type for a
// body. A step whose URL, headers and body are constant is built once
// (plan->request) and every user sends those bytes as they are.
#ifndef WORKER_HTTP1_REQUEST_H
#define WORKER_HTTP1_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/scenario.h"
#include "worker/http1_target.h"

typedef struct {
    const apex_step_t *step;      // the step in the model
    char *url;                    // constant URL for the base, or NULL
    worker_http1_url_t url_kind;  // what url is
    worker_http1_target_t target; // its parts (pointing into url)
    apex_buf_t lines;             // the step's header lines when constant
    bool headers_constant;        // no header varies per user
    const char *body;             // constant body, or NULL
    size_t body_len;              // its length
    apex_buf_t request;           // the whole request when constant
    bool constant;                // request is set
    bool head;                    // a HEAD request (no body comes back)
    bool own_host;                // the step names Host
    bool own_accept;              // ... Accept
    bool own_content_type;        // ... Content-Type
    bool own_cookie;              // ... Cookie: the jar sends nothing
    bool own_authorization;       // ... Authorization: no basic auth
    char *auth_line;              // "Authorization: Basic ...\r\n" or NULL
} worker_http1_plan_t;

// Compile step (kind HTTP) for base (NULL: none); plan is owned by the
// caller, freed with worker_http1_plan_fini().
void worker_http1_plan_init(worker_http1_plan_t *plan, const apex_step_t *step,
                            const char *base);

// Rebuild what depends on the base URL.
void worker_http1_plan_set_base(worker_http1_plan_t *plan, const char *base);

void worker_http1_plan_fini(worker_http1_plan_t *plan);

// The request for target t (method: the step's, or "GET" after a
// redirect that turns it into one, then without a body), with the
// user's template context (NULL only for a constant plan) and cookie
// (the Cookie header's value, or NULL), into out (reset first).
void worker_http1_request(const worker_http1_plan_t *plan, const char *method,
                          const worker_http1_target_t *t,
                          const apex_template_ctx_t *ctx, const char *cookie,
                          apex_buf_t *out, apex_buf_t *scratch);

#endif
