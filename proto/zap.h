// proto/zap.h - the master's ZAP handler (ZeroMQ's authentication
// protocol, RFC 27): libzmq asks it, during each CURVE handshake on the
// master's ROUTER, whether to admit the worker's public key. It admits a
// key that is a certificate in a folder (czmq's zcertstore, which reloads
// the folder when it changes, so a key added while the master runs is
// admitted from then on) and tells its caller who was refused, with the
// peer's address and key. It answers on the master's loop; libzmq holds
// the handshake until the answer comes.
//
// There is one ZAP endpoint per ZeroMQ context (inproc://zeromq.zap.01),
// so one handler per process. It must be running before the ROUTER binds:
// a CURVE server with no handler admits every client.
#ifndef APEX_PROTO_ZAP_H
#define APEX_PROTO_ZAP_H

#include "common/error.h"
#include "common/loop.h"

// A refused worker: address is its IP address (no port), key its public
// key in Z85 ("" when it sent none). Both are borrowed for the call.
typedef void(proto_zap_refused_fn)(void *arg, const char *address,
                                   const char *key);

typedef struct proto_zap proto_zap_t; // opaque

// Bind the handler and watch it on loop; keys are the certificates in
// dir. Returns a new handler the caller owns, or NULL with err set
// ("cannot serve ZAP: Address already in use": another handler runs).
proto_zap_t *proto_zap_new(apex_loop_t *loop, const char *dir,
                           proto_zap_refused_fn *fn, void *arg,
                           apex_error_t *err);

// Stop answering and free *self_p; sets it to NULL, ignores NULL.
void proto_zap_destroy(proto_zap_t **self_p);

// Answer every waiting request. Never blocks. ZMQ_FD is edge-triggered:
// call it after every loop iteration, as proto_zio_drain().
void proto_zap_drain(proto_zap_t *self);

// Requests answered so far: admitted and refused.
void proto_zap_counts(const proto_zap_t *self, unsigned long long *admitted,
                      unsigned long long *refused);

#endif
