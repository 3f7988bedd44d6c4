// target/ws.c - see ws.h. The service: its threads, their inboxes and
// loops, and MHD's side (the upgrade); a connection's life is in
// ws_conn.c, the routes in ws_routes.c, what they share in ws_int.h.
//
// Upgrade. The handshake is checked on the MHD thread that read the
// request (target/handshake.h); a good one is answered 101 with an upgrade
// response whose handler MHD calls, on the same thread, once the 101 is
// out. The handler copies the bytes MHD read past the request (extra_in,
// the start of the first frames), wraps the socket in a connection and
// posts it to one WebSocket thread, chosen round-robin. MHD keeps its
// connection suspended until MHD_upgrade_action(CLOSE), which also closes
// the socket: the WebSocket code never closes it itself.
//
// Threads. Each WebSocket thread runs one common/loop.h loop over its
// connections' non-blocking sockets. Its inbox is a list under a mutex
// plus an eventfd that the loop watches (master/web.c's pattern): new
// connections and chat messages from other threads arrive there. A
// thread owns its connections outright; nothing else touches them.
//
// Shutdown. target_ws_close() marks every inbox closed (later posts are
// refused, and the upgrade handler then closes the new socket with a raw
// 1001 close frame) and wakes the threads; each closes all its
// connections with 1001, stops its loop when the last one is gone, and
// joins. Memory per idle connection: this struct (about 200 bytes) and
// wslay's context (about 8.5 KiB: two 4 KiB buffers), plus MHD's
// connection and the kernel's socket buffers.
#include "target/ws.h"
#include "target/ws.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "target/api.h"
#include "target/framecheck.h"
#include "target/handshake.h"
#include "target/ws_int.h"

// A close frame with code 1001 and no reason: FIN + close, length 2, code.
#define APEX_TARGET_WS_GOING_AWAY_FRAME "\x88\x02\x03\xe9"

// Close a connection that no thread will adopt with 1001, best effort
// (the socket is fresh, so the 4 bytes fit), and give it back to MHD.
static void s_refuse(target_stats_t *stats, target_ws_conn_t *c)
{
    ssize_t sent = send(c->fd, APEX_TARGET_WS_GOING_AWAY_FRAME,
                        sizeof APEX_TARGET_WS_GOING_AWAY_FRAME - 1,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)sent;
    target_stats_ws_add(stats, TARGET_STATS_WS_CLOSED_BY_SERVER, 1);
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    target_ws_conn_free(c);
}

// Take what the inbox holds, in order. Returns whether it is closed.
static bool s_take_inbox(target_ws_thread_t *t)
{
    pthread_mutex_lock(&t->lock);
    target_ws_item_t *item = t->inbox;
    t->inbox = t->inbox_tail = NULL;
    bool closed = t->closed;
    pthread_mutex_unlock(&t->lock);
    while (item) {
        target_ws_item_t *next = item->next;
        if (item->conn && t->loop && !closed)
            target_ws_adopt(t, item->conn);
        else if (item->conn)
            s_refuse(t->stats, item->conn);
        if (item->broadcast) {
            target_ws_deliver(t, item->broadcast->opcode, item->broadcast->data,
                              item->broadcast->size);
            target_ws_unref(item->broadcast);
        }
        free(item);
        item = next;
    }
    return closed;
}

static void s_on_inbox(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    target_ws_thread_t *t = io->arg;
    uint64_t n = 0;
    ssize_t got = read(t->efd, &n, sizeof n); // resets the eventfd
    (void)got;
    if (s_take_inbox(t) && !t->stopping)
        target_ws_begin_stop(t);
}

// End of every iteration: send what deliveries queued, free the dead.
static void s_after_iteration(void *arg)
{
    target_ws_thread_t *t = arg;
    while (t->flush) {
        target_ws_conn_t *c = t->flush;
        t->flush = c->flush_next;
        c->in_flush = false;
        target_ws_send_now(c);
        target_ws_update(c);
    }
    while (t->dead) {
        target_ws_conn_t *c = t->dead;
        t->dead = c->next;
        target_ws_conn_free(c);
    }
}

