// tests/fuzz/fuzz_http1.c - what a hostile server can send the plain
// HTTP/1.1 engine: a response (worker/http1_response.c, http-parser
// underneath) fed in the pieces the input's first byte chooses, with
// the options its second byte chooses (a HEAD request, headers kept, a
// body limit), then the end of the stream; and the same bytes as a URL
// for the target parser (worker/http1_target.c) and as a body quoted by
// a failure text (worker/failure.c); a complete response's Location is
// resolved as a redirect would follow it (worker/http_redirect.c).
//
// Checked: the body kept never passes its limit nor the body bytes
// counted; a complete response has a final status (not 1xx but 101) and,
// when its headers were kept, a block that starts with "HTTP/" and ends
// with an empty line, or for a cookie jar alone only Set-Cookie lines; a parsed
// URL's port is in range and its target lies inside the URL; a failure text is
// NUL-terminated within its size; a redirect's next URL is absolute.
#include "tests/fuzz/fuzz.h"

#include "common/buf.h"
#include "worker/failure.h"
#include "worker/http1_response.h"
#include "worker/http1_target.h"
#include "worker/http_redirect.h"

// Where a redirect would go next, and with which method.
static void s_location(const apex_buf_t *headers, int status)
{
    char *next =
        worker_http_location(headers->data, headers->len, "http://h/a/b?c");
    if (next) {
        FUZZ_CHECK(strstr(next, "://") != NULL, "next hop %.40s", next);
        free(next);
    }
    const char *m = worker_http_redirect_method(status, "POST");
    FUZZ_CHECK(strcmp(m, "POST") == 0 || strcmp(m, "GET") == 0, "method %s", m);
}

static void s_response(const uint8_t *data, size_t size, size_t piece,
                       uint8_t flags)
{
    apex_buf_t headers;
    apex_buf_init(&headers);
    worker_http_capture_t capture;
    worker_http_capture_init(&capture);
    worker_http_budget_t budget = {0};
    const apex_buf_t *kept = &capture.buf;
    worker_http1_response_t r;
    size_t keep = (flags & 4) ? 16 : (flags & 8) ? 1u << 20 : 0;
    worker_http1_response_begin(&r, flags & 1, flags & 2, flags & 16, &headers,
                                &capture, &budget, keep,
                                WORKER_FAILURE_BODY_MAX + 1);
    worker_http1_status_t st = WORKER_HTTP1_MORE;
    size_t at = 0;
    while (at < size && st == WORKER_HTTP1_MORE) {
        size_t n = size - at < piece ? size - at : piece;
        st = worker_http1_response_feed(&r, (const char *)data + at, n);
        at += n;
    }
    if (st == WORKER_HTTP1_MORE)
        st = worker_http1_response_feed(&r, NULL, 0);
    size_t limit =
        keep > WORKER_FAILURE_BODY_MAX + 1 ? keep : WORKER_FAILURE_BODY_MAX + 1;
    FUZZ_CHECK(kept->len <= limit, "kept %zu > %zu", kept->len, limit);
    FUZZ_CHECK(kept->len <= r.bytes, "kept %zu of %llu", kept->len,
               (unsigned long long)r.bytes);
    FUZZ_CHECK(budget.held == kept->cap, "budget %zu for %zu held", budget.held,
               kept->cap);
    if (st == WORKER_HTTP1_COMPLETE) {
        FUZZ_CHECK(r.status >= 100 && r.status <= 999 &&
                       (r.status >= 200 || r.status == 101),
                   "status %d", r.status);
        if (headers.len >= 5 && memcmp(headers.data, "HTTP/", 5) == 0) {
            FUZZ_CHECK(
                headers.len >= 4 &&
                    memcmp(headers.data + headers.len - 4, "\r\n\r\n", 4) == 0,
                "block of %zu bytes not ended", headers.len);
        } else if (headers.len) { // Set-Cookie lines only
            FUZZ_CHECK((flags & 16) && !(flags & 2) &&
                           strncmp(headers.data, "Set-Cookie: ", 12) == 0,
                       "cookie lines: %.*s",
                       (int)(headers.len < 20 ? headers.len : 20),
                       headers.data);
        }
        (void)worker_http1_response_keep_alive(&r);
        char text[WORKER_FAILURE_MAX];
        int expect = 201;
        worker_failure_status(text, sizeof text, r.status, &expect, 1, "/x",
                              "http://h/x", kept->data, kept->len);
        FUZZ_CHECK(strlen(text) < sizeof text, "failure text");
        s_location(&headers, r.status);
    }
    apex_buf_fini(&headers);
    worker_http_capture_fini(&capture, &budget);
    FUZZ_CHECK(budget.held == 0, "budget %zu after fini", budget.held);
}

static void s_url(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    worker_http1_target_t t;
    if (worker_http1_target_parse(url, &t) == WORKER_HTTP1_URL_OK) {
        size_t len = strlen(url);
        FUZZ_CHECK(t.port >= 0 && t.port <= 65535, "port %d", t.port);
        FUZZ_CHECK(t.target >= url && t.target + t.target_len <= url + len,
                   "target outside the URL");
        FUZZ_CHECK(t.host[0] != '\0', "empty host");
    }
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t piece = 1 + data[0] % 64; // the server's writes
    uint8_t flags = data[1];
    s_response(data + 2, size - 2, piece, flags);
    s_url(data + 2, size - 2);
    return 0;
}
