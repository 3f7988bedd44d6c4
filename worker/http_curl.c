// worker/http_curl.c - HTTP steps on libcurl (see http_curl.h).
//
// Per user, one curl easy handle re-used for all its requests, so its
// options are set once and its connection is kept alive in the multi
// handle's pool (worker/curl_multi.c). Per step, the plan holds what does
// not vary between users: a parsed URL (CURLU) and a ready header list
// when they have no per-user placeholders, and the body when constant.
// A user repeating a constant step (the common case) sets no option
// again: the hot path costs the transfer and the completion.
//
// Parsed URLs depend on the base URL the master names. When it changes
// they are rebuilt; the old ones are kept until the kind is destroyed, as
// a transfer started before may still use them.
//
// Cookies: a user whose class keeps cookies has a jar (common/cookies.h),
// not libcurl's cookie engine, so any HTTP engine behaves alike. Every
// response's Set-Cookie lines go into the jar through the header
// callback, and each request gets a Cookie header built from it. Such a
// user follows redirects itself (up to WORKER_HTTP_MAX_REDIRS, as
// requests does: 303, and 301/302 after a POST, become a GET), so each
// hop stores its cookies and sends the ones for its own URL; the hops'
// times and sizes add up to one sample, as with libcurl's own following.
#include "worker/http_curl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/url.h"
#include "common/version.h"
#include "worker/curl_multi.h"
#include "worker/failure.h"
#include "worker/http_capture.h"
#include "worker/http_debug.h"
#include "worker/http_redirect.h"
#include "worker/http_url.h"

#define WORKER_HTTP_USER_AGENT "apex-worker/" APEX_VERSION
#define WORKER_HTTP_PROTOCOLS "http,https"
#define WORKER_HTTP_RETRY_ERROR "curl_easy_init failed: out of memory?"

typedef struct s_plan s_plan_t;

typedef struct {
    apex_loop_t *loop;     // the loop
    worker_curlm_t *multi; // every transfer
    char *base;            // base URL for relative paths, or NULL
    s_plan_t **plans;      // every plan, to rebuild on a new base
    size_t nplans;         // their number
    size_t plans_cap;      // slots allocated
    CURLU **old_urls;      // URLs of earlier bases (a transfer may use them)
    size_t nold_urls;      // their number
    size_t nconns;         // users with an easy handle
    int debug;             // --http-debug level
    worker_http_budget_t budget; // bytes of responses kept, all users
    void *done_conn;             // the conn whose step is being reported
} s_http_t;

struct s_plan {
    const apex_step_t *step;    // the step in the model
    CURLU *curlu;               // parsed URL when constant, else NULL
    char *url;                  // its text (for error messages)
    struct curl_slist *headers; // header list when constant, else NULL
    bool headers_constant;      // headers needs no per-user expansion
    const char *body;           // constant body, or NULL
    size_t body_len;            // its length
    bool custom_method;         // needs CURLOPT_CUSTOMREQUEST
    bool constant;              // URL, headers and body are all constant
    bool own_cookie;            // the step names a Cookie header: the
                                // jar sends nothing over it
};

typedef struct {
    s_http_t *http;                     // the kind
    worker_user_t *user;                // the user it belongs to
    CURL *easy;                         // re-used for every request
    const s_plan_t *plan;               // the step in flight, or the last one
    bool in_flight;                     // added to the multi handle
    bool custom_method;                 // CURLOPT_CUSTOMREQUEST is set
    bool header_fn;                     // CURLOPT_HEADERFUNCTION is set
    const s_plan_t *applied;            // constant step whose options are set
    const CURLU *applied_curlu;         // the URL handle set with them
    struct curl_slist *headers;         // per-request headers, or NULL
    apex_buf_t url;                     // per-request URL
    apex_buf_t body;                    // per-request body
    worker_http_capture_t resp_body;    // response body, when captured
    worker_http_capture_t resp_headers; // response headers, when captured
    apex_cookie_jar_t *jar;             // the user's cookie jar, or NULL
    struct curl_slist *with_cookie;     // the headers plus Cookie, or NULL
    apex_buf_t cookie;                  // the Cookie header's value
    char *hop_url;                      // the URL of a redirect being followed
    unsigned hops;                      // redirects followed for this step
    uint64_t hop_us;                    // time of the hops before this one
    uint64_t hop_bytes;                 // their content bytes
    uint64_t decoded;                   // body bytes handed to us this hop
                                        // (decoded, as Locust counts them)
    int debug;                          // --http-debug level set on easy
    size_t debug_shown[2];              // body bytes logged out and in
} s_conn_t;

