// proto/zap.c - see zap.h.
//
// Why not czmq's zauth: zauth decides the same way (its CURVE check is a
// zcertstore lookup, which proto_curve_keys_t makes too) but runs on a
// thread of its own and tells nobody whom it refused, except in its
// verbose log; and its store, reading the folder itself, aborts the
// process when a key is in it twice. The
// master must log a refused worker once per address and count it in
// /metrics, so the handler runs here, on the master's loop, and reports
// each refusal with the address and key libzmq put in the request.
//
// A request is [version "1.0", request id, domain, address, identity,
// mechanism, credentials...]; for CURVE the one credential is the
// client's 32-byte public key. The reply is [version, request id, status
// code, status text, user id, metadata]. libzmq is the only peer (inproc),
// but a request that does not have that form is still answered, with
// 500, and never crashes the master. A REP socket must answer every
// request before it can receive the next, so every path sends a reply.
#include "proto/zap.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "proto/curve.h"

#define S_ENDPOINT "inproc://zeromq.zap.01" // fixed by RFC 27
#define S_VERSION "1.0"
#define S_FRAMES_MIN 6   // version .. mechanism
#define S_KEY_BYTES 32   // a CURVE public key
#define S_KEY_TEXT 41    // its Z85 text
#define S_ADDRESS_MAX 64 // an IPv6 address as text, and more

struct proto_zap {
    apex_loop_t *loop;           // the master's loop
    zsock_t *sock;               // REP bound to S_ENDPOINT
    apex_io_t io;                // watches its ZMQ_FD
    proto_curve_keys_t *keys;    // the admitted keys
    proto_zap_refused_fn *fn;    // told of each refusal
    void *arg;                   // its argument
    unsigned long long admitted; // requests answered 200
    unsigned long long refused;  // requests answered 400 or 500
    bool bound;                  // sock is bound to S_ENDPOINT
};

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    proto_zap_drain(io->arg);
}

proto_zap_t *proto_zap_new(apex_loop_t *loop, const char *dir,
                           proto_zap_refused_fn *fn, void *arg,
                           apex_error_t *err)
{
    assert(loop && dir && fn);
    proto_zap_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    apex_io_init(&self->io, s_on_io, self);
    self->sock = zsock_new(ZMQ_REP);
    self->bound = self->sock && zsock_bind(self->sock, S_ENDPOINT) == 0;
    if (!self->bound) {
        apex_error_set(err, "cannot serve ZAP (%s): %s", S_ENDPOINT,
                       zmq_strerror(zmq_errno()));
        proto_zap_destroy(&self);
        return NULL;
    }
    self->keys = proto_curve_keys_new(dir);
    if (apex_io_start(loop, &self->io, zsock_fd(self->sock), EPOLLIN, err)) {
        proto_zap_destroy(&self);
        return NULL;
    }
    return self;
}

void proto_zap_destroy(proto_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proto_zap_t *self = *self_p;
    apex_io_stop(self->loop, &self->io);
    proto_curve_keys_destroy(&self->keys);
    // Unbound at once; a closed socket's endpoint is only freed later by
    // libzmq's reaper, too late for a handler made right after.
    if (self->sock && self->bound)
        zsock_unbind(self->sock, S_ENDPOINT);
    zsock_destroy(&self->sock);
    free(self);
    *self_p = NULL;
}

void proto_zap_counts(const proto_zap_t *self, unsigned long long *admitted,
                      unsigned long long *refused)
{
    *admitted = self->admitted;
    *refused = self->refused;
}

// True when frame holds exactly text.
static bool s_is(zframe_t *frame, const char *text)
{
    return frame && zframe_size(frame) == strlen(text) &&
           memcmp(zframe_data(frame), text, zframe_size(frame)) == 0;
}

// frame as text (truncated to size - 1 bytes, NUL bytes cut it short).
static void s_text(zframe_t *frame, char *out, size_t size)
{
    size_t n = frame ? zframe_size(frame) : 0;
    n = n < size - 1 ? n : size - 1;
    if (n)
        memcpy(out, zframe_data(frame), n);
    out[n] = '\0';
}

// Decide one request: 200 when its CURVE key is admitted. Fills address
// and key for the log.
static const char *s_decide(proto_zap_t *self, zmsg_t *req, char *address,
                            char *key)
{
    zframe_t *version = zmsg_first(req);
    zmsg_next(req); // request id
    zmsg_next(req); // domain
    zframe_t *addr = zmsg_next(req);
    zmsg_next(req); // identity
    zframe_t *mechanism = zmsg_next(req);
    zframe_t *credential = zmsg_next(req);
    s_text(addr, address, S_ADDRESS_MAX);
    if (zmsg_size(req) < S_FRAMES_MIN || !s_is(version, S_VERSION))
        return "500";
    if (!s_is(mechanism, "CURVE") || !credential ||
        zframe_size(credential) != S_KEY_BYTES)
        return "400";
    zmq_z85_encode(key, zframe_data(credential), S_KEY_BYTES);
    return proto_curve_keys_admit(self->keys, key) ? "200" : "400";
}

// Receive one request and answer it. Returns false when none was there.
static bool s_answer_one(proto_zap_t *self)
{
    if (!(zsock_events(self->sock) & ZMQ_POLLIN))
        return false;
    zmsg_t *req = zmsg_recv(self->sock); // whole: ZeroMQ delivers it at once
    if (!req)
        return false;
    char address[S_ADDRESS_MAX] = "";
    char key[S_KEY_TEXT] = "";
    const char *status = s_decide(self, req, address, key);
    bool ok = strcmp(status, "200") == 0;
    zmsg_first(req);
    zframe_t *id = zmsg_next(req); // NULL when the request has one frame
    zframe_t *echo = id ? zframe_dup(id) : zframe_new("", 0);
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, S_VERSION);
    zmsg_append(reply, &echo);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, ok ? "OK" : "not authorized");
    zmsg_addstr(reply, ""); // user id
    zmsg_addstr(reply, ""); // metadata
    zmsg_destroy(&req);
    if (zmsg_send(&reply, self->sock) != 0)
        zmsg_destroy(&reply);
    if (ok) {
        self->admitted++;
    } else {
        self->refused++;
        self->fn(self->arg, address, key);
    }
    return true;
}

void proto_zap_drain(proto_zap_t *self)
{
    while (self->sock && s_answer_one(self))
        ;
}
