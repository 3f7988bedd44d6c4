// worker/ws_conn.c - see ws_conn.h.
//
// States: RESOLVING, CONNECTING (TCP and TLS, worker/stream.c),
// UPGRADING (worker/ws_upgrade.c, freed once done), OPEN (frames),
// CLOSING (our close frame queued), DONE.
//
// Memory. An idle connection holds its socket, this struct and nothing
// else: wslay's context (8.6 KiB, mostly its input buffers) is borrowed
// only while frames are in flight and freed when the connection is idle
// again. That is safe because wslay never sees a partial frame: what is
// read goes to `in`, and only whole frames (found by s_frame_size()) are
// handed to wslay, so between two batches its parser is at a frame
// boundary and holds nothing. The context stays while a message arrives
// in fragments, while anything is queued to send, and from the start of
// the close handshake to its end.
//
// wslay is I/O-free: its recv callback serves the whole frames of the
// batch and then says WSLAY_ERR_WOULDBLOCK; its send callback writes the
// stream. wslay answers pings and close frames itself.
//
// Re-entrancy: the owner hears events while wslay is inside its recv
// loop, and may destroy the connection or send in response. Destroy
// during a dispatch only marks the connection dead; the dispatch frees
// it on the way out, and no event is delivered after that.
#include "worker/ws_conn.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rng.h"
#include "worker/ws_frame.h"
#include "worker/ws_upgrade.h"

#define WORKER_WS_READ_CHUNK 16384 // bytes read from the stream at once
#define WORKER_WS_ERROR_MAX 256    // bytes of a failure text
#define WORKER_WS_PING_MAX 125     // a control frame's payload
#define WORKER_WS_PORT_WS 80       // ws:// default
#define WORKER_WS_PORT_WSS 443     // wss:// default
#define WORKER_WS_TOO_BIG 1009     // close code: message too big
#define WORKER_WS_OP_CLOSE 0x8     // frame opcode (RFC 6455 5.2)

typedef enum {
    S_RESOLVING,  // waiting for the resolver
    S_CONNECTING, // TCP and TLS
    S_UPGRADING,  // the HTTP upgrade
    S_OPEN,       // frames both ways
    S_CLOSING,    // our close frame is queued, or the server's came
    S_DONE        // over; only destroy remains
} s_state_t;

struct worker_ws {
    worker_ws_env_t env;              // shared settings (copied)
    const worker_ws_events_t *events; // the owner's callbacks
    void *arg;                        // their argument
    s_state_t state;                  // where it is
    char *host;                       // host from the URL
    int port;                         // port from the URL
    bool tls;                         // wss://
    worker_lookup_t *lookup;          // while resolving
    worker_stream_t *stream;          // once connecting
    worker_ws_upgrade_t *upgrade;     // until the upgrade is done
    apex_buf_t in;                    // bytes read, not yet whole frames
    const uint8_t *feed;              // whole frames wslay is reading
    size_t feed_len;                  // their bytes left
    bool fragmented;                  // a message's fragments are arriving
    wslay_event_context_ptr ctx;      // wslay, while frames are in flight
    bool close_seen;                  // a close frame went by (either way)
    int close_code;                   // the server's close code, or 0
    bool by_us;                       // we started the close
    bool dead;                        // destroyed during a dispatch
    int busy;                         // dispatches under way
    uint64_t sent;                    // bytes sent
    uint64_t received;                // bytes received
    char error[WORKER_WS_ERROR_MAX];  // why it failed
};

static void s_free(worker_ws_t *self);

// ---------------------------------------------------------------------
// Ending

// Deliver on_close once and mark the connection done.
static void s_finish(worker_ws_t *self, int code, const char *error)
{
    if (self->state == S_DONE || self->dead)
        return;
    self->state = S_DONE;
    if (self->stream)
        worker_stream_want(self->stream, false, false);
    self->events->on_close(self->arg, code, error, self->by_us);
}

