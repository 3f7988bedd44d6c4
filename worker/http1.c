// worker/http1.c - the plain HTTP/1.1 engine (see http1.h).
//
// A user's state (s_conn_t) holds its connection: the socket, watched
// for reading as long as it is open (so a server closing an idle
// connection is seen and the descriptor freed at once), the peer it is
// connected to, and the step in flight. A request goes out on the open
// connection when it leads to the same host and port, else on a new one
// (the old one closed): so every user holds at most one connection, and
// the server sees as many as there are users holding one. Requests are
// never pipelined: the next one starts after the response is whole.
//
// States of a step: RESOLVING (a host name, worker/resolve.h; numeric
// addresses skip it), CONNECTING (non-blocking connect(), waiting for
// EPOLLOUT), SENDING (the request did not fit in one write()), RECEIVING.
// Between steps the connection is IDLE or CLOSED.
//
// libcurl's habits kept so that both engines read alike to a server and
// in the stats: a request that went out on a connection used before and
// got nothing back (the server closed it meanwhile: keepalive_requests)
// is sent once more on a new connection; redirects are followed as
// worker/http_redirect.h says, their times and sizes adding up to one
// sample; failures are worded
// with libcurl's codes where Locust has no word of its own
// (worker/failure.h). The step's timeout covers all of it; the connect
// timeout, when set, the connection alone.
//
// Memory per user: this struct and the buffers a user needs (its
// request when it varies, the response's headers when kept, the start
// of a body); reads go through one buffer shared by all users.
#include "worker/http1.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "worker/failure.h"
#include "worker/http1_request.h"
#include "worker/http1_response.h"
#include "worker/http_debug.h"
#include "worker/http_redirect.h"
#include "worker/http_url.h"
#include "worker/resolve.h"

#define WORKER_HTTP1_READ_MAX (64u * 1024u) // bytes per read()

typedef enum {
    S_CLOSED,     // no connection
    S_IDLE,       // connected, no request
    S_RESOLVING,  // waiting for the host's address
    S_CONNECTING, // connect() under way
    S_SENDING,    // the request is partly written
    S_RECEIVING   // waiting for (the rest of) the response
} s_state_t;

typedef struct {
    apex_loop_t *loop;                // the loop
    worker_resolver_t *resolver;      // host names
    char *base;                       // base URL, or NULL
    worker_http1_plan_t **plans;      // every plan, to rebuild on a new base
    size_t nplans;                    // their number
    size_t plans_cap;                 // slots
    int debug;                        // --http-debug level
    worker_http1_env_t env;           // the environment\'s proxy
    worker_http_budget_t budget;      // bytes of bodies kept, all users
    void *done_conn;                  // the conn whose step is reported
    char rbuf[WORKER_HTTP1_READ_MAX]; // every read goes here first
} s_h1_t;

typedef struct {
    s_h1_t *h1;                      // the engine
    worker_user_t *user;             // whose state it is
    apex_cookie_jar_t *jar;          // its cookie jar, or NULL
    const worker_http1_plan_t *plan; // the step in flight (or last)
    int fd;                          // the connection, -1 when closed
    apex_io_t io;                    // its watcher
    apex_timer_t timer;              // the step's deadline (or a failure)
    worker_lookup_t *lookup;         // a name being resolved, or NULL
    s_state_t state;                 // see the top
    bool in_flight;                  // a step is under way
    bool reused;                     // the request went on a used
                                     // connection
    bool retried;                    // and was sent again once
    bool connected_once;             // the connection carried a request
    char *peer_host;                 // the connection's host, or NULL
    int peer_port;                   // and port
    const char *url;                 // the URL in flight
    worker_http1_target_t target;    // its parts
    apex_buf_t url_buf;              // the step's URL for this user
    apex_buf_t hop_buf;              // a redirect's URL
    apex_buf_t out;                  // a request built for this user
    const char *out_data;            // the request in flight
    size_t out_len;                  // its length
    size_t out_sent;                 // bytes of it written
    const char *method;              // its method
    worker_http1_response_t resp;    // the response being read
    apex_buf_t headers;              // its header block (when kept)
    worker_http_capture_t body;      // its body (when kept)
    unsigned hops;                   // redirects followed
    uint64_t hop_bytes;              // content bytes before this hop
    uint64_t started_us;             // the step's start (apex_now_us)
    uint64_t deadline;               // the step's end, loop time
    uint64_t connect_deadline;       // the connection's, 0: none
    char *failure;                   // a failure the timer reports
} s_conn_t;

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events);
static void s_go(s_conn_t *c);