// Post a new connection or a chat message to t. Returns false, having
// taken nothing, once t is closed.
bool target_ws_post(target_ws_thread_t *t, target_ws_conn_t *conn,
                    target_ws_broadcast_t *broadcast)
{
    target_ws_item_t *item = apex_calloc(1, sizeof *item);
    item->conn = conn;
    item->broadcast = broadcast;
    pthread_mutex_lock(&t->lock);
    bool closed = t->closed;
    if (!closed) {
        if (t->inbox_tail)
            t->inbox_tail->next = item;
        else
            t->inbox = item;
        t->inbox_tail = item;
    }
    pthread_mutex_unlock(&t->lock);
    if (closed) {
        free(item);
        return false;
    }
    uint64_t one = 1;
    ssize_t put = write(t->efd, &one, sizeof one);
    (void)put; // fails only when the counter is full: it is set anyway
    return true;
}

static void *s_run(void *arg)
{
    target_ws_thread_t *t = arg;
    apex_error_t err = {""};
    if (apex_loop_run(t->loop, &err) != 0)
        apex_err("ws: %s", err.msg);
    // The loop ends when stopping has closed everything, or failed.
    while (t->conns)
        target_ws_conn_end(t->conns);
    s_after_iteration(t);
    pthread_mutex_lock(&t->lock);
    t->closed = true;
    pthread_mutex_unlock(&t->lock);
    s_take_inbox(t);
    return NULL;
}

// ---------------------------------------------------------------------
// MHD's side

// Parse ?rate= (NULL: the default). Returns 0, or -1 when it is not a
// decimal integer 1..APEX_TARGET_WS_RATE_MAX.
static int s_parse_rate(const char *text, unsigned *rate)
{
    *rate = APEX_TARGET_WS_RATE_DEFAULT;
    if (!text)
        return 0;
    unsigned v = 0;
    if (text[0] == '\0')
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > APEX_TARGET_WS_RATE_MAX)
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v == 0 || v > APEX_TARGET_WS_RATE_MAX)
        return -1;
    *rate = v;
    return 0;
}

// MHD's upgrade handler, on the MHD thread, once the 101 is out.
static void s_upgraded(void *cls, struct MHD_Connection *connection,
                       void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    (void)req_cls;
    target_ws_upgrade_t *up = cls;
    target_ws_t *self = up->ws;
    target_ws_conn_t *c = apex_calloc(1, sizeof *c);
    c->fd = sock;
    c->urh = urh;
    c->route = up->route;
    target_framecheck_init(&c->check);
    if (c->route == TARGET_WS_EVENTS) {
        unsigned rate = APEX_TARGET_WS_RATE_DEFAULT;
        // Checked before the 101; MHD keeps the request until the close.
        s_parse_rate(MHD_lookup_connection_value(connection,
                                                 MHD_GET_ARGUMENT_KIND, "rate"),
                     &rate);
        c->interval_us = APEX_USEC_PER_SEC / rate;
    }
    if (extra_in_size > 0) {
        c->pending = apex_calloc(extra_in_size, 1);
        memcpy(c->pending, extra_in, extra_in_size);
        c->pending_size = extra_in_size;
    }
    target_stats_ws_add(self->stats, TARGET_STATS_WS_OPENED, 1);
    size_t i = atomic_fetch_add(&self->next, 1) % self->nthreads;
    if (!target_ws_post(&self->threads[i], c, NULL))
        s_refuse(self->stats, c);
}

static unsigned s_reject(target_ws_t *self, struct MHD_Connection *conn,
                         unsigned status, const char *message)
{
    target_stats_ws_add(self->stats, TARGET_STATS_WS_REJECTED, 1);
    if (status == MHD_HTTP_UPGRADE_REQUIRED)
        return target_api_respond_upgrade_required(conn, message);
    return target_api_respond_error(conn, status, message);
}

