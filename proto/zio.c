// proto/zio.c - the ZeroMQ receive and send loop of master and worker
// (see zio.h).
//
// Receiving: ZMQ_FD only says "something changed", once, so drain loops
// while ZMQ_EVENTS has POLLIN and reads whole messages (all their
// frames) with ZMQ_DONTWAIT. Of a message it keeps the first frames it
// needs (ROUTER: identity and payload; DEALER: payload) and closes the
// rest. The frames are closed before the callback runs, so the callback
// may replace the socket (reconnect) in the middle of a drain: the loop
// looks at self->sock afresh each time round.
//
// Malformed frames: the ids of the first PROTO_ZIO_LOGGED_PEERS peers
// that sent one are remembered, so each of them is logged once; a peer
// chooses its identity, so the list is bounded and peers beyond it are
// only counted (one line says so). Ids are logged with bytes outside
// printable ASCII replaced by '?'.
//
// Sending never blocks (ZMQ_DONTWAIT). A ROUTER sends the identity frame
// first: with ZMQ_ROUTER_MANDATORY that is where a full or unknown peer
// is refused, before any part of the message is queued. ROUTER_HANDOVER
// (see zio.h) was found by test_zio's reconnect, which without it lost
// the re-registration in about half the runs.
#include "proto/zio.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"

#define S_MAX_ID 255           // ZeroMQ's longest routing id
#define S_KEEPALIVE_IDLE_S 30  // TCP keepalive idle time, as Locust
#define S_ROUTER_FRAMES 2      // identity, payload
#define S_DEALER_FRAMES 1      // payload
#define S_PRINTABLE_FIRST 0x20 // ' '
#define S_PRINTABLE_LAST 0x7e  // '~'

typedef struct {
    char *id;   // the identity's bytes (a NUL may be among them)
    size_t len; // their number
} s_peer_t;

struct proto_zio {
    proto_zio_options_t options;             // as given, with our strings
    char *endpoint;                          // options.endpoint's copy
    char *identity;                          // options.identity's copy
    apex_loop_t *loop;                       // the loop watching the socket
    zsock_t *sock;                           // the socket, or NULL after a
                                             // failed reconnect
    apex_io_t io;                            // watches ZMQ_FD
    apex_timer_t batch;                      // options.batch_us: drains
    int port;                                // ROUTER: the bound TCP port
    bool draining;                           // inside proto_zio_drain()
    bool warned_full;                        // a full queue was logged
    bool warned_peers;                       // the logged list overflowed
    s_peer_t logged[PROTO_ZIO_LOGGED_PEERS]; // peers whose bad frame was
                                             // logged
    size_t nlogged;                          // their number
    proto_zio_counters_t counters;           // what happened
};

// ---------------------------------------------------------------------
// The socket

static void s_drain_now(proto_zio_t *self);

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    proto_zio_drain(io->arg);
}

static void s_on_batch(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_drain_now(timer->arg);
}

static void s_close(proto_zio_t *self)
{
    if (!self->sock)
        return;
    apex_io_stop(self->loop, &self->io);
    zsock_destroy(&self->sock);
}

// Bind (ROUTER) or connect (DEALER) the options of a fresh socket.
static int s_attach(proto_zio_t *self, apex_error_t *err)
{
    const proto_zio_options_t *o = &self->options;
    if (o->role == PROTO_ZIO_ROUTER) {
        zsock_set_router_mandatory(self->sock, 1);
        zsock_set_router_handover(self->sock, 1);
        int port = zsock_bind(self->sock, "%s", o->endpoint);
        if (port < 0)
            return apex_error_set(err, "cannot bind %s: %s", o->endpoint,
                                  zmq_strerror(zmq_errno()));
        self->port = port;
        return 0;
    }
    zsock_set_identity(self->sock, o->identity);
    zsock_set_immediate(self->sock, 1);
    zsock_set_ipv6(self->sock, 1); // "tcp://[::1]:5557" too
    if (!o->endpoint)
        return 0; // proto_zio_connect() says where, later
    if (zsock_connect(self->sock, "%s", o->endpoint) != 0)
        return apex_error_set(err, "cannot connect to %s: %s", o->endpoint,
                              zmq_strerror(zmq_errno()));
    return 0;
}

