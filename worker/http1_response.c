// worker/http1_response.c - see http1_response.h.
//
// http-parser calls back with pieces of the status line, header names
// and values, which are appended to the header block as they come
// (a name or value may arrive in several pieces). On the final message's
// end the parser is paused, so bytes after it (a server that sends more
// than one response to one request) are seen as extra rather than
// parsed as the next message. An interim 1xx response (100 Continue, 103
// Early Hints) completes as a message of its own: its headers are
// dropped and parsing goes on. The parser's header limit is raised to
// libcurl's once per process (it is a global of libhttp-parser).
#include "worker/http1_response.h"

#include <string.h>
#include <strings.h>

#define S_STATUS_LINE_MAX 14 // "HTTP/1.1 200 " and its NUL
#define S_SET_COOKIE_LEN 10  // strlen("Set-Cookie")

// What a message's headers keep (worker_http1_response_t.mode).
enum {
    S_MODE_UNDECIDED, // no piece of them yet
    S_MODE_ALL,       // the whole block
    S_MODE_COOKIES,   // the Set-Cookie lines
    S_MODE_NONE       // nothing
};

static bool s_interim(const http_parser *p)
{
    return p->status_code >= 100 && p->status_code < 200 &&
           p->status_code != 101;
}

static worker_http1_response_t *s_self(http_parser *p)
{
    return p->data;
}

static void s_status_line(worker_http1_response_t *self)
{
    // "HTTP/1.1 200 " without snprintf: this runs for every response
    // whose headers are kept.
    char line[S_STATUS_LINE_MAX] = "HTTP/1.1 000 ";
    unsigned code = self->parser.status_code;
    line[5] = (char)('0' + self->parser.http_major % 10);
    line[7] = (char)('0' + self->parser.http_minor % 10);
    line[9] = (char)('0' + code / 100 % 10);
    line[10] = (char)('0' + code / 10 % 10);
    line[11] = (char)('0' + code % 10);
    apex_buf_append(self->headers, line, 13);
}

// What this message's headers keep: decided at its first piece, when the
// status is known. A redirect's are kept whole (its Location).
static void s_start_headers(worker_http1_response_t *self)
{
    if (self->mode != S_MODE_UNDECIDED)
        return;
    int st = self->parser.status_code;
    self->mode = self->keep_headers || (st >= 300 && st < 400) ? S_MODE_ALL
                 : self->keep_cookies                          ? S_MODE_COOKIES
                                                               : S_MODE_NONE;
    if (self->mode == S_MODE_ALL) {
        s_status_line(self);
        self->in_status = true;
    }
}

static int s_on_message_begin(http_parser *p)
{
    s_self(p)->started = true;
    return 0;
}

static int s_on_status(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    s_start_headers(self);
    if (self->mode == S_MODE_ALL)
        apex_buf_append(self->headers, at, len);
    return 0;
}

static void s_end_line(worker_http1_response_t *self)
{
    if (self->mode == S_MODE_ALL || self->matching)
        apex_buf_append(self->headers, "\r\n", 2);
    self->in_status = false;
}

static int s_on_field(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    if (self->headers_done)
        return 0; // a chunked body's trailer: not in the block
    s_start_headers(self);
    if (self->mode == S_MODE_NONE)
        return 0;
    if (self->in_value || self->in_status) {
        s_end_line(self); // after a value, or after the status line
        self->name_len = 0;
        self->matching = false;
    }
    self->in_value = false;
    if (self->mode == S_MODE_ALL) {
        apex_buf_append(self->headers, at, len);
        return 0;
    }
    // Cookies only: the name, in pieces, up to the length of Set-Cookie.
    if (self->name_len + len <= sizeof self->name) {
        memcpy(self->name + self->name_len, at, len);
        self->name_len += len;
    } else {
        self->name_len = sizeof self->name + 1; // too long: no match
    }
    return 0;
}

static int s_on_value(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    if (self->mode == S_MODE_NONE || self->headers_done)
        return 0;
    if (!self->in_value) {
        if (self->mode == S_MODE_COOKIES) {
            self->matching =
                self->name_len == S_SET_COOKIE_LEN &&
                strncasecmp(self->name, "Set-Cookie", S_SET_COOKIE_LEN) == 0;
            if (self->matching)
                apex_buf_append(self->headers, "Set-Cookie", S_SET_COOKIE_LEN);
        }
        if (self->mode == S_MODE_ALL || self->matching)
            apex_buf_append(self->headers, ": ", 2);
    }
    self->in_value = true;
    if (self->mode == S_MODE_ALL || self->matching)
        apex_buf_append(self->headers, at, len);
    return 0;
}

