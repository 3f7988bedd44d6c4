// worker/ws_conn.c - see ws_conn.h.
//
// States: RESOLVING, CONNECTING (TCP and TLS, worker/stream.c),
// UPGRADING (our request out, the server's response in), OPEN (frames),
// CLOSING (our close frame queued), DONE. The upgrade response is parsed
// by http-parser, which stops after the headers of a 101 with
// "Connection: upgrade": what follows them in the same read is already
// WebSocket data and goes to wslay first (`early`).
//
// wslay is I/O-free: its recv and send callbacks read and write the
// stream and say WSLAY_ERR_WOULDBLOCK when the socket has nothing or is
// full; after every wslay_event_recv()/send() the stream is told what
// wslay wants next. wslay answers pings and close frames itself. When it
// wants neither to read nor to write, the connection is over.
//
// Re-entrancy: the owner hears events while wslay is inside its recv
// loop, and may destroy the connection or send in response. Destroy
// during a dispatch only marks the connection dead; the dispatch frees
// it on the way out, and no event is delivered after that.
#include "worker/ws_conn.h"

#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wslay/wslay.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rng.h"

#define WORKER_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // RFC 6455
#define WORKER_WS_KEY_BYTES 16       // random bytes of Sec-WebSocket-Key
#define WORKER_WS_B64_MAX 64         // a base64 key or accept value
#define WORKER_WS_MAX_RESPONSE 16384 // bytes of the upgrade response
#define WORKER_WS_READ_CHUNK 16384   // bytes read from the stream at once
#define WORKER_WS_ERROR_MAX 256      // bytes of a failure text
#define WORKER_WS_HEADER_MAX 256     // bytes of a header value we check
#define WORKER_WS_PING_MAX 125       // a control frame's payload
#define WORKER_WS_PORT_WS 80
#define WORKER_WS_PORT_WSS 443

typedef enum {
    S_RESOLVING,  // waiting for the resolver
    S_CONNECTING, // TCP and TLS
    S_UPGRADING,  // the HTTP upgrade
    S_OPEN,       // frames both ways
    S_CLOSING,    // our close frame is queued
    S_DONE        // over; only destroy remains
} s_state_t;

// A response header the handshake checks.
typedef enum {
    S_H_NONE,       // one we ignore
    S_H_UPGRADE,    // Upgrade
    S_H_CONNECTION, // Connection
    S_H_ACCEPT,     // Sec-WebSocket-Accept
    S_H_PROTOCOL    // Sec-WebSocket-Protocol
} s_header_t;

struct worker_ws {
    worker_ws_env_t env;               // shared settings (copied)
    const worker_ws_events_t *events;  // the owner's callbacks
    void *arg;                         // their argument
    s_state_t state;                   // where it is
    char *host;                        // host from the URL
    int port;                          // port from the URL
    bool tls;                          // wss://
    worker_lookup_t *lookup;           // while resolving
    worker_stream_t *stream;           // once connecting
    apex_buf_t out;                    // the upgrade request not yet written
    size_t out_sent;                   // bytes of it written
    char accept[WORKER_WS_B64_MAX];    // the Sec-WebSocket-Accept we expect
    http_parser parser;                // the upgrade response
    size_t response_bytes;             // its size so far
    s_header_t header;                 // the header whose value comes next
    bool headers_done;                 // the response's headers are in
    char got[5][WORKER_WS_HEADER_MAX]; // values of the checked headers
    apex_buf_t early;                  // WebSocket bytes read with it
    size_t early_used;                 // of those, given to wslay
    wslay_event_context_ptr ctx;       // frames, once open
    bool by_us;                        // we started the close
    bool dead;                         // destroyed during a dispatch
    int busy;                          // dispatches under way
    uint64_t sent;                     // bytes sent
    uint64_t received;                 // bytes received
    char error[WORKER_WS_ERROR_MAX];   // why it failed
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
    if (self->early_used < self->early.len) {
        size_t n = self->early.len - self->early_used;
        n = n < len ? n : len;
        memcpy(buf, self->early.data + self->early_used, n);
        self->early_used += n;
        return (ssize_t)n;
    }
    ssize_t n = worker_stream_read(self->stream, buf, len);
    if (n > 0) {
        self->received += (uint64_t)n;
        return n;
    }
    if (n == WORKER_STREAM_AGAIN) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    snprintf(self->error, sizeof self->error, "%s",
             n == 0 ? "WebSocketClosed(1006, 'connection closed without a "
                      "close frame')"
                    : worker_stream_error(self->stream));
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
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
}

static const struct wslay_event_callbacks s_callbacks = {
    .recv_callback = s_recv,
    .send_callback = s_send,
    .genmask_callback = s_genmask,
    .on_msg_recv_callback = s_on_msg,
};