static int s_open(proto_zio_t *self, apex_error_t *err)
{
    const proto_zio_options_t *o = &self->options;
    bool router = o->role == PROTO_ZIO_ROUTER;
    self->sock = zsock_new(router ? ZMQ_ROUTER : ZMQ_DEALER);
    if (!self->sock)
        return apex_error_set(err, "cannot create a ZeroMQ socket: %s",
                              zmq_strerror(zmq_errno()));
    zsock_set_linger(self->sock, o->linger_ms);
    zsock_set_maxmsgsize(self->sock, (int)PROTO_MAX_FRAME);
    zsock_set_tcp_keepalive(self->sock, 1);
    zsock_set_tcp_keepalive_idle(self->sock, S_KEEPALIVE_IDLE_S);
    if (o->hwm > 0) {
        zsock_set_sndhwm(self->sock, o->hwm);
        zsock_set_rcvhwm(self->sock, o->hwm);
    }
    if (s_attach(self, err) != 0 ||
        apex_io_start(self->loop, &self->io, zsock_fd(self->sock), EPOLLIN,
                      err) != 0) {
        zsock_destroy(&self->sock);
        return -1;
    }
    return 0;
}

proto_zio_t *proto_zio_new(apex_loop_t *loop,
                           const proto_zio_options_t *options,
                           apex_error_t *err)
{
    assert(loop && options && options->fn);
    assert(options->endpoint || options->role == PROTO_ZIO_DEALER);
    assert((options->role == PROTO_ZIO_DEALER) == (options->identity != NULL));
    proto_zio_t *self = apex_calloc(1, sizeof *self);
    self->options = *options;
    self->endpoint = options->endpoint ? apex_strdup(options->endpoint) : NULL;
    self->options.endpoint = self->endpoint;
    if (options->identity) {
        self->identity = apex_strdup(options->identity);
        self->options.identity = self->identity;
    }
    self->loop = loop;
    apex_io_init(&self->io, s_on_io, self);
    apex_timer_init(&self->batch, s_on_batch, self);
    if (s_open(self, err) != 0)
        proto_zio_destroy(&self);
    return self;
}

void proto_zio_destroy(proto_zio_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proto_zio_t *self = *self_p;
    assert(!self->draining); // not from inside the callback
    apex_timer_stop(self->loop, &self->batch);
    s_close(self);
    for (size_t i = 0; i < self->nlogged; i++)
        free(self->logged[i].id);
    free(self->endpoint);
    free(self->identity);
    free(self);
    *self_p = NULL;
}

int proto_zio_port(const proto_zio_t *self)
{
    return self->port;
}

int proto_zio_reconnect(proto_zio_t *self, apex_error_t *err)
{
    assert(self->options.role == PROTO_ZIO_DEALER);
    s_close(self);
    return s_open(self, err);
}

int proto_zio_connect(proto_zio_t *self, const char *endpoint,
                      apex_error_t *err)
{
    assert(self->options.role == PROTO_ZIO_DEALER && endpoint);
    if (self->sock && self->endpoint && strcmp(self->endpoint, endpoint) == 0)
        return 0;
    free(self->endpoint);
    self->endpoint = apex_strdup(endpoint);
    self->options.endpoint = self->endpoint;
    return proto_zio_reconnect(self, err);
}

const char *proto_zio_endpoint(const proto_zio_t *self)
{
    return self->endpoint;
}

const proto_zio_counters_t *proto_zio_counters(const proto_zio_t *self)
{
    return &self->counters;
}

