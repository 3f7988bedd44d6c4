// proto/handshake.h - the handshakes of the master/worker link that
// failed: libzmq's socket events (zmq_socket_monitor) say why, the ZAP
// handler (proto/zap.h) says whom it refused; this module counts each
// refusal by reason and logs it once: once per address when the address
// is known (a key the master does not admit), once per reason otherwise.
// libzmq 4.3's handshake events name the listening endpoint, not the
// peer, so a peer without CURVE or with the wrong master key cannot be
// named. A refused peer never reaches the protocol: its messages are
// never decoded, so it cannot touch a running test.
//
// proto/zio.c owns one per socket; a master's counts are in /metrics.
#ifndef APEX_PROTO_HANDSHAKE_H
#define APEX_PROTO_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/loop.h"

typedef enum {
    PROTO_REFUSED_NO_CURVE,       // this end requires CURVE, the peer does
                                  // not use it (a Locust worker)
    PROTO_REFUSED_CURVE_OFF,      // the peer uses CURVE, this end does not
    PROTO_REFUSED_WRONG_KEY,      // the worker's master public key is not
                                  // the master's (master: its HELLO cannot
                                  // be decrypted; worker: the master hung up
                                  // during the CURVE handshake)
    PROTO_REFUSED_NOT_AUTHORIZED, // the worker's key is not admitted
    PROTO_REFUSED_CLOSED,         // the peer hung up during the handshake:
                                  // what one without CURVE does when it
                                  // sees the mismatch first, and what a
                                  // port scan or a TCP health check does
    PROTO_REFUSED_OTHER,          // any other failed handshake
    PROTO_REFUSED_KINDS,
} proto_refused_t;

typedef struct proto_handshake proto_handshake_t; // opaque

typedef struct {
    bool server;            // the master's ROUTER (else a worker's DEALER)
    bool curve;             // this end uses CURVE
    const char *public_key; // this end's public key (Z85), or NULL
    const char *peer;       // DEALER: the master's endpoint, for logs
    const char *admitted;   // ROUTER: the --authorized-workers folder, or
                            // NULL
    uint64_t *counts;       // [PROTO_REFUSED_KINDS], incremented here
} proto_handshake_options_t;

// Watch the handshakes of sock (a libzmq socket handle) on loop. Returns
// a new watcher the caller owns, or NULL with err set.
proto_handshake_t *proto_handshake_new(apex_loop_t *loop, void *sock,
                                       const proto_handshake_options_t *o,
                                       apex_error_t *err);

// Stop watching (before sock is closed) and free *self_p; sets it to
// NULL, ignores NULL.
void proto_handshake_destroy(proto_handshake_t **self_p);

// Take every waiting event. Never blocks; call after every loop
// iteration (ZMQ_FD is edge-triggered).
void proto_handshake_drain(proto_handshake_t *self);

// A refusal decided by the ZAP handler: address is the peer's IP address
// and key its public key (Z85, or "").
void proto_handshake_refused(proto_handshake_t *self, proto_refused_t why,
                             const char *address, const char *key);

// The reason's name in /metrics ("no_curve", "wrong_master_key", ...).
const char *proto_refused_name(proto_refused_t why);

#endif
