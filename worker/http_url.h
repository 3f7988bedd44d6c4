// worker/http_url.h - an HTTP step's URL, shared by both HTTP engines:
// the base URL joined with the expanded path and the query parameters
// percent-encoded, the same bytes whichever engine sends them.
#ifndef WORKER_HTTP_URL_H
#define WORKER_HTTP_URL_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/scenario.h"

// The full URL of req for one user (ctx) into out (reset first); scratch
// is working space. base NULL: the path must be absolute.
void worker_http_url(const char *base, const apex_http_step_t *req,
                     const apex_template_ctx_t *ctx, apex_buf_t *out,
                     apex_buf_t *scratch);

// True when req's URL is the same for every user (no placeholders that
// vary).
bool worker_http_url_constant(const apex_http_step_t *req);

#endif
