// worker/ws_upgrade.c - see ws_upgrade.h.
//
// The response is fed to http-parser as it arrives. After the headers of
// a 101 with "Connection: upgrade" the parser stops (its upgrade flag is
// set): the bytes after them in the same read are already frames and go
// back to the caller. Only the four headers the handshake checks are
// kept, each cut at WORKER_WS_HEADER_MAX bytes, and the whole response
// may be at most WORKER_WS_MAX_RESPONSE bytes.
#include "worker/ws_upgrade.h"

#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/rng.h"

#define WORKER_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // RFC 6455
#define WORKER_WS_KEY_BYTES 16       // random bytes of Sec-WebSocket-Key
#define WORKER_WS_B64_MAX 64         // a base64 key or accept value
#define WORKER_WS_MAX_RESPONSE 16384 // bytes of the upgrade response
#define WORKER_WS_READ_CHUNK 4096    // bytes read from the stream at once
#define WORKER_WS_HEADER_MAX 256     // bytes of a header value we check
#define WORKER_WS_PORT_WS 80         // ws:// default
#define WORKER_WS_PORT_WSS 443       // wss:// default

// A response header the handshake checks.
typedef enum {
    S_H_NONE,       // one we ignore
    S_H_UPGRADE,    // Upgrade
    S_H_CONNECTION, // Connection
    S_H_ACCEPT,     // Sec-WebSocket-Accept
    S_H_PROTOCOL,   // Sec-WebSocket-Protocol
    S_H_COUNT       // how many
} s_header_t;

struct worker_ws_upgrade {
    apex_buf_t out;                            // the request
    size_t out_sent;                           // bytes of it written
    char accept[WORKER_WS_B64_MAX];            // the accept value we expect
    http_parser parser;                        // the response
    size_t response_bytes;                     // its size so far
    s_header_t header;                         // whose value comes next
    bool headers_done;                         // the headers are all in
    char got[S_H_COUNT][WORKER_WS_HEADER_MAX]; // the checked headers
    char error[WORKER_WS_UPGRADE_ERROR_MAX];   // why it failed
};

static worker_ws_upgrade_status_t s_fail(worker_ws_upgrade_t *self,
                                         const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static worker_ws_upgrade_status_t s_fail(worker_ws_upgrade_t *self,
                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->error, sizeof self->error, fmt, ap);
    va_end(ap);
    return WORKER_WS_UPGRADE_FAILED;
}

// ---------------------------------------------------------------------
// The request

// A fresh Sec-WebSocket-Key into key, and the accept value the server
// must send into self->accept.
static void s_make_key(worker_ws_upgrade_t *self, uint64_t *rng, char *key)
{
    unsigned char raw[WORKER_WS_KEY_BYTES];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)apex_rng_next(rng);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    char joined[WORKER_WS_B64_MAX + sizeof WORKER_WS_GUID];
    snprintf(joined, sizeof joined, "%s%s", key, WORKER_WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    EVP_EncodeBlock((unsigned char *)self->accept, digest, sizeof digest);
}

worker_ws_upgrade_t *worker_ws_upgrade_new(const char *host, int port, bool tls,
                                           const char *target,
                                           const char *const *headers,
                                           const char *protocols, uint64_t *rng)
{
    worker_ws_upgrade_t *self = apex_calloc(1, sizeof *self);
    apex_buf_init(&self->out);
    char key[WORKER_WS_B64_MAX];
    s_make_key(self, rng, key);
    bool default_port = port == (tls ? WORKER_WS_PORT_WSS : WORKER_WS_PORT_WS);
    bool v6 = strchr(host, ':') != NULL;
    apex_buf_printf(&self->out, "GET %s HTTP/1.1\r\nHost: %s%s%s", target,
                    v6 ? "[" : "", host, v6 ? "]" : "");
    if (!default_port)
        apex_buf_printf(&self->out, ":%d", port);
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
    http_parser_init(&self->parser, HTTP_RESPONSE);
    self->parser.data = self;
    return self;
}

void worker_ws_upgrade_destroy(worker_ws_upgrade_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apex_buf_fini(&(*self_p)->out);
    free(*self_p);
    *self_p = NULL;
}

worker_ws_upgrade_status_t worker_ws_upgrade_write(worker_ws_upgrade_t *self,
                                                   worker_stream_t *stream,
                                                   uint64_t *sent)
{
    while (self->out_sent < self->out.len) {
        ssize_t n = worker_stream_write(stream, self->out.data + self->out_sent,
                                        self->out.len - self->out_sent);
        if (n == WORKER_STREAM_AGAIN)
            return WORKER_WS_UPGRADE_MORE;
        if (n < 0)
            return s_fail(self, "%s", worker_stream_error(stream));
        self->out_sent += (size_t)n;
        *sent += (uint64_t)n;
    }
    return WORKER_WS_UPGRADE_DONE;
}