static void s_fail(worker_ws_t *self, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_fail(worker_ws_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
    s_finish(self, WORKER_WS_ABNORMAL, self->error);
}

// ---------------------------------------------------------------------
// wslay's side

static ssize_t s_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      int flags, void *user)
{
    (void)flags;
    worker_ws_t *self = user;
    if (!self->feed_len) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = self->feed_len < len ? self->feed_len : len;
    memcpy(buf, self->feed, n);
    self->feed += n;
    self->feed_len -= n;
    return (ssize_t)n;
}

static ssize_t s_send(wslay_event_context_ptr ctx, const uint8_t *data,
                      size_t len, int flags, void *user)
{
    (void)flags;
    worker_ws_t *self = user;
    ssize_t n = worker_stream_write(self->stream, data, len);
    if (n > 0) {
        self->sent += (uint64_t)n;
        return n;
    }
    if (n == WORKER_STREAM_AGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    snprintf(self->error, sizeof self->error, "%s",
             worker_stream_error(self->stream));
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int s_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                     void *user)
{
    (void)ctx;
    worker_ws_t *self = user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)apex_rng_next(self->env.rng);
    return 0;
}

static void s_on_msg(wslay_event_context_ptr ctx,
                     const struct wslay_event_on_msg_recv_arg *m, void *user)
{
    (void)ctx;
    worker_ws_t *self = user;
    if (self->dead)
        return;
    if (m->opcode == WSLAY_TEXT_FRAME || m->opcode == WSLAY_BINARY_FRAME)
        self->events->on_message(self->arg, m->opcode, m->msg, m->msg_length);
    else if (m->opcode == WSLAY_PONG)
        self->events->on_pong(self->arg, m->msg, m->msg_length);
    else if (m->opcode == WSLAY_CONNECTION_CLOSE)
        self->close_code = m->status_code;
}

static const struct wslay_event_callbacks s_callbacks = {
    .recv_callback = s_recv,
    .send_callback = s_send,
    .genmask_callback = s_genmask,
    .on_msg_recv_callback = s_on_msg,
};

// Borrow a wslay context for frames in flight.
static void s_acquire(worker_ws_t *self)
{
    if (self->ctx)
        return;
    if (wslay_event_context_client_init(&self->ctx, &s_callbacks, self) != 0)
        abort(); // out of memory, as apex_calloc() does
    wslay_event_config_set_max_recv_msg_length(self->ctx,
                                               self->env.max_message);
}

// Give the context back when nothing is in flight: no fragments of a
// message, nothing queued to send, no close handshake under way.
static void s_release_if_idle(worker_ws_t *self)
{
    if (self->ctx && !self->fragmented && !self->close_seen &&
        self->state == S_OPEN && !wslay_event_want_write(self->ctx)) {
        wslay_event_context_free(self->ctx);
        self->ctx = NULL;
    }
}

// After wslay ran: what the stream should watch, or the end.
static void s_after_wslay(worker_ws_t *self, int rc)
{
    if (self->dead || self->state == S_DONE)
        return;
    if (rc != 0 && rc != WSLAY_ERR_WOULDBLOCK) {
        if (!self->error[0])
            snprintf(self->error, sizeof self->error,
                     "WebSocketProtocolError(%d, 'wslay error')", rc);
        s_finish(self, WORKER_WS_ABNORMAL, self->error);
        return;
    }
    if (self->ctx && wslay_event_get_close_received(self->ctx))
        self->close_seen = true;
    if (self->close_seen && self->state == S_OPEN)
        self->state = S_CLOSING; // the server began it
    if (self->ctx && !wslay_event_want_read(self->ctx) &&
        !wslay_event_want_write(self->ctx)) {
        // Both close frames went by (or wslay gave up after a protocol
        // error it answered with a close frame).
        if (!wslay_event_get_close_received(self->ctx))
            s_fail(self, "%s",
                   "WebSocketProtocolError(1002, 'the server broke the "
                   "protocol')");
        else
            s_finish(self,
                     self->close_code ? self->close_code : WORKER_WS_ABNORMAL,
                     NULL);
        return;
    }
    bool write = self->ctx && wslay_event_want_write(self->ctx);
    s_release_if_idle(self);
    worker_stream_want(self->stream, true, write);
}