// ---------------------------------------------------------------------
// Receiving

// id as text fit for a log line.
static void s_printable(const char *id, size_t len, char *out, size_t size)
{
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        out[i] =
            c >= S_PRINTABLE_FIRST && c <= S_PRINTABLE_LAST ? (char)c : '?';
    }
    out[n] = '\0';
}

// True the first time peer id sends a bad frame, while the list of such
// peers has room.
static bool s_first_from(proto_zio_t *self, const char *id, size_t len)
{
    for (size_t i = 0; i < self->nlogged; i++)
        if (self->logged[i].len == len &&
            memcmp(self->logged[i].id, id, len) == 0)
            return false;
    if (self->nlogged == PROTO_ZIO_LOGGED_PEERS) {
        if (!self->warned_peers)
            apex_warn("malformed messages from more than %d peers: those "
                      "from further peers are counted, not logged",
                      PROTO_ZIO_LOGGED_PEERS);
        self->warned_peers = true;
        return false;
    }
    s_peer_t *peer = &self->logged[self->nlogged++];
    peer->id = apex_calloc(1, len + 1);
    memcpy(peer->id, id, len);
    peer->len = len;
    return true;
}

static void s_malformed(proto_zio_t *self, const char *id, size_t len,
                        const char *why)
{
    self->counters.malformed++;
    if (!s_first_from(self, id, len))
        return;
    if (self->options.role == PROTO_ZIO_DEALER) {
        apex_warn("malformed message from the master dropped: %s (further "
                  "ones are counted, not logged)",
                  why);
        return;
    }
    char text[S_MAX_ID + 1];
    s_printable(id, len, text, sizeof text);
    apex_warn("malformed message from worker %s dropped: %s (further ones "
              "from it are counted, not logged)",
              text, why);
}

// Read one whole message into frames (closing the frames past want).
// Returns how many it kept, or -1 when nothing could be read.
static int s_recv_frames(void *handle, zmq_msg_t *frames, size_t want)
{
    size_t n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break; // nothing (more) to read
        }
        more = zmq_msg_more(&part);
        if (n < want)
            frames[n++] = part; // ownership moves to frames
        else
            zmq_msg_close(&part); // extra frames are ignored
    }
    return n == 0 ? -1 : (int)n;
}

// Receive and deliver one message. Returns 0, or -1 when none was there.
static int s_receive_one(proto_zio_t *self)
{
    bool router = self->options.role == PROTO_ZIO_ROUTER;
    size_t want = router ? S_ROUTER_FRAMES : S_DEALER_FRAMES;
    zmq_msg_t frames[S_ROUTER_FRAMES];
    int n = s_recv_frames(zsock_resolve(self->sock), frames, want);
    if (n < 0)
        return -1;
    char id[S_MAX_ID + 1] = "";
    size_t idlen = 0;
    if (router) {
        idlen = zmq_msg_size(&frames[0]);
        idlen = idlen < S_MAX_ID ? idlen : S_MAX_ID;
        memcpy(id, zmq_msg_data(&frames[0]), idlen);
    }
    apex_error_t err = {""};
    proto_msg_t *msg = NULL;
    if ((size_t)n == want) {
        zmq_msg_t *payload = &frames[want - 1];
        msg = proto_decode(zmq_msg_data(payload), zmq_msg_size(payload), &err);
    } else {
        apex_error_set(&err, "no payload after the identity frame");
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&frames[i]);
    if (msg && router &&
        (strlen(msg->node_id) != idlen || memcmp(msg->node_id, id, idlen))) {
        apex_error_set(&err, "node id differs from the socket identity");
        proto_msg_destroy(&msg);
    }
    if (!msg) {
        s_malformed(self, id, idlen, err.msg);
        return 0;
    }
    self->counters.received++;
    self->options.fn(self->options.arg, msg);
    proto_msg_destroy(&msg);
    return 0;
}