static void s_on_done(void *arg, CURL *easy, void *priv, CURLcode res);

// ---------------------------------------------------------------------
// Building requests

static bool s_headers_constant(const apex_http_step_t *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!apex_template_constant(req->headers[i].value))
            return false;
    return true;
}

// curl_slist_append(), aborting on out of memory as apex_calloc() does
// (curl returns NULL and the list would leak).
static struct curl_slist *s_slist_add(struct curl_slist *list, const char *line)
{
    struct curl_slist *more = curl_slist_append(list, line);
    if (!more)
        abort();
    return more;
}

// "Name: value" for each header whose value is not empty, our
// User-Agent unless the scenario names one (an empty value then sends
// none), and "Expect:" when the request has a body, so curl never waits
// for 100-continue. The User-Agent goes in the list rather than in
// CURLOPT_USERAGENT, which curl 7.88 formats twice per request (an
// aprintf, then into the request): callgrind counted 6,800 instructions
// per request for the option, and the list entry saved 2,400 of them.
static struct curl_slist *s_header_list(const apex_http_step_t *req,
                                        const apex_template_ctx_t *ctx,
                                        apex_buf_t *scratch)
{
    struct curl_slist *list = NULL;
    bool user_agent = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, "User-Agent") == 0)
            user_agent = true;
        apex_buf_reset(scratch);
        apex_template_expand(req->headers[i].value, ctx, scratch);
        if (scratch->len == 0)
            continue;
        char *line =
            apex_sprintf("%s: %s", req->headers[i].name, apex_buf_str(scratch));
        list = s_slist_add(list, line);
        free(line);
    }
    if (!user_agent)
        list = s_slist_add(list, "User-Agent: " WORKER_HTTP_USER_AGENT);
    if (req->body)
        list = s_slist_add(list, "Expect:");
    return list;
}

// ---------------------------------------------------------------------
// Plans

// (Re)build a constant step's parsed URL for the current base.
static void s_plan_url(s_http_t *self, s_plan_t *plan, apex_buf_t *url,
                       apex_buf_t *scratch)
{
    if (plan->curlu) {
        self->old_urls = apex_realloc(self->old_urls, self->nold_urls + 1,
                                      sizeof *self->old_urls);
        self->old_urls[self->nold_urls++] = plan->curlu;
        plan->curlu = NULL;
    }
    free(plan->url);
    plan->url = NULL;
    const apex_http_step_t *req = plan->step->http;
    if (!worker_http_url_constant(req))
        return;
    uint64_t rng = 1; // constant templates draw nothing
    apex_template_ctx_t ctx = {.vars = NULL, .rng = &rng};
    worker_http_url(self->base, req, &ctx, url, scratch);
    plan->url = apex_strdup(apex_buf_str(url));
    CURLU *h = curl_url();
    if (h && curl_url_set(h, CURLUPART_URL, plan->url, 0) == CURLUE_OK)
        plan->curlu = h;
    else if (h)
        curl_url_cleanup(h); // curl reports it per request
    plan->constant =
        plan->curlu && plan->headers_constant && (!req->body || plan->body);
}

static void *s_plan(worker_kind_t *kind, const apex_step_t *step)
{
    s_http_t *self = kind;
    const apex_http_step_t *req = step->http;
    s_plan_t *plan = apex_calloc(1, sizeof *plan);
    plan->step = step;
    apex_buf_t url, scratch;
    apex_buf_init(&url);
    apex_buf_init(&scratch);
    plan->headers_constant = s_headers_constant(req);
    if (plan->headers_constant) {
        uint64_t rng = 1;
        apex_template_ctx_t ctx = {.vars = NULL, .rng = &rng};
        plan->headers = s_header_list(req, &ctx, &scratch);
    }
    if (req->body && apex_template_constant(req->body)) {
        plan->body = apex_template_constant(req->body);
        plan->body_len = strlen(plan->body);
    }
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Cookie") == 0)
            plan->own_cookie = true;
    plan->custom_method = strcmp(req->method, "GET") != 0 &&
                          strcmp(req->method, "POST") != 0 &&
                          strcmp(req->method, "HEAD") != 0;
    s_plan_url(self, plan, &url, &scratch);
    apex_buf_fini(&url);
    apex_buf_fini(&scratch);
    if (self->nplans == self->plans_cap) {
        self->plans_cap = self->plans_cap ? self->plans_cap * 2 : 16;
        self->plans =
            apex_realloc(self->plans, self->plans_cap, sizeof *self->plans);
    }
    self->plans[self->nplans++] = plan;
    return plan;
}

