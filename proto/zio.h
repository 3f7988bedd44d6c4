// proto/zio.h - the ZeroMQ end of the master/worker protocol, shared by
// apex-master (a ROUTER) and apex-worker (a DEALER). It owns the socket,
// watches its ZMQ_FD on an apex_loop, receives every waiting message,
// decodes it with proto_decode() and hands it to a callback; it sends
// encoded payloads without ever blocking and says why a send failed.
// Malformed frames are counted, logged once per peer and dropped.
//
// How the master uses it (replacing s_bind, s_drain, s_send, s_bad_frame
// and router_io in master/master.c):
//
//     proto_zio_options_t o = {
//         .role = PROTO_ZIO_ROUTER,
//         .endpoint = "tcp://*:5557",  // or "tcp://HOST:*": any port
//         .linger_ms = 1000,
//         .fn = s_on_message, // (void *arg, proto_msg_t *msg) -> s_handle
//         .arg = self,
//     };
//     self->zio = proto_zio_new(self->loop, &o, err);  // binds, watches
//     self->port = proto_zio_port(self->zio);
//     // in the loop's on-iteration hook (s_on_iteration):
//     proto_zio_drain(self->zio);
//     // to answer a worker (s_send):
//     proto_encode_ack(&self->out, index, id);
//     if (proto_zio_send(self->zio, id, &self->out) != PROTO_ZIO_SENT) ...
//     // at the end: proto_zio_counters(self->zio)->malformed
//
// The callback gets only messages whose node_id is the sender's socket
// identity, so msg->node_id is the worker's id; frames after the payload
// are ignored, as Locust does.
//
// How a worker uses it (replacing s_open_socket, s_close_socket,
// s_drain, s_send and sock_io in worker/worker.c):
//
//     proto_zio_options_t o = {
//         .role = PROTO_ZIO_DEALER,
//         .endpoint = self->endpoint,  // "tcp://master:5557"
//         .identity = self->id,        // its node id
//         .linger_ms = 2000,
//         .fn = s_on_message, .arg = self,
//     };
//     self->zio = proto_zio_new(self->loop, &o, err);  // connects, watches
//     // in s_on_iteration: proto_zio_drain(self->zio);
//     // s_send: return proto_zio_send(self->zio, NULL, &self->out) ==
//     //         PROTO_ZIO_SENT;
//     // on "reconnect", inside the callback:
//     //     proto_zio_reconnect(self->zio, &err);
//
// A DEALER sets ZMQ_IMMEDIATE: while no master is connected a send fails
// with PROTO_ZIO_FULL instead of queueing (a client_ready must not pile
// up and arrive late). A ROUTER sets ZMQ_ROUTER_MANDATORY, without which
// ZeroMQ silently drops a message for a peer at its high-water mark or
// for an unknown identity: here the first is PROTO_ZIO_FULL and the
// second PROTO_ZIO_NO_PEER. It also sets ZMQ_ROUTER_HANDOVER: a worker
// that reconnects with the same identity (after "reconnect") takes over
// from its old connection; without it libzmq ignores the new connection
// for good when the old one is not gone yet, and the worker's messages
// vanish. Both roles refuse frames above PROTO_MAX_FRAME
// (ZMQ_MAXMSGSIZE: the peer is disconnected) and keep TCP keepalive on,
// as Locust does.
//
// ZMQ_FD is edge-triggered and a send can consume its edge, so the
// watcher alone can miss messages: call proto_zio_drain() after every
// loop iteration (apex_loop_on_iteration). One zio belongs to one
// thread.
#ifndef APEX_PROTO_ZIO_H
#define APEX_PROTO_ZIO_H

#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/loop.h"
#include "proto/proto.h"

#define PROTO_ZIO_LOGGED_PEERS 64 // peers whose first bad frame is logged

typedef struct proto_zio proto_zio_t; // opaque

typedef enum {
    PROTO_ZIO_ROUTER, // the master: binds; [identity, payload] frames
    PROTO_ZIO_DEALER, // a worker: connects as its node id; [payload]
} proto_zio_role_t;

// Called for each well-formed message, in arrival order. msg is
// borrowed: it is destroyed when fn returns (copy what you keep). fn may
// send, and a DEALER's may call proto_zio_reconnect(); it must not
// destroy the zio.
typedef void(proto_zio_fn)(void *arg, proto_msg_t *msg);