// ---------------------------------------------------------------------
// The response

static int s_on_field(http_parser *p, const char *at, size_t len)
{
    worker_ws_upgrade_t *self = p->data;
    static const char *const names[] = {[S_H_UPGRADE] = "Upgrade",
                                        [S_H_CONNECTION] = "Connection",
                                        [S_H_ACCEPT] = "Sec-WebSocket-Accept",
                                        [S_H_PROTOCOL] =
                                            "Sec-WebSocket-Protocol"};
    self->header = S_H_NONE;
    for (int h = S_H_UPGRADE; h < S_H_COUNT; h++)
        if (strlen(names[h]) == len && strncasecmp(names[h], at, len) == 0)
            self->header = (s_header_t)h;
    return 0;
}

static int s_on_value(http_parser *p, const char *at, size_t len)
{
    worker_ws_upgrade_t *self = p->data;
    if (self->header == S_H_NONE)
        return 0;
    char *v = self->got[self->header];
    size_t have = strlen(v);
    size_t room = WORKER_WS_HEADER_MAX - 1 - have;
    size_t take = len < room ? len : room;
    memcpy(v + have, at, take);
    v[have + take] = '\0';
    return 0;
}

static int s_on_headers(http_parser *p)
{
    worker_ws_upgrade_t *self = p->data;
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

// The response's headers are in: did the server switch protocols?
static worker_ws_upgrade_status_t s_check(worker_ws_upgrade_t *self)
{
    int status = (int)self->parser.status_code;
    if (status != 101)
        return s_fail(self,
                      "WebSocketBadStatus('%d: the server did not switch "
                      "protocols')",
                      status);
    const char *why = NULL;
    if (!s_has_token(self->got[S_H_UPGRADE], "websocket"))
        why = "no Upgrade: websocket";
    else if (!s_has_token(self->got[S_H_CONNECTION], "upgrade"))
        why = "no Connection: upgrade";
    else if (strcmp(self->got[S_H_ACCEPT], self->accept) != 0)
        why = "Sec-WebSocket-Accept does not match the key";
    if (why)
        return s_fail(self, "WebSocketHandshakeError('%s')", why);
    return WORKER_WS_UPGRADE_DONE;
}

worker_ws_upgrade_status_t worker_ws_upgrade_feed(worker_ws_upgrade_t *self,
                                                  const char *buf, size_t n,
                                                  apex_buf_t *early)
{
    size_t used = http_parser_execute(&self->parser, &s_settings, buf, n);
    self->response_bytes += used;
    if (self->headers_done) {
        if (self->parser.upgrade)
            apex_buf_append(early, buf + used, n - used);
        return s_check(self);
    }
    if (HTTP_PARSER_ERRNO(&self->parser) != HPE_OK)
        return s_fail(self, "WebSocketHandshakeError('bad response: %s')",
                      http_errno_description(HTTP_PARSER_ERRNO(&self->parser)));
    if (self->response_bytes > WORKER_WS_MAX_RESPONSE)
        return s_fail(self, "WebSocketHandshakeError('response headers over "
                            "16384 bytes')");
    return WORKER_WS_UPGRADE_MORE;
}

worker_ws_upgrade_status_t worker_ws_upgrade_read(worker_ws_upgrade_t *self,
                                                  worker_stream_t *stream,
                                                  apex_buf_t *early,
                                                  uint64_t *received)
{
    char buf[WORKER_WS_READ_CHUNK];
    for (;;) {
        ssize_t n = worker_stream_read(stream, buf, sizeof buf);
        if (n == WORKER_STREAM_AGAIN)
            return WORKER_WS_UPGRADE_MORE;
        if (n == WORKER_STREAM_ERROR)
            return s_fail(self, "%s", worker_stream_error(stream));
        if (n == 0)
            return s_fail(self, "WebSocketHandshakeError('the server closed "
                                "the connection during the upgrade')");
        *received += (uint64_t)n;
        worker_ws_upgrade_status_t st =
            worker_ws_upgrade_feed(self, buf, (size_t)n, early);
        if (st != WORKER_WS_UPGRADE_MORE)
            return st;
    }
}

const char *worker_ws_upgrade_error(const worker_ws_upgrade_t *self)
{
    return self->error;
}

const char *worker_ws_upgrade_protocol(const worker_ws_upgrade_t *self)
{
    return self->got[S_H_PROTOCOL];
}