static void s_plan_free(worker_kind_t *kind, void *p)
{
    s_http_t *self = kind;
    s_plan_t *plan = p;
    for (size_t i = 0; i < self->nplans; i++) {
        if (self->plans[i] == plan) {
            self->plans[i] = self->plans[--self->nplans];
            break;
        }
    }
    curl_url_cleanup(plan->curlu);
    free(plan->url);
    curl_slist_free_all(plan->headers);
    free(plan);
    if (self->nplans == 0) {
        // A new scenario: no transfer can use an earlier base's URLs.
        for (size_t i = 0; i < self->nold_urls; i++)
            curl_url_cleanup(self->old_urls[i]);
        self->nold_urls = 0;
    }
}

static void s_set_base(worker_kind_t *kind, const char *base)
{
    s_http_t *self = kind;
    free(self->base);
    self->base = base ? apex_strdup(base) : NULL;
    apex_buf_t url, scratch;
    apex_buf_init(&url);
    apex_buf_init(&scratch);
    for (size_t i = 0; i < self->nplans; i++)
        s_plan_url(self, self->plans[i], &url, &scratch);
    apex_buf_fini(&url);
    apex_buf_fini(&scratch);
}

// ---------------------------------------------------------------------
// A user's handle

// The body is kept when a capture or check reads it, else its first
// bytes for a failure text (worker/failure.h).
static size_t s_write_body(char *data, size_t size, size_t nmemb, void *arg)
{
    s_conn_t *conn = arg;
    size_t n = size * nmemb;
    if (!conn->in_flight)
        return n;
    conn->decoded += n;
    worker_http_capture_t *body = &conn->resp_body;
    if (conn->plan->step->needs_body) {
        worker_http_capture_add(body, &conn->http->budget, "body", data, n);
    } else if (body->buf.len < WORKER_FAILURE_BODY_MAX) {
        size_t room = WORKER_FAILURE_BODY_MAX + 1 - body->buf.len;
        worker_http_capture_add(body, &conn->http->budget, "body", data,
                                n < room ? n : room);
    }
    return n;
}

// --http-debug: what libcurl sent and received, through http_debug.c.
static int s_debug(CURL *easy, curl_infotype type, char *data, size_t size,
                   void *arg)
{
    (void)easy;
    s_conn_t *conn = arg;
    switch (type) {
    case CURLINFO_HEADER_OUT:
        conn->debug_shown[0] = conn->debug_shown[1] = 0;
        worker_http_debug_headers('>', data, size);
        break;
    case CURLINFO_HEADER_IN:
        conn->debug_shown[1] = 0;
        worker_http_debug_headers('<', data, size);
        break;
    case CURLINFO_DATA_OUT:
        worker_http_debug_body(conn->debug, '>', data, size,
                               &conn->debug_shown[0]);
        break;
    case CURLINFO_DATA_IN:
        worker_http_debug_body(conn->debug, '<', data, size,
                               &conn->debug_shown[1]);
        break;
    default:
        break;
    }
    return 0;
}

static void s_set_debug(s_conn_t *conn, int level)
{
    if (conn->debug == level)
        return;
    conn->debug = level;
    curl_easy_setopt(conn->easy, CURLOPT_DEBUGFUNCTION, level ? s_debug : NULL);
    curl_easy_setopt(conn->easy, CURLOPT_DEBUGDATA, level ? conn : NULL);
    curl_easy_setopt(conn->easy, CURLOPT_VERBOSE, level ? 1L : 0L);
}

// True for a header line named name (lower case, with its colon).
static bool s_is_header(const char *data, size_t n, const char *name)
{
    size_t len = strlen(name);
    return n >= len && strncasecmp(data, name, len) == 0;
}

