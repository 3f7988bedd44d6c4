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

#include <stdio.h>
#include <string.h>

#define S_STATUS_LINE_MAX 32 // "HTTP/1.1 200 " and its NUL

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
    char line[S_STATUS_LINE_MAX];
    int n =
        snprintf(line, sizeof line, "HTTP/%u.%u %u ", self->parser.http_major,
                 self->parser.http_minor, self->parser.status_code);
    apex_buf_append(self->headers, line, (size_t)n);
}

// Whether this message's headers are kept: decided at its first piece,
// when the status is known.
static void s_start_headers(worker_http1_response_t *self)
{
    if (self->collecting || self->headers->len)
        return;
    int st = self->parser.status_code;
    self->collecting = self->keep_headers || (st >= 300 && st < 400);
    if (self->collecting) {
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
    if (self->collecting)
        apex_buf_append(self->headers, at, len);
    return 0;
}

static void s_end_line(worker_http1_response_t *self)
{
    if (self->collecting)
        apex_buf_append(self->headers, "\r\n", 2);
    self->in_status = false;
}

static int s_on_field(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    if (self->headers_done)
        return 0; // a chunked body's trailer: not in the block
    if (!self->collecting && self->headers->len == 0)
        s_start_headers(self);
    if (!self->collecting)
        return 0;
    if (self->in_value || self->in_status)
        s_end_line(self); // after a value, or after the status line
    self->in_value = false;
    apex_buf_append(self->headers, at, len);
    return 0;
}

static int s_on_value(http_parser *p, const char *at, size_t len)
{
    worker_http1_response_t *self = s_self(p);
    if (!self->collecting || self->headers_done)
        return 0;
    if (!self->in_value)
        apex_buf_append(self->headers, ": ", 2);
    self->in_value = true;
    apex_buf_append(self->headers, at, len);
    return 0;
}

static int s_on_headers_complete(http_parser *p)
{
    worker_http1_response_t *self = s_self(p);
    s_start_headers(self);
    if (self->collecting) {
        if (self->in_value || self->in_status)
            s_end_line(self);
        s_end_line(self);
    }
    self->in_value = false;
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
    if (self->body->len < keep) {
        size_t room = keep - self->body->len;
        apex_buf_append(self->body, at, len < room ? len : room);
    }
    return 0;
}

static int s_on_message_complete(http_parser *p)
{
    worker_http1_response_t *self = s_self(p);
    if (s_interim(p)) {
        apex_buf_reset(self->headers); // the final response's block only
        self->collecting = self->headers_done = false;
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
                                 bool keep_headers, apex_buf_t *headers,
                                 apex_buf_t *body, size_t body_keep,
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
    apex_buf_reset(body);
    self->body_keep = body_keep;
    self->fail_keep = fail_keep;
    self->keep_headers = keep_headers;
    self->head = head;
    self->collecting = self->in_value = self->complete = false;
    self->in_status = self->headers_done = false;
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
    if (HTTP_PARSER_ERRNO(&self->parser) != HPE_OK || used < len)
        return WORKER_HTTP1_BAD;
    return WORKER_HTTP1_MORE;
}

bool worker_http1_response_keep_alive(const worker_http1_response_t *self)
{
    return self->complete && !self->extra &&
           http_should_keep_alive(&self->parser);
}