// ---------------------------------------------------------------------
// Connections

static void s_close(s_conn_t *c)
{
    if (c->fd >= 0) {
        apex_io_stop(c->h1->loop, &c->io);
        close(c->fd);
        c->fd = -1;
    }
    worker_resolve_cancel(&c->lookup);
    free(c->peer_host);
    c->peer_host = NULL;
    c->state = S_CLOSED;
    c->connected_once = false;
}

static void s_watch(s_conn_t *c, bool write)
{
    apex_error_t err = {""};
    uint32_t events = EPOLLIN | (write ? EPOLLOUT : 0);
    if (c->io.fd == c->fd && c->io.events == events)
        return;
    if (apex_io_start(c->h1->loop, &c->io, c->fd, events, &err) != 0)
        apex_warn("http1: %s", err.msg);
}

// The step ends: result out, the user told last (it may start its next
// step on c, or free it).
static void s_report(s_conn_t *c, const char *failure)
{
    apex_timer_stop(c->h1->loop, &c->timer);
    c->in_flight = false;
    const apex_step_t *step = c->plan->step;
    worker_result_t result = {
        .elapsed_us = apex_now_us() - c->started_us,
        .bytes = c->hop_bytes + c->resp.bytes,
        .failure = failure && failure[0] ? failure : NULL,
        .headers = apex_buf_str(&c->headers),
        .headers_len = c->headers.len,
        .body = apex_buf_str(&c->body.buf),
        .body_len = step->needs_body ? c->body.buf.len : 0,
        .cut = step->needs_body ? c->body.cut : NULL,
    };
    // When the user does not start its next step on c (nor frees it), a
    // big body is let go now (the budget counts it until then).
    s_h1_t *h1 = c->h1;
    h1->done_conn = c;
    worker_user_step_done(c->user, &result);
    if (h1->done_conn == c && !c->in_flight)
        worker_http_capture_reset(&c->body, &h1->budget);
    h1->done_conn = NULL;
}

static void s_fail_with(s_conn_t *c, const char *failure)
{
    s_close(c);
    s_report(c, failure);
}

static void s_fail_curl(s_conn_t *c, CURLcode code)
{
    char text[WORKER_FAILURE_MAX];
    worker_failure_curl(text, sizeof text, (int)code);
    s_fail_with(c, text);
}

static void s_fail_errno(s_conn_t *c, int error)
{
    char text[WORKER_FAILURE_MAX];
    if (error == ECONNREFUSED || error == ECONNRESET)
        worker_failure_errno(text, sizeof text, error);
    else
        worker_failure_curl(text, sizeof text, CURLE_COULDNT_CONNECT);
    s_fail_with(c, text);
}

// A used connection that fails before any byte of the response came back
// was closed by the server between requests: send once more on a new one.
static bool s_retry(s_conn_t *c)
{
    if (!c->reused || c->retried || c->resp.started)
        return false;
    c->retried = true;
    s_close(c);
    s_go(c);
    return true;
}

// Connected: send.
static void s_write(s_conn_t *c);

static void s_connect(s_conn_t *c, const struct sockaddr *addr,
                      socklen_t addrlen)
{
    int fd =
        socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        s_fail_curl(c, CURLE_COULDNT_CONNECT);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->peer_host = apex_strdup(c->target.host);
    c->peer_port = c->target.port;
    if (connect(fd, addr, addrlen) == 0) {
        c->state = S_SENDING;
        s_write(c);
        return;
    }
    if (errno != EINPROGRESS) {
        s_fail_errno(c, errno);
        return;
    }
    c->state = S_CONNECTING;
    s_watch(c, true);
}

static void s_on_resolved(void *arg, const struct sockaddr *addr,
                          socklen_t addrlen, const char *error)
{
    s_conn_t *c = arg;
    c->lookup = NULL;
    (void)error; // worded as libcurl does
    if (!addr)
        s_fail_curl(c, CURLE_COULDNT_RESOLVE_HOST);
    else
        s_connect(c, addr, addrlen);
}

