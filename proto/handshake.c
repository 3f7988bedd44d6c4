// proto/handshake.c - see handshake.h.
//
// Events: zmq_socket_monitor() publishes a socket's events on an inproc
// PAIR endpoint; each is two frames, 6 bytes (uint16 event, uint32
// value, host byte order) and the endpoint. The events used, and what
// they mean (observed with libzmq 4.3.4, see tests/unit/test_curve.c):
//
//   HANDSHAKE_FAILED_PROTOCOL, MECHANISM_MISMATCH: one end uses CURVE and
//       the other does not (both ends see it);
//   HANDSHAKE_FAILED_PROTOCOL, CRYPTOGRAPHIC (server): the client's HELLO
//       does not decrypt, so it was made for another server key;
//   HANDSHAKE_FAILED_NO_DETAIL: the peer hung up during the handshake.
//       A server whose client sent a HELLO for another key does that;
//       and when one end has CURVE and the other not, whichever reads the
//       other's greeting first sees the mismatch and hangs up, sometimes
//       before its own greeting went out, so the other end sees only
//       this (observed on loopback: either end, in either order);
//   HANDSHAKE_FAILED_AUTH, 400 (both ends): the ZAP handler refused the
//       client's key. On a server this is counted from the handler's own
//       report instead, which has the address.
//
// Logging once: each reason is logged the first time; a refusal with an
// address is logged the first time for that address, from a bounded list
// (PROTO_HANDSHAKE_LOGGED addresses; beyond it one line says that further
// ones are only counted). Reasons that say nothing about a worker's setup
// (OTHER: a scanner or a TCP health check) are logged at debug level.
#include "proto/handshake.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define PROTO_HANDSHAKE_LOGGED 64 // addresses whose refusal is logged
#define S_EVENT_BYTES 6           // uint16 event, uint32 value
#define S_ENDPOINT_MAX 96         // "inproc://apex-handshake-<pointer>-<us>"
#define S_ADDRESS_MAX 64          // an address as text
#define S_ZAP_REFUSED 400         // ZAP's status code for "no access"
#define S_EVENTS                                                               \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                                    \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |   \
     ZMQ_EVENT_HANDSHAKE_SUCCEEDED)

struct proto_handshake {
    proto_handshake_options_t o;             // as given, strings copied
    char *public_key;                        // o.public_key's copy
    char *peer;                              // o.peer's copy
    char *admitted;                          // o.admitted's copy
    apex_loop_t *loop;                       // watches pair
    void *sock;                              // the socket watched
    zsock_t *pair;                           // receives its events
    apex_io_t io;                            // pair's ZMQ_FD
    bool logged[PROTO_REFUSED_KINDS];        // reasons already logged
    char *addresses[PROTO_HANDSHAKE_LOGGED]; // addresses already logged
    size_t naddresses;                       // their number
    bool full_logged;                        // the list's overflow logged
};

static const char *const s_names[PROTO_REFUSED_KINDS] = {
    [PROTO_REFUSED_NO_CURVE] = "no_curve",
    [PROTO_REFUSED_CURVE_OFF] = "curve_not_enabled",
    [PROTO_REFUSED_WRONG_KEY] = "wrong_master_key",
    [PROTO_REFUSED_NOT_AUTHORIZED] = "not_authorized",
    [PROTO_REFUSED_CLOSED] = "closed_during_handshake",
    [PROTO_REFUSED_OTHER] = "other",
};

const char *proto_refused_name(proto_refused_t why)
{
    return why < PROTO_REFUSED_KINDS ? s_names[why] : "other";
}

// ---------------------------------------------------------------------
// What to say

// Why the master refused a worker.
static void s_server_text(const proto_handshake_t *self, proto_refused_t why,
                          const char *key, char *out, size_t size)
{
    switch (why) {
    case PROTO_REFUSED_NO_CURVE:
        snprintf(out, size,
                 "it does not use CURVE, which this master requires (a "
                 "Locust worker cannot; an apex-worker needs "
                 "--master-public-key)");
        return;
    case PROTO_REFUSED_CURVE_OFF:
        snprintf(out, size,
                 "it uses CURVE, which this master does not (give the "
                 "master --master-key, or the worker no "
                 "--master-public-key)");
        return;
    case PROTO_REFUSED_WRONG_KEY:
        snprintf(out, size,
                 "its CURVE handshake does not decrypt: its "
                 "--master-public-key is not this master's key (%s)",
                 self->public_key ? self->public_key : "?");
        return;
    case PROTO_REFUSED_NOT_AUTHORIZED:
        snprintf(out, size,
                 "its public key %s is not in --authorized-workers (%s)",
                 key && key[0] ? key : "(none)",
                 self->admitted ? self->admitted : "?");
        return;
    case PROTO_REFUSED_CLOSED:
        snprintf(out, size,
                 "it hung up during the handshake, as a worker without "
                 "CURVE does (a Locust worker, or an apex-worker without "
                 "--master-public-key), and anything that is not a worker "
                 "(a port scan, a TCP health check)");
        return;
    default:
        snprintf(out, size, "its handshake failed");
        return;
    }
}