// After wslay ran: what it wants next, or the end of the connection.
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
    bool read = wslay_event_want_read(self->ctx);
    bool write = wslay_event_want_write(self->ctx);
    if (!read && !write) {
        // Both close frames went by (or wslay gave up after a protocol
        // error it answered with a close frame).
        int code = wslay_event_get_status_code_received(self->ctx);
        if (!wslay_event_get_close_received(self->ctx))
            s_fail(self, "%s",
                   "WebSocketProtocolError(1002, 'the server broke the "
                   "protocol')");
        else
            s_finish(self, code ? code : WORKER_WS_ABNORMAL, NULL);
        return;
    }
    worker_stream_want(self->stream, read, write);
}

// ---------------------------------------------------------------------
// The upgrade

static int s_on_field(http_parser *p, const char *at, size_t len)
{
    worker_ws_t *self = p->data;
    static const char *const names[] = {[S_H_UPGRADE] = "Upgrade",
                                        [S_H_CONNECTION] = "Connection",
                                        [S_H_ACCEPT] = "Sec-WebSocket-Accept",
                                        [S_H_PROTOCOL] =
                                            "Sec-WebSocket-Protocol"};
    self->header = S_H_NONE;
    for (int h = S_H_UPGRADE; h <= S_H_PROTOCOL; h++)
        if (strlen(names[h]) == len && strncasecmp(names[h], at, len) == 0)
            self->header = (s_header_t)h;
    return 0;
}

static int s_on_value(http_parser *p, const char *at, size_t len)
{
    worker_ws_t *self = p->data;
    if (self->header == S_H_NONE)
        return 0;
    char *v = self->got[self->header];
    size_t have = strlen(v);
    size_t room = WORKER_WS_HEADER_MAX - 1 - have;
    memcpy(v + have, at, len < room ? len : room);
    v[have + (len < room ? len : room)] = '\0';
    return 0;
}

static int s_on_headers(http_parser *p)
{
    worker_ws_t *self = p->data;
    self->headers_done = true;
    return 0;
}

static const http_parser_settings s_settings = {
    .on_header_field = s_on_field,
    .on_header_value = s_on_value,
    .on_headers_complete = s_on_headers,
};