static size_t s_write_header(char *data, size_t size, size_t nmemb, void *arg)
{
    s_conn_t *conn = arg;
    size_t n = size * nmemb;
    // Only the cookie jar and its redirects want them: keep Set-Cookie
    // and Location alone, so a plain response costs no copying and no
    // parsing.
    if (!conn->plan->step->needs_headers &&
        !s_is_header(data, n, "set-cookie:") &&
        !s_is_header(data, n, "location:"))
        return n;
    worker_http_capture_add(&conn->resp_headers, &conn->http->budget, "headers",
                            data, n);
    return n;
}

static s_conn_t *s_conn_new(s_http_t *self, worker_user_t *u)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return NULL;
    s_conn_t *conn = apex_calloc(1, sizeof *conn);
    conn->http = self;
    conn->user = u;
    conn->easy = easy;
    conn->jar = worker_user_cookies(u);
    apex_buf_init(&conn->cookie);
    apex_buf_init(&conn->url);
    apex_buf_init(&conn->body);
    worker_http_capture_init(&conn->resp_body);
    worker_http_capture_init(&conn->resp_headers);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, conn);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_write_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, conn);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    // A user with a jar follows redirects itself (see the top).
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, conn->jar ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, (long)WORKER_HTTP_MAX_REDIRS);
    // Only HTTP, whatever a master's host, a captured URL or a redirect
    // says: a hostile peer must not make us read file:// or talk ftp://.
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, WORKER_HTTP_PROTOCOLS);
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, WORKER_HTTP_PROTOCOLS);
    self->nconns++;
    worker_curlm_reserve(self->multi, self->nconns);
    return conn;
}

static void s_conn_free(worker_kind_t *kind, void *c)
{
    s_http_t *self = kind;
    s_conn_t *conn = c;
    if (conn->in_flight)
        worker_curlm_remove(self->multi, conn->easy);
    if (self->done_conn == conn)
        self->done_conn = NULL; // freed while its step was reported
    curl_easy_cleanup(conn->easy);
    curl_slist_free_all(conn->headers);
    curl_slist_free_all(conn->with_cookie);
    apex_buf_fini(&conn->cookie);
    free(conn->hop_url);
    apex_buf_fini(&conn->url);
    apex_buf_fini(&conn->body);
    worker_http_capture_fini(&conn->resp_body, &self->budget);
    worker_http_capture_fini(&conn->resp_headers, &self->budget);
    self->nconns--;
    free(conn);
}

static void s_set_method(s_conn_t *conn, const s_plan_t *plan, const char *body,
                         size_t body_len)
{
    CURL *easy = conn->easy;
    const char *method = plan->step->http->method;
    // HTTPGET resets the method, clears POST and NOBODY.
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (conn->custom_method && !plan->custom_method) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, NULL);
        conn->custom_method = false;
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (plan->custom_method) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
        conn->custom_method = true;
    }
}

// The URL, and the header list, for this user's request.
static void s_apply_target(s_conn_t *conn, const s_plan_t *plan,
                           const apex_template_ctx_t *ctx)
{
    const apex_http_step_t *req = plan->step->http;
    CURL *easy = conn->easy;
    apex_buf_t scratch;
    apex_buf_init(&scratch);
    if (plan->curlu) {
        curl_easy_setopt(easy, CURLOPT_CURLU, plan->curlu);
    } else {
        worker_http_url(conn->http->base, req, ctx, &conn->url, &scratch);
        curl_easy_setopt(easy, CURLOPT_CURLU, NULL);
        curl_easy_setopt(easy, CURLOPT_URL, apex_buf_str(&conn->url));
    }
    curl_slist_free_all(conn->headers);
    conn->headers = NULL;
    if (plan->headers_constant) {
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, plan->headers);
    } else {
        conn->headers = s_header_list(req, ctx, &scratch);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, conn->headers);
    }
    apex_buf_fini(&scratch);
}