unsigned target_ws_respond(target_ws_t *self, struct MHD_Connection *conn,
                           target_ws_route_t route, const char *version)
{
    assert(self);
    assert(conn);
    assert(route < TARGET_WS_ROUTE_COUNT);
    unsigned rate = 0;
    if (route == TARGET_WS_EVENTS &&
        s_parse_rate(
            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "rate"),
            &rate) != 0)
        return s_reject(self, conn, MHD_HTTP_BAD_REQUEST,
                        "rate: expected an integer 1..1000");
    _Static_assert(APEX_TARGET_WS_RATE_MAX == 1000, "update the message");
    if (!version || strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
        return s_reject(self, conn, MHD_HTTP_BAD_REQUEST,
                        "upgrade: expected HTTP/1.1");
    target_handshake_t hs = {
        .upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_UPGRADE),
        .connection = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONNECTION),
        .version = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_SEC_WEBSOCKET_VERSION),
        .key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                           MHD_HTTP_HEADER_SEC_WEBSOCKET_KEY),
    };
    const char *message = NULL;
    unsigned status = target_handshake_check(&hs, &message);
    if (status != 0)
        return s_reject(self, conn, status, message);
    char accept[APEX_TARGET_WS_ACCEPT_SIZE];
    target_handshake_accept(hs.key, accept);
    struct MHD_Response *resp =
        MHD_create_response_for_upgrade(s_upgraded, &self->upgrades[route]);
    if (!resp)
        return 0;
    unsigned queued = 0;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket") ==
            MHD_YES &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SEC_WEBSOCKET_ACCEPT,
                                accept) == MHD_YES &&
        MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp) == MHD_YES)
        queued = MHD_HTTP_SWITCHING_PROTOCOLS;
    MHD_destroy_response(resp);
    return queued;
}

// ---------------------------------------------------------------------
// Life of the service

// Give thread t its loop and eventfd and start it. Returns 0, or -1
// with err set.
static int s_thread_start(target_ws_thread_t *t, apex_error_t *err)
{
    t->loop = apex_loop_new(err);
    if (!t->loop)
        return -1;
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->efd < 0)
        return apex_error_set(err, "ws: eventfd: %s", strerror(errno));
    apex_io_init(&t->efd_io, s_on_inbox, t);
    if (apex_io_start(t->loop, &t->efd_io, t->efd, EPOLLIN, err) != 0)
        return -1;
    apex_loop_on_iteration(t->loop, s_after_iteration, t);
    int rc = pthread_create(&t->thread, NULL, s_run, t);
    if (rc != 0)
        return apex_error_set(err, "ws: cannot start thread: %s", strerror(rc));
    t->started = true;
    return 0;
}

target_ws_t *target_ws_new(unsigned nthreads, target_stats_t *stats,
                           apex_error_t *err)
{
    assert(stats);
    assert(nthreads >= 1 && nthreads <= APEX_TARGET_WS_MAX_THREADS);
    target_ws_t *self = apex_calloc(1, sizeof *self);
    self->stats = stats;
    self->nthreads = nthreads;
    atomic_init(&self->next, 0);
    for (size_t r = 0; r < TARGET_WS_ROUTE_COUNT; r++)
        self->upgrades[r] = (target_ws_upgrade_t){self, (target_ws_route_t)r};
    self->threads = apex_calloc(nthreads, sizeof *self->threads);
    for (size_t i = 0; i < nthreads; i++) { // all safe to destroy first
        target_ws_thread_t *t = &self->threads[i];
        t->owner = self;
        t->stats = stats;
        t->efd = -1;
        pthread_mutex_init(&t->lock, NULL);
    }
    for (size_t i = 0; i < nthreads; i++) {
        if (s_thread_start(&self->threads[i], err) != 0) {
            target_ws_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void target_ws_close(target_ws_t *self)
{
    assert(self);
    if (self->closed)
        return;
    self->closed = true;
    for (size_t i = 0; i < self->nthreads; i++) {
        target_ws_thread_t *t = &self->threads[i];
        pthread_mutex_lock(&t->lock);
        t->closed = true;
        pthread_mutex_unlock(&t->lock);
        if (t->efd >= 0) {
            uint64_t one = 1;
            ssize_t put = write(t->efd, &one, sizeof one);
            (void)put;
        }
    }
    for (size_t i = 0; i < self->nthreads; i++) {
        target_ws_thread_t *t = &self->threads[i];
        if (t->started)
            pthread_join(t->thread, NULL);
        t->started = false;
    }
}

void target_ws_destroy(target_ws_t **self_p)
{
    assert(self_p);
    target_ws_t *self = *self_p;
    if (!self)
        return;
    target_ws_close(self);
    for (size_t i = 0; i < self->nthreads; i++) {
        target_ws_thread_t *t = &self->threads[i];
        s_take_inbox(t); // a thread that never started left its inbox
        if (t->loop)
            apex_io_stop(t->loop, &t->efd_io);
        if (t->efd >= 0)
            close(t->efd);
        apex_loop_destroy(&t->loop);
        pthread_mutex_destroy(&t->lock);
    }
    free(self->threads);
    free(self);
    *self_p = NULL;
}