static int s_on_headers_complete(http_parser *p)
{
    worker_http1_response_t *self = s_self(p);
    s_start_headers(self);
    if (self->in_value || self->in_status)
        s_end_line(self);
    if (self->mode == S_MODE_ALL)
        apex_buf_append(self->headers, "\r\n", 2);
    self->in_value = self->matching = false;
    self->headers_done = true;
    if (p->status_code < 100 || p->status_code > 999)
        return -1; // http-parser takes "HTTP/1.1 30 X": libcurl does not
    if (s_interim(p))
        return 0;
    self->status = p->status_code;
    // A HEAD response has headers that describe a body it does not send;
    // 204 and 304 have none whatever they say (http-parser would wait
    // for a Content-Length's bytes).
    return self->head || p->status_code == 204 || p->status_code == 304 ? 1 : 0;
}

static int s_on_body(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    self->bytes += len;
    size_t keep = self->status >= 400 && self->fail_keep > self->body_keep
                      ? self->fail_keep
                      : self->body_keep;
    size_t have = self->body->buf.len;
    if (keep >= WORKER_HTTP_CAPTURE_MAX) // all of it, or cut with a reason
        worker_http_capture_add(self->body, self->budget, "body", at, len);
    else if (have < keep)
        worker_http_capture_add(self->body, self->budget, "body", at,
                                len < keep - have ? len : keep - have);
    return 0;
}

static int s_on_message_complete(http_parser *p)
{
    worker_http1_response_t *self = s_self(p);
    if (s_interim(p)) {
        apex_buf_reset(self->headers); // the final response's block only
        self->mode = S_MODE_UNDECIDED;
        self->headers_done = false;
        return 0;
    }
    self->complete = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings s_settings = {
    .on_message_begin = s_on_message_begin,
    .on_status = s_on_status,
    .on_header_field = s_on_field,
    .on_header_value = s_on_value,
    .on_headers_complete = s_on_headers_complete,
    .on_body = s_on_body,
    .on_message_complete = s_on_message_complete,
};

void worker_http1_response_begin(worker_http1_response_t *self, bool head,
                                 bool keep_headers, bool keep_cookies,
                                 apex_buf_t *headers,
                                 worker_http_capture_t *body,
                                 worker_http_budget_t *budget, size_t body_keep,
                                 size_t fail_keep)
{
    static bool limit_set;
    if (!limit_set) {
        http_parser_set_max_header_size(WORKER_HTTP1_MAX_HEADER);
        limit_set = true;
    }
    http_parser_init(&self->parser, HTTP_RESPONSE);
    self->parser.data = self;
    self->headers = headers;
    self->body = body;
    apex_buf_reset(headers);
    self->budget = budget;
    worker_http_capture_reset(body, budget);
    self->body_keep = body_keep;
    self->fail_keep = fail_keep;
    self->keep_headers = keep_headers;
    self->head = head;
    self->keep_cookies = keep_cookies;
    self->mode = S_MODE_UNDECIDED;
    self->in_value = self->complete = self->matching = false;
    self->in_status = self->headers_done = false;
    self->name_len = 0;
    self->started = self->extra = false;
    self->status = 0;
    self->bytes = 0;
}

worker_http1_status_t worker_http1_response_feed(worker_http1_response_t *self,
                                                 const char *data, size_t len)
{
    if (len == 0) {
        if (!self->started)
            return WORKER_HTTP1_EMPTY;
        http_parser_execute(&self->parser, &s_settings, NULL, 0);
        if (self->complete)
            return WORKER_HTTP1_COMPLETE; // a body that ends with the stream
        return HTTP_PARSER_ERRNO(&self->parser) == HPE_OK ||
                       HTTP_PARSER_ERRNO(&self->parser) == HPE_INVALID_EOF_STATE
                   ? WORKER_HTTP1_PARTIAL
                   : WORKER_HTTP1_BAD;
    }
    size_t used = http_parser_execute(&self->parser, &s_settings, data, len);
    if (self->complete) {
        self->extra = used < len;
        return WORKER_HTTP1_COMPLETE;
    }
    if (HTTP_PARSER_ERRNO(&self->parser) == HPE_HEADER_OVERFLOW)
        return WORKER_HTTP1_TOO_LARGE;
    if (HTTP_PARSER_ERRNO(&self->parser) != HPE_OK || used < len)
        return WORKER_HTTP1_BAD;
    return WORKER_HTTP1_MORE;
}

bool worker_http1_response_keep_alive(const worker_http1_response_t *self)
{
    return self->complete && !self->extra &&
           http_should_keep_alive(&self->parser);
}