// The step's TLS and HTTP options (common/scenario.h), each set to the
// step's value or back to libcurl's default, so a user whose steps differ
// carries nothing over from one to the next.
static void s_apply_http_options(CURL *easy, const apex_http_options_t *o)
{
    long verify = o->insecure == 1 ? 0L : 1L;
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, verify);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    curl_easy_setopt(easy, CURLOPT_CAINFO, o->ca_bundle);
    curl_easy_setopt(easy, CURLOPT_SSLCERT, o->client_cert);
    curl_easy_setopt(easy, CURLOPT_SSLKEY, o->client_key);
    long version = o->http2 == APEX_HTTP2_ON ? CURL_HTTP_VERSION_2TLS
                   : o->http2 == APEX_HTTP2_PRIOR
                       ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                       : CURL_HTTP_VERSION_1_1;
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, version);
    // NULL leaves libcurl to read http_proxy, HTTPS_PROXY, NO_PROXY...
    curl_easy_setopt(easy, CURLOPT_PROXY, o->proxy);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING,
                     o->compression == 1 ? "" : NULL);
    curl_easy_setopt(easy, CURLOPT_USERPWD, o->auth);
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH,
                     o->auth ? (long)CURLAUTH_BASIC : (long)CURLAUTH_NONE);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(o->connect_timeout * 1000));
}

// Set a step's options on the user's handle: URL, headers, method and
// body, timeout. They stay set: a user repeating a constant step (the
// common case) sets nothing again.
static void s_apply_options(s_conn_t *conn, const s_plan_t *plan,
                            const apex_template_ctx_t *ctx)
{
    const apex_http_step_t *req = plan->step->http;
    s_apply_target(conn, plan, ctx);
    const char *body = NULL;
    size_t body_len = 0;
    if (plan->body) {
        body = plan->body;
        body_len = plan->body_len;
    } else if (req->body) {
        apex_buf_reset(&conn->body);
        apex_template_expand(req->body, ctx, &conn->body);
        body = apex_buf_str(&conn->body);
        body_len = conn->body.len;
    }
    s_set_method(conn, plan, body, body_len);
    double timeout = plan->step->timeout;
    curl_easy_setopt(conn->easy, CURLOPT_TIMEOUT_MS,
                     (long)(timeout > 0 ? timeout * 1000 : 0));
    s_apply_http_options(conn->easy, &req->opts);
    conn->applied = plan->constant ? plan : NULL;
    conn->applied_curlu = plan->curlu;
}

// The URL of the request about to go out: a redirect's, the plan's
// constant one, or the one built for this user.
static const char *s_current_url(const s_conn_t *conn, const s_plan_t *plan)
{
    if (conn->hop_url)
        return conn->hop_url;
    return plan->curlu ? plan->url : apex_buf_str(&conn->url);
}

// The step's headers plus, when the jar has cookies for url, a Cookie
// header built from them.
static void s_apply_cookies(s_conn_t *conn, const s_plan_t *plan,
                            const char *url)
{
    struct curl_slist *base =
        plan->headers_constant ? plan->headers : conn->headers;
    apex_buf_reset(&conn->cookie);
    if (plan->own_cookie || !url ||
        apex_cookie_jar_header(conn->jar, url, apex_wall_time(),
                               &conn->cookie) == 0) {
        curl_easy_setopt(conn->easy, CURLOPT_HTTPHEADER, base);
        return;
    }
    struct curl_slist *list = NULL;
    for (const struct curl_slist *l = base; l; l = l->next)
        list = s_slist_add(list, l->data);
    char *line = apex_sprintf("Cookie: %s", apex_buf_str(&conn->cookie));
    list = s_slist_add(list, line);
    free(line);
    curl_easy_setopt(conn->easy, CURLOPT_HTTPHEADER, list);
    curl_slist_free_all(conn->with_cookie); // no longer set on the handle
    conn->with_cookie = list;
}

// Header callback on or off: curl drops headers with no function and no
// data.
static void s_want_headers(s_conn_t *conn, bool want)
{
    if (want == conn->header_fn)
        return;
    curl_easy_setopt(conn->easy, CURLOPT_HEADERFUNCTION,
                     want ? s_write_header : NULL);
    curl_easy_setopt(conn->easy, CURLOPT_HEADERDATA,
                     want ? (void *)conn : NULL);
    conn->header_fn = want;
}

