// tests/unit/test_zio.c - proto/zio.c over real sockets on one apex_loop:
// a ROUTER (the master's end) and a DEALER (a worker's) on 127.0.0.1,
// and raw czmq DEALERs playing hostile peers.
//
// 1. Exchange: client_ready until the master hears it (a DEALER refuses
//    to queue while not connected), bursts both ways, all delivered in
//    order by draining the edge-triggered ZMQ_FD; sends to an unknown
//    peer, empty and oversize payloads are refused and counted.
// 2. Malformed frames (junk, a node id that is not the sender's
//    identity, an empty frame, no payload) are counted, dropped and
//    logged once per peer, with unprintable identity bytes masked; extra
//    frames after the payload are ignored.
// 3. "reconnect" handled inside the callback, in the middle of a drain.
// 4. The high-water mark over inproc: sends fail with PROTO_ZIO_FULL
//    (warned once) instead of vanishing, every send reported as sent is
//    delivered, and sending works again once the peer reads.
// 5. Bind and connect errors, a DEALER with no master, double destroy;
//    a DEALER told where the master is only later (proto_zio_connect),
//    and told again (nothing changes) or elsewhere (a new socket).
// 6. A ROUTER with batch_us: a burst is delivered in batches, and the
//    loop does not spin while a batch waits (ZeroMQ's signal is read on
//    every wake-up).
//
// Waits run the loop until a condition holds, bounded by a deadline
// timer; nothing sleeps.
#include "tests/unit/tests.h"

#include <czmq.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "proto/zio.h"

#define S_DEADLINE_US (10 * APEX_USEC_PER_SEC) // longest wait for anything
#define S_RETRY_US (10 * APEX_USEC_PER_MSEC)   // client_ready resend period
#define S_BURST 300                            // messages sent at once
#define S_HWM 2                                // small queues for test 4
#define S_MAX_SENDS 10000                      // far beyond S_HWM's queues
#define S_NODE "testhost_0123456789abcdef0123456789abcdef"
#define S_INPROC "inproc://apex-test-zio"

typedef struct {
    proto_zio_t *zio;    // the end under test
    uint64_t received;   // messages its callback saw
    proto_type_t type;   // the last one's type
    uint64_t heartbeats; // heartbeats among them
    int64_t next_index;  // the ack index expected next
    bool in_order;       // acks came with indexes 0, 1, 2, ...
} s_end_t;

typedef struct s_net s_net_t;
typedef bool(s_done_fn)(s_net_t *net);

struct s_net {
    apex_loop_t *loop;     // runs both ends
    s_end_t master;        // the ROUTER
    s_end_t worker;        // the DEALER
    apex_buf_t buf;        // scratch payload
    s_done_fn *done;       // when s_run may return
    uint64_t want;         // what done waits for
    uint64_t retry_until;  // the master has heard this many messages
    bool timed_out;        // the deadline fired
    apex_timer_t deadline; // bounds every s_run
    apex_timer_t retry;    // resends client_ready from the worker
    uint64_t iterations;   // loop iterations so far
    int saved_stderr;      // during a capture: the real stderr
    int capture_fd;        // during a capture: where stderr goes
};

// ---------------------------------------------------------------------
// Helpers

static void s_on_message(void *arg, proto_msg_t *msg)
{
    s_end_t *end = arg;
    end->received++;
    end->type = msg->type;
    end->heartbeats += msg->type == PROTO_HEARTBEAT;
    if (msg->type == PROTO_ACK) {
        end->in_order = end->in_order && msg->index == end->next_index;
        end->next_index++;
    }
    if (msg->type == PROTO_RECONNECT) {
        apex_error_t err = {""};
        CHECK(proto_zio_reconnect(end->zio, &err) == 0);
        CHECK_STR(err.msg, "");
    }
}

static void s_on_iteration(void *arg)
{
    s_net_t *net = arg;
    net->iterations++;
    if (net->master.zio)
        proto_zio_drain(net->master.zio);
    if (net->worker.zio)
        proto_zio_drain(net->worker.zio);
    if (net->done(net))
        apex_loop_stop(net->loop);
}

static void s_on_deadline(apex_loop_t *loop, apex_timer_t *timer)
{
    s_net_t *net = timer->arg;
    net->timed_out = true;
    apex_loop_stop(loop);
}