// Why the master refused this worker.
static void s_client_text(proto_handshake_t *self, proto_refused_t why,
                          char *out, size_t size)
{
    switch (why) {
    case PROTO_REFUSED_NO_CURVE:
        snprintf(out, size,
                 "it does not use CURVE, and this worker has "
                 "--master-public-key (start the master with --master-key, "
                 "or this worker without --master-public-key)");
        return;
    case PROTO_REFUSED_CURVE_OFF:
        snprintf(out, size,
                 "it requires CURVE (give this worker --master-public-key "
                 "and --worker-key)");
        return;
    case PROTO_REFUSED_WRONG_KEY:
        snprintf(out, size,
                 "it hung up during the CURVE handshake: is "
                 "--master-public-key the key of this master, and does it "
                 "use CURVE (--master-key)?");
        return;
    case PROTO_REFUSED_NOT_AUTHORIZED:
        snprintf(out, size,
                 "it does not admit this worker's key %s: put the worker's "
                 "public key file in the master's --authorized-workers "
                 "folder",
                 self->public_key ? self->public_key : "");
        return;
    case PROTO_REFUSED_CLOSED:
        snprintf(out, size,
                 "it hung up during the handshake: it probably requires "
                 "CURVE (give this worker --master-public-key and "
                 "--worker-key)");
        return;
    default:
        snprintf(out, size, "the handshake failed");
        return;
    }
}

// True the first time address is seen, while the list has room.
static bool s_first_address(proto_handshake_t *self, const char *address)
{
    for (size_t i = 0; i < self->naddresses; i++)
        if (strcmp(self->addresses[i], address) == 0)
            return false;
    if (self->naddresses == PROTO_HANDSHAKE_LOGGED) {
        if (!self->full_logged)
            apex_warn("workers refused from more than %d addresses: "
                      "further ones are counted in /metrics, not logged",
                      PROTO_HANDSHAKE_LOGGED);
        self->full_logged = true;
        return false;
    }
    self->addresses[self->naddresses++] = apex_strdup(address);
    return true;
}

static void s_refused(proto_handshake_t *self, proto_refused_t why,
                      const char *address, const char *key)
{
    self->o.counts[why]++;
    bool first = address && address[0] ? s_first_address(self, address)
                                       : !self->logged[why];
    self->logged[why] = true;
    if (!first)
        return;
    char text[512];
    // Without CURVE on the master, a connection closed during the
    // handshake says nothing about a worker's setup (probes do that).
    bool quiet =
        why == PROTO_REFUSED_OTHER ||
        (why == PROTO_REFUSED_CLOSED && self->o.server && !self->o.curve);
    apex_log_level_t level = quiet ? APEX_LOG_DEBUG : APEX_LOG_WARNING;
    if (!self->o.server) {
        s_client_text(self, why, text, sizeof text);
        apex_log(level,
                 "the master at %s refused this worker: %s (logged once)",
                 self->peer ? self->peer : "?", text);
        return;
    }
    s_server_text(self, why, key, text, sizeof text);
    if (address && address[0])
        apex_log(level,
                 "refused a worker at %s: %s (further refusals from it are "
                 "counted in /metrics, not logged)",
                 address, text);
    else
        apex_log(level,
                 "refused a worker: %s (ZeroMQ does not say from which "
                 "address; further ones are counted in /metrics as "
                 "apex_workers_refused_total{reason=\"%s\"}, not logged)",
                 text, s_names[why]);
}

void proto_handshake_refused(proto_handshake_t *self, proto_refused_t why,
                             const char *address, const char *key)
{
    assert(why < PROTO_REFUSED_KINDS);
    s_refused(self, why, address, key);
}

// ---------------------------------------------------------------------
// Events