static int s_start(worker_kind_t *kind, void *p, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    s_http_t *self = kind;
    const s_plan_t *plan = p;
    s_conn_t *conn = *conn_p;
    if (!conn) {
        conn = *conn_p = s_conn_new(self, u);
        if (!conn) {
            apex_err(WORKER_HTTP_RETRY_ERROR);
            return -1;
        }
    }
    if (!plan->constant || conn->applied != plan ||
        conn->applied_curlu != plan->curlu) {
        apex_template_ctx_t ctx = worker_user_template_ctx(u);
        s_apply_options(conn, plan, &ctx);
    }
    s_want_headers(conn, step->needs_headers || conn->jar);
    s_set_debug(conn, self->debug);
    free(conn->hop_url);
    conn->hop_url = NULL;
    conn->hops = 0;
    conn->hop_us = 0;
    conn->hop_bytes = 0;
    if (conn->jar)
        s_apply_cookies(conn, plan, s_current_url(conn, plan));
    worker_http_capture_reset(&conn->resp_body, &self->budget);
    conn->decoded = 0;
    worker_http_capture_reset(&conn->resp_headers, &self->budget);
    conn->plan = plan;
    if (worker_curlm_add(self->multi, conn->easy) != 0)
        return -1;
    conn->in_flight = true;
    return 0;
}

// ---------------------------------------------------------------------
// Completed requests

// libcurl 7.88 ends a transfer whose header line is over
// CURL_MAX_HTTP_HEADER with CURLE_OUT_OF_MEMORY and no message (issue 19's
// review: a 10 MB header read "Out of memory"): after the status line,
// before any body byte, that is what it means.
static bool s_header_too_large(const s_conn_t *conn, CURLcode res, long status)
{
    curl_off_t body = 0;
    curl_easy_getinfo(conn->easy, CURLINFO_SIZE_DOWNLOAD_T, &body);
    return res == CURLE_OUT_OF_MEMORY && status != 0 && body == 0;
}