// Until the master has heard retry_until messages, the worker sends a
// client_ready every S_RETRY_US.
static void s_on_retry(apex_loop_t *loop, apex_timer_t *timer)
{
    s_net_t *net = timer->arg;
    if (net->master.received >= net->retry_until)
        return;
    proto_encode_client_ready(&net->buf, NULL, S_NODE);
    proto_zio_send(net->worker.zio, NULL, &net->buf);
    apex_timer_start(loop, timer, S_RETRY_US);
}

// Run the loop until done(net) holds; fails the test after the deadline.
// Drains first: a send may have consumed the edge of ZMQ_FD.
static void s_run(s_net_t *net, s_done_fn *done, uint64_t want)
{
    net->done = done;
    net->want = want;
    s_on_iteration(net);
    if (done(net))
        return;
    apex_timer_start(net->loop, &net->deadline, S_DEADLINE_US);
    apex_error_t err = {""};
    CHECK(apex_loop_run(net->loop, &err) == 0);
    apex_timer_stop(net->loop, &net->deadline);
    if (net->timed_out)
        fprintf(stderr,
                "test_zio: timed out waiting for %llu (the master heard "
                "%llu messages, the worker %llu)\n",
                (unsigned long long)want,
                (unsigned long long)net->master.received,
                (unsigned long long)net->worker.received);
    CHECK(!net->timed_out);
}

static bool s_master_heard(s_net_t *net)
{
    return net->master.received >= net->want;
}

static bool s_worker_heard(s_net_t *net)
{
    return net->worker.received >= net->want;
}

static bool s_master_dropped(s_net_t *net)
{
    return proto_zio_counters(net->master.zio)->malformed >= net->want;
}

static bool s_worker_dropped(s_net_t *net)
{
    return proto_zio_counters(net->worker.zio)->malformed >= net->want;
}

static void s_net_init(s_net_t *net)
{
    memset(net, 0, sizeof *net);
    apex_error_t err = {""};
    net->loop = apex_loop_new(&err);
    CHECK(net->loop != NULL);
    net->master.in_order = net->worker.in_order = true;
    apex_buf_init(&net->buf);
    apex_timer_init(&net->deadline, s_on_deadline, net);
    apex_timer_init(&net->retry, s_on_retry, net);
    apex_loop_on_iteration(net->loop, s_on_iteration, net);
}

static void s_net_fini(s_net_t *net)
{
    apex_timer_stop(net->loop, &net->retry);
    proto_zio_destroy(&net->worker.zio);
    proto_zio_destroy(&net->master.zio);
    apex_loop_destroy(&net->loop);
    apex_buf_fini(&net->buf);
}

static proto_zio_t *s_zio_batch(s_net_t *net, proto_zio_role_t role,
                                const char *endpoint, int hwm,
                                uint64_t batch_us)
{
    bool router = role == PROTO_ZIO_ROUTER;
    proto_zio_options_t o = {
        .batch_us = batch_us,
        .role = role,
        .endpoint = endpoint,
        .identity = router ? NULL : S_NODE,
        .linger_ms = 0,
        .hwm = hwm,
        .fn = s_on_message,
        .arg = router ? &net->master : &net->worker,
    };
    apex_error_t err = {""};
    proto_zio_t *zio = proto_zio_new(net->loop, &o, &err);
    if (!zio)
        fprintf(stderr, "test_zio: %s\n", err.msg);
    CHECK(zio != NULL);
    return zio;
}

static proto_zio_t *s_zio(s_net_t *net, proto_zio_role_t role,
                          const char *endpoint, int hwm)
{
    return s_zio_batch(net, role, endpoint, hwm, 0);
}

// Send stderr to a file until s_capture_end, which returns what was
// written (the caller frees it).
static void s_capture_begin(s_net_t *net)
{
    char path[] = "/tmp/apex-test-zio-XXXXXX";
    net->capture_fd = mkstemp(path);
    CHECK(net->capture_fd >= 0);
    unlink(path);
    fflush(stderr);
    net->saved_stderr = dup(STDERR_FILENO);
    CHECK(net->saved_stderr >= 0);
    CHECK(dup2(net->capture_fd, STDERR_FILENO) == STDERR_FILENO);
}