// ---------------------------------------------------------------------
// Whole frames

// How many bytes at the front of p (n bytes) are whole frames (0 when
// none); fails the connection on a frame over the message limit.
static size_t s_whole_frames(worker_ws_t *self, const uint8_t *p, size_t n)
{
    size_t whole = 0;
    for (;;) {
        worker_ws_frame_t f;
        int rc = worker_ws_frame_size(p + whole, n - whole,
                                      self->env.max_message, &f);
        if (rc < 0) {
            s_fail(self, "WebSocketProtocolError(%d, 'a frame over %zu bytes')",
                   WORKER_WS_TOO_BIG, self->env.max_message);
            return 0;
        }
        if (rc == 0 || f.size > n - whole)
            return whole;
        whole += (size_t)f.size;
        if (f.opcode < WORKER_WS_OP_CLOSE) // data and continuation frames
            self->fragmented = !f.fin;
        if (f.opcode == WORKER_WS_OP_CLOSE)
            self->close_seen = true;
    }
}

// Hand wslay the whole frames at the front of p; returns wslay's result
// and in *used how many bytes they were.
static int s_feed_frames(worker_ws_t *self, const uint8_t *p, size_t n,
                         size_t *used)
{
    *used = s_whole_frames(self, p, n);
    if (!*used)
        return 0;
    s_acquire(self);
    self->feed = p;
    self->feed_len = *used;
    int rc = wslay_event_recv(self->ctx);
    self->feed_len = 0;
    return rc;
}

// Frames in buf (n bytes just read): those behind a partial frame kept
// from before go through `in`; otherwise straight from buf, and only a
// partial frame at its end is kept (so `in` is empty, and holds no
// memory, between messages).
static int s_take_bytes(worker_ws_t *self, const uint8_t *buf, size_t n)
{
    size_t used = 0;
    int rc;
    if (self->in.len == 0) {
        rc = s_feed_frames(self, buf, n, &used);
        if (!self->dead && self->state != S_DONE)
            apex_buf_append(&self->in, buf + used, n - used);
        return rc;
    }
    apex_buf_append(&self->in, buf, n);
    rc = s_feed_frames(self, (const uint8_t *)self->in.data, self->in.len,
                       &used);
    if (self->dead || self->state == S_DONE)
        return rc;
    memmove(self->in.data, self->in.data + used, self->in.len - used);
    self->in.len -= used;
    if (self->in.len == 0) {
        apex_buf_fini(&self->in); // give back a large message's room
        apex_buf_init(&self->in);
    }
    return rc;
}

// Read what the server sent and run its whole frames through wslay.
static int s_read_frames(worker_ws_t *self)
{
    uint8_t buf[WORKER_WS_READ_CHUNK];
    for (;;) {
        ssize_t n = worker_stream_read(self->stream, buf, sizeof buf);
        if (n == WORKER_STREAM_AGAIN)
            return 0;
        if (n == WORKER_STREAM_ERROR) {
            s_fail(self, "%s", worker_stream_error(self->stream));
            return -1;
        }
        if (n == 0) {
            s_fail(self, "%s",
                   "WebSocketClosed(1006, 'connection closed without a "
                   "close frame')");
            return -1;
        }
        self->received += (uint64_t)n;
        int rc = s_take_bytes(self, buf, (size_t)n);
        if (rc != 0 || self->dead || self->state == S_DONE)
            return rc;
    }
}

// Send what wslay has queued, if it has a context.
static int s_write_frames(worker_ws_t *self)
{
    if (!self->ctx || !wslay_event_want_write(self->ctx))
        return 0;
    return wslay_event_send(self->ctx);
}

// ---------------------------------------------------------------------
// Events from the stream and the resolver