// The error text for a transfer, as Locust's HttpUser would show it, or
// "" when the request succeeded.
static void s_failure_text(const s_conn_t *conn, CURLcode res, long status,
                           char *out, size_t size)
{
    const apex_step_t *step = conn->plan->step;
    out[0] = '\0';
    if (res != CURLE_OK) {
        long os_errno = 0;
        curl_off_t connected = 0;
        curl_easy_getinfo(conn->easy, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_getinfo(conn->easy, CURLINFO_CONNECT_TIME_T, &connected);
        double connect_timeout = step->http->opts.connect_timeout;
        if (res == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
            worker_failure_refused(out, size);
        else if ((res == CURLE_RECV_ERROR || res == CURLE_SEND_ERROR) &&
                 os_errno == ECONNRESET)
            worker_failure_errno(out, size, ECONNRESET);
        else if (res == CURLE_OPERATION_TIMEDOUT && connected == 0 &&
                 connect_timeout > 0 && connect_timeout < step->timeout)
            worker_failure_connect_timeout(out, size, connect_timeout);
        else if (res == CURLE_OPERATION_TIMEDOUT)
            worker_failure_timeout(out, size, step->timeout);
        else if (s_header_too_large(conn, res, status))
            worker_failure_headers_too_large(out, size);
        else
            worker_failure_curl(out, size, (int)res);
        return;
    }
    // The URL for Locust's HTTPError text (not CURLINFO_EFFECTIVE_URL:
    // libcurl 7.88 leaves it stale when the URL comes from a CURLU
    // handle on a re-used easy handle).
    const char *url =
        conn->plan->url ? conn->plan->url : apex_buf_str(&conn->url);
    if (step->name_given)
        url = step->name;
    worker_failure_status(
        out, size, status, step->http->expect, step->http->nexpect, step->name,
        url, apex_buf_str(&conn->resp_body.buf), conn->resp_body.buf.len);
}

// A user with a jar follows a redirect itself: true when the next hop
// is under way (its time and size so far are kept for the sample).
static bool s_follow(s_http_t *self, s_conn_t *conn, long status, uint64_t us,
                     uint64_t bytes)
{
    if (!worker_http_is_redirect(status) ||
        conn->hops >= WORKER_HTTP_MAX_REDIRS)
        return false;
    char *next = worker_http_location(apex_buf_str(&conn->resp_headers.buf),
                                      conn->resp_headers.buf.len,
                                      s_current_url(conn, conn->plan));
    if (!next)
        return false;
    const char *method = conn->plan->step->http->method;
    if (worker_http_redirect_method(status, method) != method) {
        curl_easy_setopt(conn->easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(conn->easy, CURLOPT_CUSTOMREQUEST, NULL);
        conn->custom_method = false;
    }
    free(conn->hop_url);
    conn->hop_url = next;
    conn->hops++;
    conn->hop_us += us;
    conn->hop_bytes += bytes;
    conn->applied = NULL; // the next step sets every option again
    curl_easy_setopt(conn->easy, CURLOPT_CURLU, NULL);
    curl_easy_setopt(conn->easy, CURLOPT_URL, conn->hop_url);
    s_apply_cookies(conn, conn->plan, conn->hop_url);
    worker_http_capture_reset(&conn->resp_body, &self->budget);
    conn->decoded = 0;
    worker_http_capture_reset(&conn->resp_headers, &self->budget);
    if (worker_curlm_add(self->multi, conn->easy) != 0)
        return false;
    conn->in_flight = true;
    return true;
}

static void s_on_done(void *arg, CURL *easy, void *priv, CURLcode res)
{
    s_http_t *self = arg;
    s_conn_t *conn = priv;
    if (!conn || !conn->in_flight)
        return;
    worker_curlm_remove(self->multi, easy);
    conn->in_flight = false;
    curl_off_t total_us = 0, bytes = 0;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    uint64_t us = total_us > 0 ? (uint64_t)total_us : 0;
    uint64_t size = bytes > 0 ? (uint64_t)bytes : 0;
    // libcurl counts what came over the wire; Locust (requests) the
    // decoded body.
    if (conn->plan->step->http->opts.compression == 1)
        size = conn->decoded;
    if (conn->jar) {
        if (conn->resp_headers.buf.len)
            apex_cookie_jar_set_from_headers(
                conn->jar, s_current_url(conn, conn->plan),
                apex_buf_str(&conn->resp_headers.buf),
                conn->resp_headers.buf.len, apex_wall_time());
        if (res == CURLE_OK && s_follow(self, conn, status, us, size))
            return;
    }
    char failure[WORKER_FAILURE_MAX];
    if (conn->jar && res == CURLE_OK && worker_http_is_redirect(status) &&
        conn->hops >= WORKER_HTTP_MAX_REDIRS)
        res = CURLE_TOO_MANY_REDIRECTS; // worded as libcurl's own following
    s_failure_text(conn, res, status, failure, sizeof failure);
    worker_result_t result = {
        .elapsed_us = conn->hop_us + us,
        .bytes = conn->hop_bytes + size,
        .failure = failure[0] ? failure : NULL,
        .headers = apex_buf_str(&conn->resp_headers.buf),
        .headers_len = conn->resp_headers.buf.len,
        .body = apex_buf_str(&conn->resp_body.buf),
        .body_len = conn->plan->step->needs_body ? conn->resp_body.buf.len : 0,
        .cut = conn->resp_headers.cut ? conn->resp_headers.cut
                                      : conn->resp_body.cut,
    };
    // Last: the user may start its next step, or be freed with conn;
    // when it is not, a big response is let go now, not when the user
    // next sends a request (the budget counts it until then).
    self->done_conn = conn;
    worker_user_step_done(conn->user, &result);
    if (self->done_conn == conn && !conn->in_flight) {
        worker_http_capture_reset(&conn->resp_body, &self->budget);
        worker_http_capture_reset(&conn->resp_headers, &self->budget);
    }
    self->done_conn = NULL;
}

// ---------------------------------------------------------------------
// The kind

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    s_http_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->multi = worker_curlm_new(loop, s_on_done, self, err);
    if (!self->multi) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_http_t *self = *self_p;
    worker_curlm_destroy(&self->multi);
    for (size_t i = 0; i < self->nold_urls; i++)
        curl_url_cleanup(self->old_urls[i]);
    free(self->old_urls);
    free(self->plans);
    free(self->base);
    free(self);
    *self_p = NULL;
}

static void s_after_iteration(worker_kind_t *kind)
{
    s_http_t *self = kind;
    worker_curlm_after_iteration(self->multi);
}

void worker_http_curl_set_debug(worker_kind_t *kind, int level)
{
    s_http_t *self = kind;
    self->debug = level;
}

const worker_kind_ops_t worker_http_curl_ops = {
    .name = "http",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .set_base = s_set_base,
    .start = s_start,
    .conn_free = s_conn_free,
    .after_iteration = s_after_iteration,
};