static char *s_capture_end(s_net_t *net)
{
    fflush(stderr);
    CHECK(dup2(net->saved_stderr, STDERR_FILENO) == STDERR_FILENO);
    close(net->saved_stderr);
    off_t size = lseek(net->capture_fd, 0, SEEK_END);
    CHECK(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    CHECK(text != NULL);
    CHECK(pread(net->capture_fd, text, (size_t)size, 0) == size);
    close(net->capture_fd);
    return text;
}

static size_t s_count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

// A raw DEALER with the given identity, connected to endpoint.
static zsock_t *s_raw_dealer(const char *identity, const char *endpoint)
{
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    CHECK(sock != NULL);
    zsock_set_identity(sock, identity);
    zsock_set_linger(sock, 0);
    zsock_set_rcvhwm(sock, S_HWM);
    CHECK(zsock_connect(sock, "%s", endpoint) == 0);
    return sock;
}

static void s_raw_send(zsock_t *sock, const void *data, size_t size, int flags)
{
    CHECK(zmq_send(zsock_resolve(sock), data, size, flags) == (int)size);
}

// ---------------------------------------------------------------------
// 1. Exchange

// The worker sends client_ready until the master has heard one more.
static void s_register(s_net_t *net)
{
    net->retry_until = net->master.received + 1;
    apex_timer_start(net->loop, &net->retry, 0);
    s_run(net, s_master_heard, net->retry_until);
    apex_timer_stop(net->loop, &net->retry);
    CHECK_EQ(net->master.type, PROTO_CLIENT_READY);
}

static void s_test_exchange(s_net_t *net)
{
    const proto_zio_counters_t *mc = proto_zio_counters(net->master.zio);
    const proto_zio_counters_t *wc = proto_zio_counters(net->worker.zio);
    s_register(net); // FULL while not connected, then sent
    CHECK_EQ(mc->received, 1);
    CHECK(wc->sent >= 1);

    for (int64_t i = 0; i < S_BURST; i++) {
        proto_encode_ack(&net->buf, i, S_NODE);
        CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
                 PROTO_ZIO_SENT);
    }
    CHECK_EQ(mc->sent, S_BURST);
    s_run(net, s_worker_heard, S_BURST);
    CHECK_EQ(net->worker.received, S_BURST);
    CHECK(net->worker.in_order);
    CHECK_EQ(net->worker.type, PROTO_ACK);

    uint64_t sent = wc->sent;
    for (int i = 0; i < S_BURST; i++) {
        proto_encode_heartbeat(&net->buf, "running", 1.5, 1234, "0.1", S_NODE);
        CHECK_EQ(proto_zio_send(net->worker.zio, NULL, &net->buf),
                 PROTO_ZIO_SENT);
    }
    CHECK_EQ(wc->sent, sent + S_BURST);
    s_run(net, s_master_heard, 1 + S_BURST);
    CHECK_EQ(net->master.received, 1 + S_BURST);
    CHECK_EQ(net->master.type, PROTO_HEARTBEAT);

    // Refused sends: an unknown peer, an empty and an oversize payload.
    CHECK_EQ(proto_zio_send(net->master.zio, "nobody", &net->buf),
             PROTO_ZIO_NO_PEER);
    CHECK_EQ(mc->no_peer, 1);
    apex_buf_t empty;
    apex_buf_init(&empty);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &empty),
             PROTO_ZIO_TOO_BIG);
    CHECK_EQ(proto_zio_send(net->worker.zio, NULL, &empty), PROTO_ZIO_TOO_BIG);
    char byte = 'x';
    apex_buf_t big = {&byte, PROTO_MAX_FRAME + 1u, 0}; // never read
    CHECK_EQ(proto_zio_send(net->worker.zio, NULL, &big), PROTO_ZIO_TOO_BIG);
    CHECK_EQ(mc->failed, 1);
    CHECK_EQ(wc->failed, 2);
    CHECK_EQ(mc->malformed + wc->malformed, 0);
}

// ---------------------------------------------------------------------
// 2. Malformed frames

