// worker/http_url.c - see http_url.h.
#include "worker/http_url.h"

#include <string.h>

#include "common/url.h"

void worker_http_url(const char *base, const apex_http_step_t *req,
                     const apex_template_ctx_t *ctx, apex_buf_t *out,
                     apex_buf_t *scratch)
{
    apex_buf_reset(out);
    apex_buf_reset(scratch);
    apex_template_expand(req->path, ctx, scratch);
    apex_url_join(out, base, apex_buf_str(scratch));
    bool has_query = strchr(apex_buf_str(scratch), '?') != NULL;
    for (size_t i = 0; i < req->nquery; i++) {
        apex_buf_putc(out, i == 0 && !has_query ? '?' : '&');
        apex_url_encode(out, req->query[i].name, strlen(req->query[i].name));
        apex_buf_putc(out, '=');
        apex_buf_reset(scratch);
        apex_template_expand(req->query[i].value, ctx, scratch);
        apex_url_encode(out, scratch->data ? scratch->data : "", scratch->len);
    }
}

bool worker_http_url_constant(const apex_http_step_t *req)
{
    if (!apex_template_constant(req->path))
        return false;
    for (size_t i = 0; i < req->nquery; i++)
        if (!apex_template_constant(req->query[i].value))
            return false;
    return true;
}