// The upgrade went through: open, and take the frames that came with
// the response (the owner may already send in on_open).
static void s_opened(worker_ws_t *self, apex_buf_t *early)
{
    self->state = S_OPEN;
    self->events->on_open(self->arg, worker_ws_upgrade_protocol(self->upgrade));
    worker_ws_upgrade_destroy(&self->upgrade);
    if (self->dead || self->state != S_OPEN)
        return;
    int rc = early->len
                 ? s_take_bytes(self, (const uint8_t *)early->data, early->len)
                 : 0;
    if (rc == 0 && !self->dead && self->state != S_DONE)
        rc = s_write_frames(self);
    s_after_wslay(self, rc);
}

// The handshake's turn: write the request, then read the response.
static void s_on_upgrade(worker_ws_t *self, worker_stream_event_t event)
{
    worker_ws_upgrade_status_t st = WORKER_WS_UPGRADE_DONE;
    if (event == WORKER_STREAM_CONNECTED || event == WORKER_STREAM_WRITABLE) {
        st = worker_ws_upgrade_write(self->upgrade, self->stream, &self->sent);
        if (st == WORKER_WS_UPGRADE_MORE) {
            worker_stream_want(self->stream, false, true);
            return;
        }
        if (st == WORKER_WS_UPGRADE_DONE) {
            worker_stream_want(self->stream, true, false);
            return; // the response comes with READABLE
        }
    } else {
        apex_buf_t early;
        apex_buf_init(&early);
        st = worker_ws_upgrade_read(self->upgrade, self->stream, &early,
                                    &self->received);
        if (st == WORKER_WS_UPGRADE_DONE)
            s_opened(self, &early);
        apex_buf_fini(&early);
    }
    if (st == WORKER_WS_UPGRADE_FAILED)
        s_fail(self, "%s", worker_ws_upgrade_error(self->upgrade));
}

static void s_on_stream(void *arg, worker_stream_event_t event,
                        const char *error)
{
    worker_ws_t *self = arg;
    self->busy++;
    if (event == WORKER_STREAM_FAILED) {
        s_fail(self, "%s", error);
    } else if (self->state == S_UPGRADING) {
        s_on_upgrade(self, event);
    } else if (self->state == S_OPEN || self->state == S_CLOSING) {
        int rc = event == WORKER_STREAM_READABLE ? s_read_frames(self) : 0;
        if (rc == 0 && !self->dead && self->state != S_DONE)
            rc = s_write_frames(self);
        s_after_wslay(self, rc);
    }
    if (--self->busy == 0 && self->dead)
        s_free(self);
}

static void s_on_resolved(void *arg, const struct sockaddr *addr,
                          socklen_t addrlen, const char *error)
{
    worker_ws_t *self = arg;
    self->lookup = NULL;
    self->busy++;
    if (!addr) {
        s_fail(self, "%s", error);
    } else {
        apex_error_t err = {""};
        self->state = S_UPGRADING; // CONNECTED starts the request
        self->stream = worker_stream_connect(
            self->env.loop, addr, addrlen, self->tls ? self->env.tls : NULL,
            self->host, s_on_stream, self, &err);
        if (!self->stream)
            s_fail(self, "OSError('%s')", err.msg);
    }
    if (--self->busy == 0 && self->dead)
        s_free(self);
}

// ---------------------------------------------------------------------
// Opening

// Split url into host, port and tls, and the request target into target;
// -1 with err.
static int s_parse_url(worker_ws_t *self, const char *url, apex_buf_t *target,
                       apex_error_t *err)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 ||
        !(u.field_set & (1 << UF_SCHEMA)) || !(u.field_set & (1 << UF_HOST)))
        return apex_error_set(err, "'%s' is not a ws:// or wss:// URL", url);
    const char *scheme = url + u.field_data[UF_SCHEMA].off;
    size_t scheme_len = u.field_data[UF_SCHEMA].len;
    if (scheme_len == 3 && strncasecmp(scheme, "wss", 3) == 0)
        self->tls = true;
    else if (!(scheme_len == 2 && strncasecmp(scheme, "ws", 2) == 0))
        return apex_error_set(err, "'%s' is not a ws:// or wss:// URL", url);
    self->host = apex_strndup(url + u.field_data[UF_HOST].off,
                              u.field_data[UF_HOST].len);
    self->port = (u.field_set & (1 << UF_PORT))
                     ? u.port
                     : (self->tls ? WORKER_WS_PORT_WSS : WORKER_WS_PORT_WS);
    if (u.field_set & (1 << UF_PATH))
        apex_buf_append(target, url + u.field_data[UF_PATH].off,
                        u.field_data[UF_PATH].len);
    else
        apex_buf_putc(target, '/');
    if (u.field_set & (1 << UF_QUERY)) {
        apex_buf_putc(target, '?');
        apex_buf_append(target, url + u.field_data[UF_QUERY].off,
                        u.field_data[UF_QUERY].len);
    }
    return 0;
}