// A numeric host straight away, a name through the resolver.
static void s_open(s_conn_t *c)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->target.host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)c->target.port);
        s_connect(c, (struct sockaddr *)in4, sizeof *in4);
    } else if (inet_pton(AF_INET6, c->target.host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)c->target.port);
        s_connect(c, (struct sockaddr *)in6, sizeof *in6);
    } else {
        c->state = S_RESOLVING;
        c->lookup = worker_resolve(c->h1->resolver, c->target.host,
                                   c->target.port, s_on_resolved, c);
    }
}

// ---------------------------------------------------------------------
// Sending

static void s_debug_request(const s_conn_t *c)
{
    const char *end = memmem(c->out_data, c->out_len, "\r\n\r\n", 4);
    size_t head = end ? (size_t)(end - c->out_data) + 2 : c->out_len;
    worker_http_debug_headers('>', c->out_data, head);
    size_t shown = 0;
    if (end)
        worker_http_debug_body(c->h1->debug, '>', end + 4,
                               c->out_len - head - 2, &shown);
}

static void s_write(s_conn_t *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out_data + c->out_sent,
                         c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->state = S_SENDING;
            s_watch(c, true);
            return;
        }
        int error = n < 0 ? errno : EPIPE;
        if (!s_retry(c)) {
            if (error == ECONNRESET || error == EPIPE)
                s_fail_errno(c, ECONNRESET);
            else
                s_fail_curl(c, CURLE_SEND_ERROR);
        }
        return;
    }
    c->state = S_RECEIVING;
    c->connected_once = true;
    s_watch(c, false);
}

// Send the request in c->out_data on the open connection when it leads to
// the same host and port, else on a new one.
static void s_go(s_conn_t *c)
{
    const apex_step_t *step = c->plan->step;
    worker_http1_response_begin(
        &c->resp, strcmp(c->method, "HEAD") == 0,
        step->needs_headers || c->h1->debug, c->jar != NULL, &c->headers,
        &c->body, &c->h1->budget,
        step->needs_body ? WORKER_HTTP_CAPTURE_MAX
                         : (c->h1->debug == WORKER_HTTP_DEBUG_FULL
                                ? WORKER_HTTP_DEBUG_BODY_MAX
                                : 0),
        WORKER_FAILURE_BODY_MAX + 1);
    c->out_sent = 0;
    if (c->h1->debug)
        s_debug_request(c);
    bool same = c->fd >= 0 && c->state == S_IDLE && c->peer_host &&
                c->peer_port == c->target.port &&
                strcmp(c->peer_host, c->target.host) == 0;
    if (same) {
        c->reused = true;
        c->state = S_SENDING;
        s_write(c);
        return;
    }
    s_close(c);
    c->reused = false;
    double ct = step->http->opts.connect_timeout;
    c->connect_deadline = 0;
    if (ct > 0 && ct < step->timeout) {
        c->connect_deadline = apex_loop_now(c->h1->loop) + apex_us_from_s(ct);
        apex_timer_start_at(c->h1->loop, &c->timer, c->connect_deadline);
    }
    s_open(c);
}

// Build the request for the URL in c->url (a redirect: method GET or the
// step's) and send it.
static void s_send(s_conn_t *c, const char *method)
{
    const worker_http1_plan_t *plan = c->plan;
    c->method = method;
    apex_buf_t cookie;
    apex_buf_init(&cookie);
    bool with_cookie =
        c->jar && !plan->own_cookie &&
        apex_cookie_jar_header(c->jar, c->url, apex_wall_time(), &cookie) > 0;
    if (plan->constant && !with_cookie && c->url == plan->url &&
        method == plan->step->http->method) {
        c->out_data = plan->request.data;
        c->out_len = plan->request.len;
    } else {
        apex_template_ctx_t ctx = worker_user_template_ctx(c->user);
        apex_buf_t scratch;
        apex_buf_init(&scratch);
        worker_http1_request(plan, method, &c->target, &ctx,
                             with_cookie ? apex_buf_str(&cookie) : NULL,
                             &c->out, &scratch);
        apex_buf_fini(&scratch);
        c->out_data = c->out.data;
        c->out_len = c->out.len;
    }
    apex_buf_fini(&cookie);
    s_go(c);
}