static void s_test_malformed(s_net_t *net, const char *endpoint)
{
    const proto_zio_counters_t *mc = proto_zio_counters(net->master.zio);
    uint64_t received = net->master.received;
    s_capture_begin(net);

    // From the master to the worker: two junk frames, one line.
    apex_buf_reset(&net->buf);
    apex_buf_append(&net->buf, "\xc1", 1);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
             PROTO_ZIO_SENT);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
             PROTO_ZIO_SENT);
    s_run(net, s_worker_dropped, 2);

    // From raw peers to the master.
    zsock_t *evil = s_raw_dealer("evil_1", endpoint);
    zsock_t *other = s_raw_dealer("evil_2", endpoint);
    zsock_t *masked = s_raw_dealer("bad\x01id", endpoint);
    s_raw_send(evil, "junk", 4, 0);
    proto_encode_empty(&net->buf, "quit", "someone_else");
    s_raw_send(evil, net->buf.data, net->buf.len, 0);
    s_raw_send(evil, "", 0, 0);
    proto_encode_heartbeat(&net->buf, "ready", 0, 0, NULL, "evil_1");
    s_raw_send(evil, net->buf.data, net->buf.len, ZMQ_SNDMORE);
    s_raw_send(evil, "extra", 5, 0); // ignored: the message is good
    s_raw_send(other, "\x93", 1, 0);
    s_raw_send(masked, "\xc1", 1, 0);
    s_run(net, s_master_dropped, 5);
    s_run(net, s_master_heard, received + 1);
    char *log = s_capture_end(net);

    CHECK_EQ(mc->malformed, 5);
    CHECK_EQ(net->master.received, received + 1);
    CHECK_EQ(net->master.type, PROTO_HEARTBEAT);
    CHECK_EQ(proto_zio_counters(net->worker.zio)->malformed, 2);
    CHECK_EQ(s_count(log, "malformed message from the master dropped: "
                          "frame of 1 bytes: not valid msgpack"),
             1);
    CHECK_EQ(s_count(log, "malformed message from worker evil_1 dropped: "
                          "frame of 4 bytes: 3 trailing bytes (further ones "
                          "from it are counted, not logged)"),
             1);
    CHECK_EQ(s_count(log, "malformed message from worker evil_2 dropped: "
                          "frame of 1 bytes"),
             1);
    CHECK_EQ(s_count(log, "malformed message from worker bad?id dropped"), 1);
    CHECK_EQ(s_count(log, "malformed message"), 4);
    free(log);
    zsock_destroy(&evil);
    zsock_destroy(&other);
    zsock_destroy(&masked);
}

// ---------------------------------------------------------------------
// 3. Reconnect inside the callback

static void s_test_reconnect(s_net_t *net)
{
    uint64_t received = net->master.received;
    proto_encode_empty(&net->buf, "reconnect", S_NODE);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
             PROTO_ZIO_SENT);
    proto_encode_empty(&net->buf, "stop", S_NODE);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
             PROTO_ZIO_SENT);
    uint64_t heard = net->worker.received;
    s_run(net, s_worker_heard, heard + 1);
    CHECK_EQ(net->worker.type, PROTO_RECONNECT);
    // The new socket registers again with the same identity.
    s_register(net);
    CHECK_EQ(net->master.received, received + 1);
    proto_encode_ack(&net->buf, 0, S_NODE);
    CHECK_EQ(proto_zio_send(net->master.zio, S_NODE, &net->buf),
             PROTO_ZIO_SENT);
    s_run(net, s_worker_heard, net->worker.received + 1);
    CHECK_EQ(net->worker.type, PROTO_ACK);
}

// A DEALER made without an endpoint refuses sends until told one.
static void s_test_connect_later(s_net_t *net, const char *endpoint)
{
    proto_zio_destroy(&net->worker.zio);
    net->worker.zio = s_zio(net, PROTO_ZIO_DEALER, NULL, 0);
    CHECK(proto_zio_endpoint(net->worker.zio) == NULL);
    proto_encode_client_ready(&net->buf, NULL, S_NODE);
    CHECK_EQ(proto_zio_send(net->worker.zio, NULL, &net->buf), PROTO_ZIO_FULL);
    apex_error_t err = {""};
    CHECK(proto_zio_connect(net->worker.zio, "tcp://127.0.0.1:1", &err) == 0);
    CHECK_STR(proto_zio_endpoint(net->worker.zio), "tcp://127.0.0.1:1");
    CHECK(proto_zio_connect(net->worker.zio, endpoint, &err) == 0);
    CHECK(proto_zio_connect(net->worker.zio, endpoint, &err) == 0); // same
    CHECK_STR(proto_zio_endpoint(net->worker.zio), endpoint);
    uint64_t received = net->master.received;
    s_register(net);
    CHECK_EQ(net->master.received, received + 1);
    CHECK(proto_zio_connect(net->worker.zio, "nonsense", &err) != 0);
    CHECK(strstr(err.msg, "cannot connect to nonsense") != NULL);
    CHECK_EQ(proto_zio_send(net->worker.zio, NULL, &net->buf),
             PROTO_ZIO_FAILED);
    CHECK(proto_zio_connect(net->worker.zio, endpoint, &err) == 0);
}