worker_ws_t *worker_ws_open(const worker_ws_env_t *env, const char *url,
                            const char *const *headers, const char *protocols,
                            const worker_ws_events_t *events, void *arg,
                            apex_error_t *err)
{
    worker_ws_t *self = apex_calloc(1, sizeof *self);
    self->env = *env;
    self->events = events;
    self->arg = arg;
    apex_buf_init(&self->in);
    apex_buf_t target;
    apex_buf_init(&target);
    if (s_parse_url(self, url, &target, err) != 0) {
        apex_buf_fini(&target);
        s_free(self);
        return NULL;
    }
    self->upgrade = worker_ws_upgrade_new(self->host, self->port, self->tls,
                                          apex_buf_str(&target), headers,
                                          protocols, env->rng);
    apex_buf_fini(&target);
    self->state = S_RESOLVING;
    self->lookup = worker_resolve(env->resolver, self->host, self->port,
                                  s_on_resolved, self);
    return self;
}

// ---------------------------------------------------------------------
// Using

static int s_queue(worker_ws_t *self, int opcode, const void *data, size_t len)
{
    if (self->state != S_OPEN)
        return -1;
    s_acquire(self);
    struct wslay_event_msg msg = {(uint8_t)opcode, data, len};
    if (wslay_event_queue_msg(self->ctx, &msg) != 0)
        return -1;
    if (!self->busy)
        s_after_wslay(self, 0); // asks the stream for WRITABLE
    return 0;
}

int worker_ws_send(worker_ws_t *self, int opcode, const void *data, size_t len)
{
    return s_queue(self, opcode, data, len);
}

int worker_ws_ping(worker_ws_t *self, const void *data, size_t len)
{
    return s_queue(self, WSLAY_PING, data,
                   len > WORKER_WS_PING_MAX ? WORKER_WS_PING_MAX : len);
}

void worker_ws_close(worker_ws_t *self, int code, const char *reason)
{
    self->by_us = true;
    if (self->state != S_OPEN) {
        // Not open (yet, or any more): there is nobody to say goodbye to.
        if (self->state != S_DONE && self->state != S_CLOSING)
            s_finish(self, WORKER_WS_ABNORMAL, NULL);
        return;
    }
    self->state = S_CLOSING;
    s_acquire(self);
    wslay_event_queue_close(self->ctx, (uint16_t)code, (const uint8_t *)reason,
                            reason ? strlen(reason) : 0);
    if (!self->busy)
        s_after_wslay(self, 0);
}

bool worker_ws_is_open(const worker_ws_t *self)
{
    return self->state == S_OPEN;
}

uint64_t worker_ws_bytes_sent(const worker_ws_t *self)
{
    return self->sent;
}

uint64_t worker_ws_bytes_received(const worker_ws_t *self)
{
    return self->received;
}

static void s_free(worker_ws_t *self)
{
    worker_resolve_cancel(&self->lookup);
    worker_stream_destroy(&self->stream);
    worker_ws_upgrade_destroy(&self->upgrade);
    if (self->ctx)
        wslay_event_context_free(self->ctx);
    apex_buf_fini(&self->in);
    free(self->host);
    free(self);
}

void worker_ws_destroy(worker_ws_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_ws_t *self = *self_p;
    *self_p = NULL;
    if (self->busy) {
        self->dead = true; // the dispatch under way frees it
        return;
    }
    s_free(self);
}