// ---------------------------------------------------------------------
// Receiving

// Point c at url (copied) and check it: 0, or -1 when the step failed.
static int s_target(s_conn_t *c, const char *url)
{
    apex_buf_reset(&c->hop_buf);
    apex_buf_puts(&c->hop_buf, url);
    c->url = apex_buf_str(&c->hop_buf);
    switch (worker_http1_target_parse(c->url, &c->target)) {
    case WORKER_HTTP1_URL_OK:
        return 0;
    case WORKER_HTTP1_URL_HTTPS: {
        char text[WORKER_FAILURE_MAX];
        worker_failure_engine(text, sizeof text,
                              "engine http1 runs plain http:// only: "
                              "https:// needs engine curl or auto");
        s_fail_with(c, text);
        return -1;
    }
    case WORKER_HTTP1_URL_SCHEME:
        s_fail_curl(c, CURLE_UNSUPPORTED_PROTOCOL);
        return -1;
    default:
        s_fail_curl(c, CURLE_URL_MALFORMAT);
        return -1;
    }
}

// A redirect to follow: true when the next hop is under way or the step
// ended.
static bool s_follow(s_conn_t *c, int status)
{
    if (!worker_http_is_redirect(status))
        return false;
    if (c->hops >= WORKER_HTTP_MAX_REDIRS) {
        s_fail_curl(c, CURLE_TOO_MANY_REDIRECTS);
        return true;
    }
    char *next = worker_http_location(c->headers.data, c->headers.len, c->url);
    if (!next)
        return false;
    const char *method = worker_http_redirect_method(status, c->method);
    c->hops++;
    c->hop_bytes += c->resp.bytes;
    c->retried = false;
    int rc = s_target(c, next);
    free(next);
    if (rc == 0)
        s_send(c, method);
    return true;
}

static void s_debug_response(const s_conn_t *c)
{
    worker_http_debug_headers('<', c->headers.data, c->headers.len);
    size_t shown = 0;
    worker_http_debug_body(c->h1->debug, '<', c->body.buf.data,
                           c->body.buf.len < c->resp.bytes ? c->body.buf.len
                                                           : c->resp.bytes,
                           &shown);
}

static void s_complete(s_conn_t *c)
{
    const apex_step_t *step = c->plan->step;
    if (worker_http1_response_keep_alive(&c->resp) && c->out_sent == c->out_len)
        c->state = S_IDLE;
    else
        s_close(c);
    if (c->h1->debug)
        s_debug_response(c);
    if (c->jar)
        apex_cookie_jar_set_from_headers(c->jar, c->url, c->headers.data,
                                         c->headers.len, apex_wall_time());
    int status = c->resp.status;
    if (s_follow(c, status))
        return;
    // The URL of Locust's HTTPError: the step's own, not a redirect's.
    const char *url = step->name_given ? step->name
                      : c->plan->url   ? c->plan->url
                                       : apex_buf_str(&c->url_buf);
    char text[WORKER_FAILURE_MAX];
    worker_failure_status(text, sizeof text, status, step->http->expect,
                          step->http->nexpect, step->name, url,
                          apex_buf_str(&c->body.buf), c->body.buf.len);
    s_report(c, text);
}

// The stream ended or failed while a response was awaited.
static void s_read_end(s_conn_t *c, ssize_t n, int error)
{
    if (n == 0) {
        worker_http1_status_t st =
            worker_http1_response_feed(&c->resp, NULL, 0);
        if (st == WORKER_HTTP1_COMPLETE) {
            s_close(c);
            s_complete(c);
        } else if (!s_retry(c)) {
            s_fail_curl(c, st == WORKER_HTTP1_EMPTY ? CURLE_GOT_NOTHING
                           : st == WORKER_HTTP1_PARTIAL
                               ? CURLE_PARTIAL_FILE
                               : CURLE_WEIRD_SERVER_REPLY);
        }
        return;
    }
    if (s_retry(c))
        return;
    if (error == ECONNRESET)
        s_fail_errno(c, ECONNRESET);
    else
        s_fail_curl(c, CURLE_RECV_ERROR);
}