static void s_test_tcp(void)
{
    s_net_t net;
    s_net_init(&net);
    net.master.zio = s_zio(&net, PROTO_ZIO_ROUTER, "tcp://127.0.0.1:*", 0);
    int port = proto_zio_port(net.master.zio);
    CHECK(port > 0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    net.worker.zio = s_zio(&net, PROTO_ZIO_DEALER, endpoint, 0);
    CHECK_EQ(proto_zio_port(net.worker.zio), 0);
    s_test_exchange(&net);
    s_test_malformed(&net, endpoint);
    s_test_reconnect(&net);

    // 5. The port is taken; nothing to connect to; a bad address.
    apex_error_t err = {""};
    proto_zio_options_t o = {PROTO_ZIO_ROUTER, endpoint,    NULL, 0, 0,
                             s_on_message,     &net.master, 0};
    CHECK(proto_zio_new(net.loop, &o, &err) == NULL);
    CHECK(strstr(err.msg, "cannot bind tcp://127.0.0.1:") != NULL);
    CHECK(strstr(err.msg, "in use") != NULL);
    proto_zio_destroy(&net.worker.zio);
    net.worker.zio = s_zio(&net, PROTO_ZIO_DEALER, "tcp://127.0.0.1:1", 0);
    CHECK_EQ(proto_zio_send(net.worker.zio, NULL, &net.buf), PROTO_ZIO_FULL);
    CHECK_EQ(proto_zio_counters(net.worker.zio)->full, 1);
    o = (proto_zio_options_t){PROTO_ZIO_DEALER, "nonsense",  S_NODE, 0, 0,
                              s_on_message,     &net.worker, 0};
    CHECK(proto_zio_new(net.loop, &o, &err) == NULL);
    CHECK(strstr(err.msg, "cannot connect to nonsense") != NULL);
    s_test_connect_later(&net, endpoint);
    s_net_fini(&net);
}

// ---------------------------------------------------------------------
// 4. The high-water mark

// Send to "slow" until a send is refused; returns how many were sent.
static uint64_t s_fill(s_net_t *net)
{
    proto_encode_empty(&net->buf, "heartbeat", "slow");
    uint64_t sent = 0;
    proto_zio_result_t r = PROTO_ZIO_SENT;
    while (sent < S_MAX_SENDS) {
        r = proto_zio_send(net->master.zio, "slow", &net->buf);
        if (r != PROTO_ZIO_SENT)
            break;
        sent++;
    }
    CHECK_EQ(r, PROTO_ZIO_FULL);
    return sent;
}

static void s_test_high_water_mark(void)
{
    s_net_t net;
    s_net_init(&net);
    net.master.zio = s_zio(&net, PROTO_ZIO_ROUTER, S_INPROC, S_HWM);
    CHECK_EQ(proto_zio_port(net.master.zio), 0);
    const proto_zio_counters_t *mc = proto_zio_counters(net.master.zio);
    zsock_t *slow = s_raw_dealer("slow", S_INPROC);
    proto_encode_client_ready(&net.buf, NULL, "slow");
    s_raw_send(slow, net.buf.data, net.buf.len, 0);
    s_run(&net, s_master_heard, 1); // now the master knows "slow"

    s_capture_begin(&net);
    uint64_t sent = s_fill(&net);
    CHECK_EQ(proto_zio_send(net.master.zio, "slow", &net.buf), PROTO_ZIO_FULL);
    char *log = s_capture_end(&net);
    CHECK(sent > 0 && sent < S_MAX_SENDS);
    CHECK_EQ(mc->sent, sent);
    CHECK_EQ(mc->full, 2);
    CHECK_EQ(s_count(log, "message to worker slow dropped: its queue is full "
                          "at the high-water mark"),
             1);
    free(log);

    // Every send reported as sent arrives; the refused ones do not.
    uint64_t got = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, zsock_resolve(slow), ZMQ_DONTWAIT) >= 0)
        got++;
    zmq_msg_close(&m);
    CHECK_EQ(got, sent);
    // Once read, the queue takes messages again.
    uint64_t end = apex_now_us() + S_DEADLINE_US;
    proto_zio_result_t r = PROTO_ZIO_FULL;
    while (r == PROTO_ZIO_FULL && apex_now_us() < end)
        r = proto_zio_send(net.master.zio, "slow", &net.buf);
    CHECK_EQ(r, PROTO_ZIO_SENT);
    zsock_destroy(&slow);
    s_net_fini(&net);
}