void proto_zio_drain(proto_zio_t *self)
{
    if (!self->options.batch_us || self->draining) {
        s_drain_now(self);
        return;
    }
    // zsock_events() processes ZeroMQ's commands and reads its signal,
    // so the watched fd is not left readable (the loop would spin until
    // the timer): call it on every wake-up, timer or not.
    if (self->sock && (zsock_events(self->sock) & ZMQ_POLLIN) &&
        !apex_timer_active(&self->batch))
        apex_timer_start(self->loop, &self->batch, self->options.batch_us);
}

static void s_drain_now(proto_zio_t *self)
{
    bool outer = !self->draining; // a drain called from the callback
    self->draining = true;
    while (self->sock && (zsock_events(self->sock) & ZMQ_POLLIN))
        if (s_receive_one(self) != 0)
            break;
    if (outer)
        self->draining = false;
}

// ---------------------------------------------------------------------
// Sending

const char *proto_zio_result_text(proto_zio_result_t result)
{
    switch (result) {
    case PROTO_ZIO_SENT:
        return "sent";
    case PROTO_ZIO_FULL:
        return "queue full at the high-water mark";
    case PROTO_ZIO_NO_PEER:
        return "no such peer connected";
    case PROTO_ZIO_TOO_BIG:
        return "payload empty or too big";
    case PROTO_ZIO_FAILED:
        return "send failed";
    }
    return "unknown result";
}

// Count a failed send and say so.
static proto_zio_result_t s_failed(proto_zio_t *self, const char *peer,
                                   proto_zio_result_t result, int error)
{
    bool router = self->options.role == PROTO_ZIO_ROUTER;
    char id[S_MAX_ID + 1];
    char who[sizeof id + sizeof "worker "];
    if (router) {
        s_printable(peer, strlen(peer), id, sizeof id);
        snprintf(who, sizeof who, "worker %s", id);
    } else {
        snprintf(who, sizeof who, "the master");
    }
    if (result == PROTO_ZIO_FULL)
        self->counters.full++;
    else if (result == PROTO_ZIO_NO_PEER)
        self->counters.no_peer++;
    else
        self->counters.failed++;
    if (router && result == PROTO_ZIO_FULL && !self->warned_full) {
        self->warned_full = true;
        apex_warn("message to %s dropped: its queue is full at the "
                  "high-water mark (further full queues are counted, not "
                  "logged)",
                  who);
    }
    apex_debug("send to %s failed: %s%s%s", who, proto_zio_result_text(result),
               error ? ": " : "", error ? zmq_strerror(error) : "");
    return result;
}

static proto_zio_result_t s_result_of(int error)
{
    if (error == EAGAIN)
        return PROTO_ZIO_FULL;
    if (error == EHOSTUNREACH)
        return PROTO_ZIO_NO_PEER;
    return PROTO_ZIO_FAILED;
}

proto_zio_result_t proto_zio_send(proto_zio_t *self, const char *peer,
                                  const apex_buf_t *payload)
{
    bool router = self->options.role == PROTO_ZIO_ROUTER;
    assert(payload && router == (peer != NULL));
    if (payload->len == 0 || payload->len > PROTO_MAX_FRAME)
        return s_failed(self, peer, PROTO_ZIO_TOO_BIG, 0);
    if (!self->sock)
        return s_failed(self, peer, PROTO_ZIO_FAILED, 0);
    void *handle = zsock_resolve(self->sock);
    // Once the identity frame is queued the payload cannot be refused
    // (ZeroMQ checks the peer's queue on the first frame only).
    if ((router && zmq_send(handle, peer, strlen(peer),
                            ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
        zmq_send(handle, payload->data, payload->len, ZMQ_DONTWAIT) < 0) {
        int error = zmq_errno();
        return s_failed(self, peer, s_result_of(error), error);
    }
    self->counters.sent++;
    return PROTO_ZIO_SENT;
}