static void s_read(s_conn_t *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->h1->rbuf, sizeof c->h1->rbuf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            s_read_end(c, n, n < 0 ? errno : 0);
            return;
        }
        worker_http1_status_t st =
            worker_http1_response_feed(&c->resp, c->h1->rbuf, (size_t)n);
        if (st == WORKER_HTTP1_COMPLETE) {
            s_complete(c);
            return;
        }
        if (st == WORKER_HTTP1_TOO_LARGE) {
            char text[WORKER_FAILURE_MAX];
            worker_failure_headers_too_large(text, sizeof text);
            s_fail_with(c, text);
            return;
        }
        if (st != WORKER_HTTP1_MORE) {
            s_fail_curl(c, CURLE_WEIRD_SERVER_REPLY);
            return;
        }
        if ((size_t)n < sizeof c->h1->rbuf)
            return;
    }
}

static void s_connected(s_conn_t *c)
{
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0)
        error = errno;
    if (error) {
        s_fail_errno(c, error);
        return;
    }
    if (c->connect_deadline) {
        c->connect_deadline = 0;
        apex_timer_start_at(c->h1->loop, &c->timer, c->deadline);
    }
    c->state = S_SENDING;
    s_write(c);
}

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    s_conn_t *c = io->arg;
    switch (c->state) {
    case S_CONNECTING:
        s_connected(c);
        break;
    case S_SENDING:
        if (events & EPOLLIN) { // an answer before the whole request
            c->state = S_RECEIVING;
            s_watch(c, false); // the rest is never sent: closed after
            s_read(c);
        } else {
            s_write(c);
        }
        break;
    case S_RECEIVING:
        s_read(c);
        break;
    default: // IDLE: the server closed, or sent what nobody asked for
        s_close(c);
        break;
    }
}

// ---------------------------------------------------------------------
// Timers

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    s_conn_t *c = timer->arg;
    if (c->failure) {
        char *failure = c->failure;
        c->failure = NULL;
        s_report(c, failure);
        free(failure);
        return;
    }
    const apex_step_t *step = c->plan->step;
    char text[WORKER_FAILURE_MAX];
    uint64_t now = apex_loop_now(loop);
    if (c->connect_deadline && now >= c->connect_deadline &&
        (c->state == S_CONNECTING || c->state == S_RESOLVING)) {
        worker_failure_connect_timeout(text, sizeof text,
                                       step->http->opts.connect_timeout);
    } else if (now < c->deadline) {
        c->connect_deadline = 0; // connected meanwhile: the step's on
        apex_timer_start_at(loop, &c->timer, c->deadline);
        return;
    } else {
        worker_failure_timeout(text, sizeof text, step->timeout);
    }
    s_fail_with(c, text);
}

// ---------------------------------------------------------------------
// Plans

static void *s_plan(worker_kind_t *kind, const apex_step_t *step)
{
    s_h1_t *self = kind;
    worker_http1_plan_t *plan = apex_calloc(1, sizeof *plan);
    worker_http1_plan_init(plan, step, self->base);
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
    s_h1_t *self = kind;
    for (size_t i = 0; i < self->nplans; i++) {
        if (self->plans[i] == p) {
            self->plans[i] = self->plans[--self->nplans];
            break;
        }
    }
    worker_http1_plan_fini(p);
    free(p);
}

static void s_set_base(worker_kind_t *kind, const char *base)
{
    s_h1_t *self = kind;
    free(self->base);
    self->base = base ? apex_strdup(base) : NULL;
    for (size_t i = 0; i < self->nplans; i++)
        worker_http1_plan_set_base(self->plans[i], self->base);
}

// ---------------------------------------------------------------------
// Users

static s_conn_t *s_conn_new(s_h1_t *self, worker_user_t *u)
{
    s_conn_t *c = apex_calloc(1, sizeof *c);
    c->h1 = self;
    c->user = u;
    c->jar = worker_user_cookies(u);
    c->fd = -1;
    apex_io_init(&c->io, s_on_io, c);
    apex_timer_init(&c->timer, s_on_timer, c);
    apex_buf_init(&c->url_buf);
    apex_buf_init(&c->hop_buf);
    apex_buf_init(&c->out);
    apex_buf_init(&c->headers);
    worker_http_capture_init(&c->body);
    return c;
}