#define S_BATCH_US (50 * APEX_USEC_PER_MSEC)

static bool s_master_heartbeats(s_net_t *net)
{
    return net->master.heartbeats >= net->want;
}

#define S_PEERS 20                            // raw DEALERs, a pipe each
#define S_TRICKLE_US (5 * APEX_USEC_PER_MSEC) // one peer sends per tick

typedef struct {
    s_net_t *net;       // the ROUTER's loop
    zsock_t **peers;    // S_PEERS connected DEALERs
    int next;           // the peer that sends next
    apex_timer_t timer; // every S_TRICKLE_US
} s_trickle_t;

static void s_peer_send(s_net_t *net, zsock_t *peer, int i)
{
    char id[32];
    snprintf(id, sizeof id, "peer_%d", i);
    proto_encode_heartbeat(&net->buf, "running", 1.5, 1234, "0.1", id);
    s_raw_send(peer, net->buf.data, net->buf.len, 0);
}

static void s_on_trickle(apex_loop_t *loop, apex_timer_t *timer)
{
    s_trickle_t *t = timer->arg;
    s_peer_send(t->net, t->peers[t->next], t->next);
    if (++t->next < S_PEERS)
        apex_timer_start(loop, timer, S_TRICKLE_US);
}

static void s_test_batch(void)
{
    s_net_t net;
    s_net_init(&net);
    net.master.zio =
        s_zio_batch(&net, PROTO_ZIO_ROUTER, "tcp://127.0.0.1:*", 0, S_BATCH_US);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
             proto_zio_port(net.master.zio));
    zsock_t *peers[S_PEERS];
    for (int i = 0; i < S_PEERS; i++) {
        char id[32];
        snprintf(id, sizeof id, "peer_%d", i);
        peers[i] = s_raw_dealer(id, endpoint);
        s_peer_send(&net, peers[i], i);
    }
    s_run(&net, s_master_heartbeats, S_PEERS); // all connected
    // Then one message every 5 ms, from a pipe drained before: each is
    // one more ZeroMQ command, so one more signal on the watched fd while
    // a batch waits; unread, that signal would spin the loop.
    s_trickle_t t = {&net, peers, 0, {0}};
    apex_timer_init(&t.timer, s_on_trickle, &t);
    apex_timer_start(net.loop, &t.timer, 0);
    uint64_t before = net.iterations;
    s_run(&net, s_master_heartbeats, 2 * S_PEERS);
    uint64_t spins = net.iterations - before;
    CHECK_EQ(net.master.heartbeats, 2 * S_PEERS);
    if (spins >= 200)
        fprintf(stderr, "test_zio: %llu loop iterations for %d messages\n",
                (unsigned long long)spins, S_PEERS);
    CHECK(spins < 200); // a few per message and batch, not a spin
    apex_timer_stop(net.loop, &t.timer);
    for (int i = 0; i < S_PEERS; i++)
        zsock_destroy(&peers[i]);
    s_net_fini(&net);
}

void test_zio(bool verbose)
{
    (void)verbose;
    apex_log_init("apex.test", APEX_LOG_INFO);
    s_test_tcp();
    s_test_high_water_mark();
    s_test_batch();

    proto_zio_t *none = NULL;
    proto_zio_destroy(&none); // safe on NULL
    proto_zio_destroy(NULL);
    CHECK_STR(proto_zio_result_text(PROTO_ZIO_SENT), "sent");
    CHECK(strstr(proto_zio_result_text(PROTO_ZIO_FULL), "high-water"));
    CHECK(strstr(proto_zio_result_text(PROTO_ZIO_NO_PEER), "peer"));
    CHECK(strstr(proto_zio_result_text(PROTO_ZIO_TOO_BIG), "big"));
    CHECK(strstr(proto_zio_result_text(PROTO_ZIO_FAILED), "failed"));
    CHECK(strstr(proto_zio_result_text((proto_zio_result_t)99), "unknown"));
}