// The reason for one event, or PROTO_REFUSED_KINDS when it is none.
static proto_refused_t s_reason(const proto_handshake_t *self, uint16_t event,
                                uint32_t value)
{
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            return self->o.curve ? PROTO_REFUSED_NO_CURVE
                                 : PROTO_REFUSED_CURVE_OFF;
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
            return PROTO_REFUSED_WRONG_KEY;
        return PROTO_REFUSED_OTHER;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        if (self->o.server && value == S_ZAP_REFUSED)
            return PROTO_REFUSED_KINDS; // the ZAP handler reported it
        return value == S_ZAP_REFUSED ? PROTO_REFUSED_NOT_AUTHORIZED
                                      : PROTO_REFUSED_OTHER;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        // A worker with CURVE whose master hangs up: most likely the
        // wrong master key (a master without CURVE says mismatch, mostly).
        return !self->o.server && self->o.curve ? PROTO_REFUSED_WRONG_KEY
                                                : PROTO_REFUSED_CLOSED;
    default:
        return PROTO_REFUSED_KINDS;
    }
}

// Receive one event. Returns false when none was there.
static bool s_event(proto_handshake_t *self)
{
    if (!(zsock_events(self->pair) & ZMQ_POLLIN))
        return false;
    zmsg_t *msg = zmsg_recv(self->pair);
    if (!msg)
        return false;
    zframe_t *head = zmsg_first(msg);
    if (head && zframe_size(head) >= S_EVENT_BYTES) {
        uint16_t event;
        uint32_t value;
        memcpy(&event, zframe_data(head), sizeof event);
        memcpy(&value, zframe_data(head) + sizeof event, sizeof value);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !self->o.server)
            apex_debug("handshake with the master at %s done%s",
                       self->peer ? self->peer : "?",
                       self->o.curve ? " (CURVE)" : "");
        proto_refused_t why = s_reason(self, event, value);
        if (why < PROTO_REFUSED_KINDS)
            s_refused(self, why, NULL, NULL);
    }
    zmsg_destroy(&msg);
    return true;
}

void proto_handshake_drain(proto_handshake_t *self)
{
    while (self->pair && s_event(self))
        ;
}

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    proto_handshake_drain(io->arg);
}

proto_handshake_t *proto_handshake_new(apex_loop_t *loop, void *sock,
                                       const proto_handshake_options_t *o,
                                       apex_error_t *err)
{
    assert(loop && sock && o && o->counts);
    proto_handshake_t *self = apex_calloc(1, sizeof *self);
    self->o = *o;
    self->public_key = o->public_key ? apex_strdup(o->public_key) : NULL;
    self->peer = o->peer ? apex_strdup(o->peer) : NULL;
    self->admitted = o->admitted ? apex_strdup(o->admitted) : NULL;
    self->loop = loop;
    self->sock = sock;
    apex_io_init(&self->io, s_on_io, self);
    // libzmq frees an inproc endpoint some time after its socket closes,
    // and a new watcher may get the old one's address: the time tells
    // them apart.
    char endpoint[S_ENDPOINT_MAX];
    snprintf(endpoint, sizeof endpoint, "inproc://apex-handshake-%p-%llu",
             (void *)self, (unsigned long long)apex_now_us());
    if (zmq_socket_monitor(sock, endpoint, S_EVENTS) != 0) {
        apex_error_set(err, "cannot watch the socket's handshakes: %s",
                       zmq_strerror(zmq_errno()));
        self->sock = NULL;
        proto_handshake_destroy(&self);
        return NULL;
    }
    self->pair = zsock_new(ZMQ_PAIR);
    if (!self->pair || zsock_connect(self->pair, "%s", endpoint) != 0 ||
        apex_io_start(loop, &self->io, zsock_fd(self->pair), EPOLLIN, err)) {
        if (!apex_error_is_set(err))
            apex_error_set(err, "cannot watch the socket's handshakes: %s",
                           zmq_strerror(zmq_errno()));
        proto_handshake_destroy(&self);
        return NULL;
    }
    return self;
}

void proto_handshake_destroy(proto_handshake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proto_handshake_t *self = *self_p;
    apex_io_stop(self->loop, &self->io);
    if (self->sock)
        zmq_socket_monitor(self->sock, NULL, 0);
    zsock_destroy(&self->pair);
    for (size_t i = 0; i < self->naddresses; i++)
        free(self->addresses[i]);
    free(self->public_key);
    free(self->peer);
    free(self->admitted);
    free(self);
    *self_p = NULL;
}