static void s_conn_free(worker_kind_t *kind, void *p)
{
    s_h1_t *self = kind;
    s_conn_t *c = p;
    s_close(c);
    apex_timer_stop(self->loop, &c->timer);
    free(c->failure);
    apex_buf_fini(&c->url_buf);
    apex_buf_fini(&c->hop_buf);
    apex_buf_fini(&c->out);
    apex_buf_fini(&c->headers);
    worker_http_capture_fini(&c->body, &self->budget);
    if (self->done_conn == c)
        self->done_conn = NULL; // freed while its step was reported
    free(c);
}

// The step's URL for this user into c (a constant plan's as it is).
static worker_http1_url_t s_step_url(s_conn_t *c,
                                     const worker_http1_plan_t *plan)
{
    if (plan->url) {
        c->url = plan->url;
        c->target = plan->target;
        return plan->url_kind;
    }
    apex_template_ctx_t ctx = worker_user_template_ctx(c->user);
    apex_buf_t scratch;
    apex_buf_init(&scratch);
    worker_http_url(c->h1->base, plan->step->http, &ctx, &c->url_buf, &scratch);
    apex_buf_fini(&scratch);
    c->url = apex_buf_str(&c->url_buf);
    return worker_http1_target_parse(c->url, &c->target);
}

// Report failure from the loop (start() must not report).
static void s_fail_later(s_conn_t *c, const char *failure)
{
    free(c->failure);
    c->failure = apex_strdup(failure);
    c->in_flight = true;
    apex_timer_start(c->h1->loop, &c->timer, 0);
}

static int s_start(worker_kind_t *kind, void *p, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    s_h1_t *self = kind;
    const worker_http1_plan_t *plan = p;
    s_conn_t *c = *conn_p;
    worker_http1_url_t kind_of = WORKER_HTTP1_URL_OK;
    if (!c)
        c = *conn_p = s_conn_new(self, u);
    c->plan = plan;
    kind_of = s_step_url(c, plan);
    if (kind_of == WORKER_HTTP1_URL_HTTPS ||
        (kind_of == WORKER_HTTP1_URL_OK && !plan->step->http->opts.proxy &&
         worker_http1_env_proxy(&self->env, c->target.host)))
        return WORKER_HTTP1_DECLINED;
    c->started_us = apex_now_us();
    c->hops = 0;
    c->hop_bytes = 0;
    c->retried = false;
    c->resp.bytes = 0;
    c->in_flight = true;
    if (kind_of != WORKER_HTTP1_URL_OK) {
        char text[WORKER_FAILURE_MAX];
        worker_failure_curl(text, sizeof text,
                            kind_of == WORKER_HTTP1_URL_SCHEME
                                ? CURLE_UNSUPPORTED_PROTOCOL
                                : CURLE_URL_MALFORMAT);
        s_fail_later(c, text);
        return 0;
    }
    c->deadline = apex_loop_now(self->loop) + apex_us_from_s(step->timeout);
    apex_timer_start_at(self->loop, &c->timer, c->deadline);
    s_send(c, plan->step->http->method);
    return 0;
}

int worker_http1_fail(worker_kind_t *kind, void *plan, worker_user_t *u,
                      void **conn_p, const char *failure)
{
    s_h1_t *self = kind;
    s_conn_t *c = *conn_p;
    if (!c)
        c = *conn_p = s_conn_new(self, u);
    c->plan = plan;
    c->started_us = apex_now_us();
    c->hops = 0;
    c->hop_bytes = 0;
    c->resp.bytes = 0;
    s_fail_later(c, failure);
    return 0;
}

// ---------------------------------------------------------------------
// The engine

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    s_h1_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    worker_http1_env_read(&self->env);
    self->resolver = worker_resolver_new(loop, err);
    if (!self->resolver) {
        free(self);
        return NULL;
    }
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_h1_t *self = *self_p;
    worker_resolver_destroy(&self->resolver);
    free(self->plans);
    free(self->base);
    free(self);
    *self_p = NULL;
}

void worker_http1_set_debug(worker_kind_t *kind, int level)
{
    s_h1_t *self = kind;
    self->debug = level;
}

const worker_kind_ops_t worker_http1_ops = {
    .name = "http1",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .set_base = s_set_base,
    .start = s_start,
    .conn_free = s_conn_free,
};