typedef struct {
    proto_zio_role_t role; // ROUTER or DEALER
    const char *endpoint;  // ROUTER: where to bind ("tcp://*:5557",
                           // "tcp://127.0.0.1:*" for any free port);
                           // DEALER: where to connect, or NULL: not
                           // yet (proto_zio_connect() says later)
    const char *identity;  // DEALER: its node id, also its socket
                           // identity; ROUTER: NULL
    int linger_ms;         // how long closing waits for queued messages
    int hwm;               // messages queued per peer each way before
                           // sends fail; 0 for ZeroMQ's default (1000)
    proto_zio_fn *fn;      // receives the messages
    void *arg;             // passed to fn
    uint64_t batch_us;     // 0: messages are handed out as soon as the
                           // loop sees them; else at most this long later,
                           // many per wake-up (a master with hundreds of
                           // workers wakes once per batch, not per message)
} proto_zio_options_t;

typedef enum {
    PROTO_ZIO_SENT,    // queued for the peer
    PROTO_ZIO_FULL,    // the peer's queue is at its high-water mark
                       // (DEALER: or no master is connected); dropped
    PROTO_ZIO_NO_PEER, // ROUTER: no peer with that identity; dropped
    PROTO_ZIO_TOO_BIG, // payload empty or over PROTO_MAX_FRAME; not sent
    PROTO_ZIO_FAILED,  // any other error (no socket after a failed
                       // reconnect, ...); dropped
} proto_zio_result_t;

typedef struct {
    uint64_t received;  // messages handed to fn
    uint64_t malformed; // frames dropped: undecodable, no payload, or a
                        // node id that is not the sender's identity
    uint64_t sent;      // payloads queued
    uint64_t full;      // sends refused at the high-water mark
    uint64_t no_peer;   // sends to an identity not connected
    uint64_t failed;    // other failed sends (too big included)
} proto_zio_counters_t;

// With batch_us set, proto_zio_drain() only makes sure a drain happens
// within batch_us (on the zio's own timer); without, it drains now.

// Create the socket, bind (ROUTER) or connect (DEALER) it and watch it on
// loop. Returns a new zio the caller owns, or NULL with err set ("cannot
// bind tcp://*:5557: Address already in use").
proto_zio_t *proto_zio_new(apex_loop_t *loop,
                           const proto_zio_options_t *options,
                           apex_error_t *err);

// Stop watching, close the socket (waiting up to linger_ms for queued
// messages) and free *self_p; sets it to NULL, does nothing if NULL.
void proto_zio_destroy(proto_zio_t **self_p);

// The TCP port a ROUTER bound (the one chosen for "*"); 0 otherwise.
int proto_zio_port(const proto_zio_t *self);

// Receive every waiting message: each well-formed one goes to fn, each
// malformed one is counted and dropped (the first from each peer is
// logged as a warning with the reason). Never blocks.
void proto_zio_drain(proto_zio_t *self);

// Send one payload (an encoded message) without blocking: to the worker
// whose node id is peer (ROUTER), or to the master (DEALER, peer NULL).
// The result is counted; a ROUTER's first PROTO_ZIO_FULL is logged as a
// warning, every failure at debug level.
proto_zio_result_t proto_zio_send(proto_zio_t *self, const char *peer,
                                  const apex_buf_t *payload);

// DEALER only: close the socket and connect a new one with the same
// identity (Locust's answer to "reconnect"). Messages queued on the old
// socket are dropped. Returns 0, or -1 with err set; then sends fail
// with PROTO_ZIO_FAILED until a reconnect succeeds.
int proto_zio_reconnect(proto_zio_t *self, apex_error_t *err);

// DEALER only: connect to endpoint ("tcp://10.0.0.5:5557") instead of
// the endpoint given so far (or none). Nothing happens when it is the
// one in use; otherwise as proto_zio_reconnect(), with the new endpoint.
int proto_zio_connect(proto_zio_t *self, const char *endpoint,
                      apex_error_t *err);

// The endpoint connected to or bound (as given), or NULL (a DEALER not
// told where yet). Borrowed.
const char *proto_zio_endpoint(const proto_zio_t *self);

// What the zio counted since it was created.
const proto_zio_counters_t *proto_zio_counters(const proto_zio_t *self);

// A result as text ("queue full at the high-water mark"), for logs.
const char *proto_zio_result_text(proto_zio_result_t result);

#endif
