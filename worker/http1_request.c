// worker/http1_request.c - see http1_request.h. libcurl 7.88 is the
// reference for what goes out, so a server sees the same request from
// either engine: "Expect: 100-continue" is never sent (the curl engine
// switches it off), a body-less POST says Content-Length: 0, and a body
// without a Content-Type gets application/x-www-form-urlencoded.
#include "worker/http1_request.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/version.h"
#include "worker/http_url.h"

#define WORKER_HTTP1_USER_AGENT "apex-worker/" APEX_VERSION
#define WORKER_HTTP1_FORM "application/x-www-form-urlencoded"

static bool s_named(const apex_http_step_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

// The step's header lines for ctx: each header whose value is not empty,
// our User-Agent unless the step names one.
static void s_lines(const apex_http_step_t *req, const apex_template_ctx_t *ctx,
                    apex_buf_t *out, apex_buf_t *scratch)
{
    bool user_agent = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, "User-Agent") == 0)
            user_agent = true;
        apex_buf_reset(scratch);
        apex_template_expand(req->headers[i].value, ctx, scratch);
        if (scratch->len == 0)
            continue;
        apex_buf_puts(out, req->headers[i].name);
        apex_buf_append(out, ": ", 2);
        apex_buf_append(out, scratch->data, scratch->len);
        apex_buf_append(out, "\r\n", 2);
    }
    if (!user_agent)
        apex_buf_puts(out, "User-Agent: " WORKER_HTTP1_USER_AGENT "\r\n");
}

static char *s_auth_line(const char *userpwd)
{
    size_t n = strlen(userpwd);
    char *b64 = apex_calloc(4 * ((n + 2) / 3) + 1, 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)userpwd,
                    (int)n);
    char *line = apex_sprintf("Authorization: Basic %s\r\n", b64);
    free(b64);
    return line;
}

void worker_http1_plan_init(worker_http1_plan_t *plan, const apex_step_t *step,
                            const char *base)
{
    memset(plan, 0, sizeof *plan);
    const apex_http_step_t *req = step->http;
    plan->step = step;
    apex_buf_init(&plan->lines);
    apex_buf_init(&plan->request);
    plan->head = strcmp(req->method, "HEAD") == 0;
    plan->own_host = s_named(req, "Host");
    plan->own_accept = s_named(req, "Accept");
    plan->own_content_type = s_named(req, "Content-Type");
    plan->own_cookie = s_named(req, "Cookie");
    plan->own_authorization = s_named(req, "Authorization");
    if (req->opts.auth && !plan->own_authorization)
        plan->auth_line = s_auth_line(req->opts.auth);
    plan->headers_constant = true;
    for (size_t i = 0; i < req->nheaders; i++)
        if (!apex_template_constant(req->headers[i].value))
            plan->headers_constant = false;
    apex_buf_t scratch;
    apex_buf_init(&scratch);
    uint64_t rng = 1; // constant templates draw nothing
    apex_template_ctx_t ctx = {.vars = NULL, .rng = &rng};
    if (plan->headers_constant)
        s_lines(req, &ctx, &plan->lines, &scratch);
    apex_buf_fini(&scratch);
    if (req->body && apex_template_constant(req->body)) {
        plan->body = apex_template_constant(req->body);
        plan->body_len = strlen(plan->body);
    }
    worker_http1_plan_set_base(plan, base);
}

void worker_http1_plan_set_base(worker_http1_plan_t *plan, const char *base)
{
    const apex_http_step_t *req = plan->step->http;
    free(plan->url);
    plan->url = NULL;
    plan->constant = false;
    apex_buf_reset(&plan->request);
    if (!worker_http_url_constant(req))
        return;
    apex_buf_t url, scratch;
    apex_buf_init(&url);
    apex_buf_init(&scratch);
    uint64_t rng = 1; // constant templates draw nothing
    apex_template_ctx_t ctx = {.vars = NULL, .rng = &rng};
    worker_http_url(base, req, &ctx, &url, &scratch);
    plan->url = apex_buf_take(&url);
    plan->url_kind = worker_http1_target_parse(plan->url, &plan->target);
    if (plan->url_kind == WORKER_HTTP1_URL_OK && plan->headers_constant &&
        (!req->body || plan->body)) {
        worker_http1_request(plan, req->method, &plan->target, &ctx, NULL,
                             &plan->request, &scratch);
        plan->constant = true;
    }
    apex_buf_fini(&url);
    apex_buf_fini(&scratch);
}

void worker_http1_plan_fini(worker_http1_plan_t *plan)
{
    free(plan->url);
    free(plan->auth_line);
    apex_buf_fini(&plan->lines);
    apex_buf_fini(&plan->request);
    memset(plan, 0, sizeof *plan);
}

static void s_number(apex_buf_t *out, size_t n)
{
    char digits[24];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    apex_buf_append(out, digits + i, sizeof digits - i);
}

void worker_http1_request(const worker_http1_plan_t *plan, const char *method,
                          const worker_http1_target_t *t,
                          const apex_template_ctx_t *ctx, const char *cookie,
                          apex_buf_t *out, apex_buf_t *scratch)
{
    const apex_http_step_t *req = plan->step->http;
    bool same = strcmp(method, req->method) == 0; // else a redirect's GET
    apex_buf_reset(out);
    apex_buf_puts(out, method);
    apex_buf_putc(out, ' ');
    if (t->target_len == 0 || t->target[0] != '/')
        apex_buf_putc(out, '/'); // "http://h?q" asks for "/?q"
    apex_buf_append(out, t->target, t->target_len);
    apex_buf_puts(out, " HTTP/1.1\r\n");
    if (!plan->own_host) {
        apex_buf_puts(out, "Host: ");
        apex_buf_append(out, t->authority, t->authority_len);
        apex_buf_append(out, "\r\n", 2);
    }
    if (plan->auth_line)
        apex_buf_puts(out, plan->auth_line);
    if (!plan->own_accept)
        apex_buf_puts(out, "Accept: */*\r\n");
    if (plan->headers_constant)
        apex_buf_append(out, plan->lines.data, plan->lines.len);
    else
        s_lines(req, ctx, out, scratch);
    if (cookie) {
        apex_buf_puts(out, "Cookie: ");
        apex_buf_puts(out, cookie);
        apex_buf_append(out, "\r\n", 2);
    }
    const char *body = NULL;
    size_t body_len = 0;
    if (same && req->body) {
        if (plan->body) {
            body = plan->body;
            body_len = plan->body_len;
        } else {
            apex_buf_reset(scratch);
            apex_template_expand(req->body, ctx, scratch);
            body = scratch->data ? scratch->data : "";
            body_len = scratch->len;
        }
    }
    if (same && (req->body || strcmp(method, "POST") == 0)) {
        apex_buf_puts(out, "Content-Length: ");
        s_number(out, body_len);
        apex_buf_append(out, "\r\n", 2);
        if (!plan->own_content_type)
            apex_buf_puts(out, "Content-Type: " WORKER_HTTP1_FORM "\r\n");
    }
    apex_buf_append(out, "\r\n", 2);
    if (body_len)
        apex_buf_append(out, body, body_len);
}