// True when the comma-separated list has token (case-insensitive).
static bool s_has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (strncasecmp(p, token, n) == 0 &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

// The response's headers are in: check them and open, or fail.
static void s_upgraded(worker_ws_t *self)
{
    int status = (int)self->parser.status_code;
    if (status != 101) {
        char text[64];
        snprintf(text, sizeof text, "%d", status);
        s_fail(self,
               "WebSocketBadStatus('%s: the server did not switch "
               "protocols')",
               text);
        return;
    }
    const char *why = NULL;
    if (!s_has_token(self->got[S_H_UPGRADE], "websocket"))
        why = "no Upgrade: websocket";
    else if (!s_has_token(self->got[S_H_CONNECTION], "upgrade"))
        why = "no Connection: upgrade";
    else if (strcmp(self->got[S_H_ACCEPT], self->accept) != 0)
        why = "Sec-WebSocket-Accept does not match the key";
    if (why) {
        s_fail(self, "WebSocketHandshakeError('%s')", why);
        return;
    }
    if (wslay_event_context_client_init(&self->ctx, &s_callbacks, self) != 0)
        abort(); // out of memory, as apex_calloc() does
    wslay_event_config_set_max_recv_msg_length(self->ctx,
                                               self->env.max_message);
    self->state = S_OPEN;
    worker_stream_want(self->stream, true, false);
    self->events->on_open(self->arg, self->got[S_H_PROTOCOL]);
}

// Feed what the server sent to the response parser.
static void s_read_response(worker_ws_t *self)
{
    char buf[WORKER_WS_READ_CHUNK];
    for (;;) {
        ssize_t n = worker_stream_read(self->stream, buf, sizeof buf);
        if (n == WORKER_STREAM_AGAIN)
            return;
        if (n == WORKER_STREAM_ERROR) {
            s_fail(self, "%s", worker_stream_error(self->stream));
            return;
        }
        if (n == 0) {
            s_fail(self, "%s",
                   "WebSocketHandshakeError('the server closed the "
                   "connection during the upgrade')");
            return;
        }
        self->received += (uint64_t)n;
        size_t used =
            http_parser_execute(&self->parser, &s_settings, buf, (size_t)n);
        self->response_bytes += used;
        if (self->headers_done) {
            // After a 101 with Connection: upgrade the parser stops at
            // the end of the headers: the rest is WebSocket data.
            if (self->parser.upgrade)
                apex_buf_append(&self->early, buf + used, (size_t)n - used);
            s_upgraded(self);
            return;
        }
        if (HTTP_PARSER_ERRNO(&self->parser) != HPE_OK) {
            s_fail(self, "WebSocketHandshakeError('bad response: %s')",
                   http_errno_description(HTTP_PARSER_ERRNO(&self->parser)));
            return;
        }
        if (self->response_bytes > WORKER_WS_MAX_RESPONSE) {
            s_fail(self, "%s",
                   "WebSocketHandshakeError('response headers over 16384 "
                   "bytes')");
            return;
        }
    }
}

// Write what is left of the upgrade request.
static void s_write_request(worker_ws_t *self)
{
    while (self->out_sent < self->out.len) {
        ssize_t n =
            worker_stream_write(self->stream, self->out.data + self->out_sent,
                                self->out.len - self->out_sent);
        if (n == WORKER_STREAM_AGAIN)
            return;
        if (n < 0) {
            s_fail(self, "%s", worker_stream_error(self->stream));
            return;
        }
        self->out_sent += (size_t)n;
        self->sent += (uint64_t)n;
    }
    worker_stream_want(self->stream, true, false);
}

// ---------------------------------------------------------------------
// Events from the stream and the resolver

static void s_on_stream(void *arg, worker_stream_event_t event,
                        const char *error)
{
    worker_ws_t *self = arg;
    self->busy++;
    if (event == WORKER_STREAM_FAILED) {
        s_fail(self, "%s", error);
    } else if (self->state == S_CONNECTING) {
        self->state = S_UPGRADING;
        worker_stream_want(self->stream, false, true);
        s_write_request(self);
    } else if (self->state == S_UPGRADING) {
        if (event == WORKER_STREAM_WRITABLE)
            s_write_request(self);
        else
            s_read_response(self);
        // Frames that came with the response, and whatever the owner
        // queued when it heard on_open.
        if (self->state == S_OPEN && !self->dead) {
            int rc = self->early_used < self->early.len
                         ? wslay_event_recv(self->ctx)
                         : 0;
            if (rc == 0 && !self->dead && wslay_event_want_write(self->ctx))
                rc = wslay_event_send(self->ctx);
            s_after_wslay(self, rc);
        }
    } else if (self->state == S_OPEN || self->state == S_CLOSING) {
        int rc = event == WORKER_STREAM_READABLE ? wslay_event_recv(self->ctx)
                                                 : wslay_event_send(self->ctx);
        if (rc == 0 && !self->dead && wslay_event_want_write(self->ctx))
            rc = wslay_event_send(self->ctx);
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
        self->state = S_CONNECTING;
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

// A fresh Sec-WebSocket-Key, and the accept value the server must send.
static void s_make_key(worker_ws_t *self, char *key, size_t size)
{
    unsigned char raw[WORKER_WS_KEY_BYTES];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)apex_rng_next(self->env.rng);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    char joined[WORKER_WS_B64_MAX + sizeof WORKER_WS_GUID];
    snprintf(joined, sizeof joined, "%s%s", key, WORKER_WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    EVP_EncodeBlock((unsigned char *)self->accept, digest, sizeof digest);
    (void)size;
}

// Split url into host, port, tls and the request target; -1 with err.
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

// The upgrade request: target, Host (with the port unless the default),
// the key, our headers and the owner's.
static void s_build_request(worker_ws_t *self, const char *target,
                            const char *const *headers, const char *protocols)
{
    char key[WORKER_WS_B64_MAX];
    s_make_key(self, key, sizeof key);
    bool default_port =
        self->port == (self->tls ? WORKER_WS_PORT_WSS : WORKER_WS_PORT_WS);
    bool v6 = strchr(self->host, ':') != NULL;
    apex_buf_printf(&self->out, "GET %s HTTP/1.1\r\nHost: %s%s%s", target,
                    v6 ? "[" : "", self->host, v6 ? "]" : "");
    if (!default_port)
        apex_buf_printf(&self->out, ":%d", self->port);
    apex_buf_printf(&self->out,
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                    key);
    if (protocols && protocols[0])
        apex_buf_printf(&self->out, "Sec-WebSocket-Protocol: %s\r\n",
                        protocols);
    for (size_t i = 0; headers && headers[i]; i++)
        apex_buf_printf(&self->out, "%s\r\n", headers[i]);
    apex_buf_puts(&self->out, "\r\n");
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
    apex_buf_init(&self->out);
    apex_buf_init(&self->early);
    apex_buf_t target;
    apex_buf_init(&target);
    if (s_parse_url(self, url, &target, err) != 0) {
        apex_buf_fini(&target);
        s_free(self);
        return NULL;
    }
    s_build_request(self, apex_buf_str(&target), headers, protocols);
    apex_buf_fini(&target);
    http_parser_init(&self->parser, HTTP_RESPONSE);
    self->parser.data = self;
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
    if (self->state != S_OPEN) {
        // Not open yet: there is nobody to say goodbye to.
        self->by_us = true;
        if (self->state != S_DONE)
            s_finish(self, WORKER_WS_ABNORMAL, NULL);
        return;
    }
    self->by_us = true;
    self->state = S_CLOSING;
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
    if (self->ctx)
        wslay_event_context_free(self->ctx);
    apex_buf_fini(&self->out);
    apex_buf_fini(&self->early);
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
