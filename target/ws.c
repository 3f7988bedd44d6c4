// target/ws.c - see ws.h.
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
// Framing is libwslay's event API over the socket: wslay calls s_recv and
// s_send, which return WSLAY_ERR_WOULDBLOCK when the socket would block,
// and s_on_message for every whole message. wslay answers pings, completes
// the close handshake and closes 1002 (unmasked frame, bad opcode, bad
// reserved bits), 1007 (bad UTF-8) and 1009 (over APEX_TARGET_WS_MAX_MESSAGE)
// itself. The few frame headers it refuses without a close code go
// through target/framecheck.h first, which holds them back, so they are
// closed 1002 here. A connection failed so is failed at once: its close
// goes out ahead of any answer still queued (wslay sends control frames
// first), as RFC 6455 section 7.1.7 allows. After each read the epoll interest
// follows wslay: EPOLLIN while it wants to read (and the connection's send
// backlog is under APEX_TARGET_WS_BACKLOG_MAX, so a client that sends without
// reading is slowed, not buffered without end), EPOLLOUT while it has
// something to send; a connection that wants neither is over.
//
// Routes. Echo queues each message back. Events pushes a JSON event every
// 1/rate s from the connection's loop timer, the first at once; a timer
// that fires late sends the events it owes, at most
// APEX_TARGET_WS_EVENTS_BURST at a time. Chat delivers a message to the
// members on its own thread and posts one reference-counted copy to each
// other thread, which delivers it to its members; so every member, the
// sender too, gets every message, each sender's in order. Deliveries only
// queue; the connections they touched are flushed at the end of the loop
// iteration. A member whose backlog is over the limit misses the message
// (counted as dropped), as does an events client.
//
// Ends. Who began the close decides the counter: the client (its close
// frame came first), the server (a protocol error, shutdown) or nobody
// (the TCP connection ended or failed without a close handshake). After a
// close begins the connection has APEX_TARGET_WS_CLOSE_WAIT_US to finish
// it. An ended connection leaves its lists and the epoll set at once, but
// is freed at the end of the iteration, as events for it may still be in
// the loop's batch.
//
// Shutdown. target_ws_close() marks every inbox closed (later posts are
// refused, and the upgrade handler then closes the new socket with a raw
// 1001 close frame) and wakes the threads; each closes all its
// connections with 1001, stops its loop when the last one is gone, and
// joins. Memory per idle connection: this struct (about 200 bytes) and
// wslay's context (about 8.5 KiB: two 4 KiB buffers), plus MHD's
// connection and the kernel's socket buffers.
#include "target/ws.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "target/api.h"
#include "target/framecheck.h"
#include "target/handshake.h"

#define APEX_TARGET_WS_BACKLOG_MAX (4u * 1024 * 1024) // queued bytes
#define APEX_TARGET_WS_CLOSE_WAIT_US (2 * APEX_USEC_PER_SEC)
#define APEX_TARGET_WS_EVENTS_BURST 100 // events sent by one late timer
#define APEX_TARGET_WS_EVENT_MAX 96     // bytes of one event's JSON
#define APEX_TARGET_NSEC_PER_USEC 1000
#define APEX_TARGET_USEC_PER_MSEC 1000
#define APEX_TARGET_MSEC_PER_SEC 1000
// A close frame with code 1001 and no reason: FIN + close, length 2, code.
#define APEX_TARGET_WS_GOING_AWAY_FRAME "\x88\x02\x03\xe9"

static const char s_going_away[] = "server shutting down";
static const char s_bad_header[] = "malformed frame header";

// Who began the close, or nobody yet; the first to do so wins.
typedef enum {
    S_END_NONE,    // open
    S_END_CLIENT,  // the client's close frame came first
    S_END_SERVER,  // the server closed (an error, shutdown)
    S_END_ABORTED, // no close handshake: EOF, reset or a failed write
} s_end_t;

typedef struct s_thread s_thread_t;

typedef struct s_conn {
    s_thread_t *thread;                    // owner, once adopted
    wslay_event_context_ptr ctx;           // wslay's state, once adopted
    struct MHD_UpgradeResponseHandle *urh; // gives the socket back to MHD
    int fd;                                // the upgraded socket
    target_ws_route_t route;               // what the connection is for
    apex_io_t io;                          // the loop's watch on fd
    apex_timer_t timer;                    // next event, or close deadline
    uint64_t interval_us;                  // between events (/ws/events)
    uint64_t next_us;                      // when the next event is due
    uint64_t seq;                          // events sent so far
    uint8_t *pending;          // extra_in bytes not yet given to wslay
    size_t pending_size;       // bytes in pending
    size_t pending_off;        // bytes of pending already given
    target_framecheck_t check; // watch on the headers wslay refuses
    s_end_t end;               // who began the close
    bool io_failed;            // EOF or a socket error
    bool closing;              // the close deadline is armed
    bool ended;                // given back to MHD; on thread->dead
    bool in_flush;             // on thread->flush
    struct s_conn *prev;       // in thread->conns
    struct s_conn *next;       // in thread->conns, or the dead list
    struct s_conn *chat_prev;  // in thread->chat (chat members only)
    struct s_conn *chat_next;  // in thread->chat
    struct s_conn *flush_next; // in thread->flush
} s_conn_t;

// A chat message on its way to other threads; immutable once posted.
typedef struct {
    atomic_size_t refs; // threads that still have to deliver it
    uint8_t opcode;     // WSLAY_TEXT_FRAME or WSLAY_BINARY_FRAME
    size_t size;        // bytes in data
    uint8_t data[];     // the payload
} s_broadcast_t;

typedef struct s_item {
    struct s_item *next;      // in the inbox
    s_conn_t *conn;           // a new connection, or NULL
    s_broadcast_t *broadcast; // a chat message, or NULL
} s_item_t;

struct s_thread {
    target_ws_t *owner;   // the service
    apex_loop_t *loop;    // this thread's loop
    pthread_t thread;     // the thread
    bool started;         // the thread runs and must be joined
    int efd;              // eventfd written when the inbox has news
    apex_io_t efd_io;     // the loop's watch on efd
    pthread_mutex_t lock; // guards inbox, inbox_tail and closed
    s_item_t *inbox;      // posted items, oldest first
    s_item_t *inbox_tail; // the newest item
    bool closed;          // target_ws_close() was called: refuse posts
    // Below: the thread's own.
    s_conn_t *conns;       // every open connection
    s_conn_t *chat;        // the open chat members
    s_conn_t *flush;       // connections with new output to send
    s_conn_t *dead;        // ended, freed at the end of the iteration
    size_t count;          // connections in conns
    bool stopping;         // closing everything; the loop ends at count 0
    target_stats_t *stats; // counters (the owner's)
};

// MHD's upgrade handler closure: the service and the route.
typedef struct {
    target_ws_t *ws;         // the service
    target_ws_route_t route; // the route upgraded to
} s_upgrade_t;

struct target_ws {
    target_stats_t *stats;                       // counters, borrowed
    s_thread_t *threads;                         // nthreads of them
    size_t nthreads;                             // 1..MAX_THREADS
    atomic_size_t next;                          // round-robin position
    s_upgrade_t upgrades[TARGET_WS_ROUTE_COUNT]; // handler closures
    bool closed;                                 // target_ws_close() ran
};

static void s_add(s_thread_t *t, target_stats_ws_t counter, uint64_t n)
{
    target_stats_ws_add(t->stats, counter, n);
}

// ---------------------------------------------------------------------
// Connection life

static void s_flush_later(s_conn_t *c)
{
    if (c->in_flush || c->ended)
        return;
    c->in_flush = true;
    c->flush_next = c->thread->flush;
    c->thread->flush = c;
}

static void s_unlink(s_conn_t *c)
{
    s_thread_t *t = c->thread;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->route != TARGET_WS_CHAT)
        return;
    if (c->chat_prev)
        c->chat_prev->chat_next = c->chat_next;
    else
        t->chat = c->chat_next;
    if (c->chat_next)
        c->chat_next->chat_prev = c->chat_prev;
}

// Count the end, leave the loop and the lists, give the socket back to
// MHD. The memory goes at the end of the iteration.
static void s_conn_end(s_conn_t *c)
{
    if (c->ended)
        return;
    s_thread_t *t = c->thread;
    static const target_stats_ws_t counters[] = {
        [S_END_NONE] = TARGET_STATS_WS_ABORTED,
        [S_END_CLIENT] = TARGET_STATS_WS_CLOSED_BY_CLIENT,
        [S_END_SERVER] = TARGET_STATS_WS_CLOSED_BY_SERVER,
        [S_END_ABORTED] = TARGET_STATS_WS_ABORTED,
    };
    s_add(t, counters[c->end], 1);
    c->ended = true;
    apex_io_stop(t->loop, &c->io);
    apex_timer_stop(t->loop, &c->timer);
    s_unlink(c);
    c->next = t->dead;
    t->dead = c;
    t->count--;
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    if (t->stopping && t->count == 0)
        apex_loop_stop(t->loop);
}

static void s_conn_free(s_conn_t *c)
{
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    free(c->pending);
    free(c);
}

// A close has begun (end says by whom): give it a deadline.
static void s_closing(s_conn_t *c, s_end_t end)
{
    if (c->end == S_END_NONE)
        c->end = end;
    if (c->closing)
        return;
    c->closing = true;
    apex_timer_start(c->thread->loop, &c->timer, APEX_TARGET_WS_CLOSE_WAIT_US);
}

// Begin a close from the server with code and reason (static text).
// protocol_error: stop reading too, and count it.
static void s_close(s_conn_t *c, uint16_t code, const char *reason,
                    bool protocol_error)
{
    if (c->end != S_END_NONE)
        return;
    wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason,
                            strlen(reason));
    if (protocol_error) {
        wslay_event_shutdown_read(c->ctx);
        s_add(c->thread, TARGET_STATS_WS_PROTOCOL_ERRORS, 1);
    }
    s_closing(c, S_END_SERVER);
    s_flush_later(c);
}

// After wslay read: note a close it began or finished on its own.
static void s_classify(s_conn_t *c)
{
    if (c->end != S_END_NONE || wslay_event_get_read_enabled(c->ctx))
        return;
    if (c->io_failed) {
        c->end = S_END_ABORTED;
    } else if (wslay_event_get_close_received(c->ctx)) {
        s_closing(c, S_END_CLIENT);
    } else {
        // wslay queued 1002, 1007 or 1009 for a bad frame or message.
        s_add(c->thread, TARGET_STATS_WS_PROTOCOL_ERRORS, 1);
        s_closing(c, S_END_SERVER);
    }
}

// Has c more queued for it than APEX_TARGET_WS_BACKLOG_MAX?
static bool s_behind(s_conn_t *c)
{
    return wslay_event_get_queued_msg_length(c->ctx) >
           APEX_TARGET_WS_BACKLOG_MAX;
}

// Set the epoll interest from what wslay wants; end the connection when
// it wants nothing more.
static void s_update(s_conn_t *c)
{
    if (c->ended)
        return;
    bool want_read = wslay_event_want_read(c->ctx);
    bool want_write = wslay_event_want_write(c->ctx);
    if (c->io_failed || (!want_read && !want_write)) {
        s_classify(c);
        s_conn_end(c);
        return;
    }
    uint32_t events = 0;
    if (want_read && (!want_write || !s_behind(c)))
        events |= EPOLLIN;
    if (want_write)
        events |= EPOLLOUT;
    if (events == c->io.events && c->io.fd >= 0)
        return;
    apex_error_t err = {""};
    if (apex_io_start(c->thread->loop, &c->io, c->fd, events, &err) != 0) {
        apex_debug("ws: %s", err.msg);
        c->io_failed = true;
        s_conn_end(c);
    }
}

static void s_send_now(s_conn_t *c)
{
    if (c->ended || !wslay_event_want_write(c->ctx))
        return;
    if (wslay_event_send(c->ctx) != 0)
        c->io_failed = true;
}

static void s_read_now(s_conn_t *c)
{
    if (c->ended)
        return;
    if (wslay_event_recv(c->ctx) != 0)
        c->io_failed = true;
    s_classify(c);
    if (c->check.bad)
        s_close(c, WSLAY_CODE_PROTOCOL_ERROR, s_bad_header, true);
}

// ---------------------------------------------------------------------
// Messages

// Queue a data message on c; count it as sent. False if c is closing or
// too far behind (then counted as dropped if it is still open).
static bool s_queue(s_conn_t *c, uint8_t opcode, const uint8_t *data,
                    size_t size)
{
    if (c->ended || c->end != S_END_NONE)
        return false;
    if (s_behind(c)) {
        s_add(c->thread, TARGET_STATS_WS_DROPPED, 1);
        return false;
    }
    struct wslay_event_msg msg = {opcode, data, size};
    if (wslay_event_queue_msg(c->ctx, &msg) != 0)
        return false;
    s_add(c->thread, TARGET_STATS_WS_SENT_ECHO + c->route, 1);
    s_add(c->thread, TARGET_STATS_WS_BYTES_SENT, size);
    return true;
}

// Give a chat message to every member on thread t.
static void s_deliver(s_thread_t *t, uint8_t opcode, const uint8_t *data,
                      size_t size)
{
    for (s_conn_t *m = t->chat; m; m = m->chat_next) {
        if (s_queue(m, opcode, data, size))
            s_flush_later(m);
    }
}

static void s_unref(s_broadcast_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

static bool s_post(s_thread_t *t, s_conn_t *conn, s_broadcast_t *broadcast);

// A chat message from a member on t: to t's members, and to the others.
static void s_chat(s_thread_t *t, uint8_t opcode, const uint8_t *data,
                   size_t size)
{
    s_deliver(t, opcode, data, size);
    target_ws_t *ws = t->owner;
    if (ws->nthreads == 1)
        return;
    s_broadcast_t *b = apex_calloc(1, sizeof *b + size);
    atomic_init(&b->refs, ws->nthreads - 1);
    b->opcode = opcode;
    b->size = size;
    memcpy(b->data, data, size);
    for (size_t i = 0; i < ws->nthreads; i++) {
        s_thread_t *other = &ws->threads[i];
        if (other != t && !s_post(other, NULL, b))
            s_unref(b);
    }
}

static void s_on_message(wslay_event_context_ptr ctx,
                         const struct wslay_event_on_msg_recv_arg *arg,
                         void *user_data)
{
    (void)ctx;
    s_conn_t *c = user_data;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        s_closing(c, S_END_CLIENT);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; // pings are answered by wslay, pongs need nothing
    s_add(c->thread, TARGET_STATS_WS_RECEIVED_ECHO + c->route, 1);
    s_add(c->thread, TARGET_STATS_WS_BYTES_RECEIVED, arg->msg_length);
    if (c->route == TARGET_WS_ECHO)
        s_queue(c, arg->opcode, arg->msg, arg->msg_length);
    else if (c->route == TARGET_WS_CHAT)
        s_chat(c->thread, arg->opcode, arg->msg, arg->msg_length);
}

// Queue the next event of /ws/events, with the wall clock in ms.
static void s_push_event(s_conn_t *c)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t us = (uint64_t)now.tv_nsec / APEX_TARGET_NSEC_PER_USEC;
    uint64_t ms = (uint64_t)now.tv_sec * APEX_TARGET_MSEC_PER_SEC +
                  us / APEX_TARGET_USEC_PER_MSEC;
    char text[APEX_TARGET_WS_EVENT_MAX];
    int n = snprintf(
        text, sizeof text,
        "{\"type\":\"event\",\"seq\":%" PRIu64 ",\"ts\":%" PRIu64 ".%03u}",
        c->seq + 1, ms, (unsigned)(us % APEX_TARGET_USEC_PER_MSEC));
    assert(n > 0 && (size_t)n < sizeof text);
    if (s_queue(c, WSLAY_TEXT_FRAME, (const uint8_t *)text, (size_t)n))
        c->seq++;
}

// The connection's timer: the close deadline, or events that are due.
static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    s_conn_t *c = timer->arg;
    if (c->closing) {
        s_conn_end(c); // the client did not finish the close in time
        return;
    }
    uint64_t now = apex_loop_now(loop);
    for (int i = 0; i < APEX_TARGET_WS_EVENTS_BURST && c->next_us <= now; i++) {
        s_push_event(c);
        c->next_us += c->interval_us;
    }
    if (c->next_us <= now) // far behind: skip, do not flood
        c->next_us = now + c->interval_us;
    s_send_now(c);
    s_update(c);
    if (!c->ended && !c->closing)
        apex_timer_start_at(loop, timer, c->next_us);
}

// ---------------------------------------------------------------------
// wslay's I/O callbacks

static ssize_t s_would_block(wslay_event_context_ptr ctx)
{
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
}

static ssize_t s_failed(wslay_event_context_ptr ctx, s_conn_t *c)
{
    c->io_failed = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t s_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      int flags, void *user_data)
{
    (void)flags;
    s_conn_t *c = user_data;
    if (c->check.bad)
        return s_would_block(ctx); // nothing more goes to wslay
    size_t n = 0;
    if (c->pending) {
        n = c->pending_size - c->pending_off;
        if (n > len)
            n = len;
        memcpy(buf, c->pending + c->pending_off, n);
        c->pending_off += n;
        if (c->pending_off == c->pending_size) {
            free(c->pending);
            c->pending = NULL;
        }
    } else {
        ssize_t got = recv(c->fd, buf, len, 0);
        if (got < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return s_would_block(ctx);
        if (got <= 0)
            return s_failed(ctx, c); // EOF or an error
        n = (size_t)got;
    }
    size_t good = target_framecheck_feed(&c->check, buf, n);
    if (good == 0)
        return s_would_block(ctx);
    return (ssize_t)good;
}

static ssize_t s_send(wslay_event_context_ptr ctx, const uint8_t *data,
                      size_t len, int flags, void *user_data)
{
    s_conn_t *c = user_data;
    int more = (flags & WSLAY_MSG_MORE) ? MSG_MORE : 0;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | more);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return s_would_block(ctx);
    if (n < 0)
        return s_failed(ctx, c);
    return n;
}

static const struct wslay_event_callbacks s_callbacks = {
    .recv_callback = s_recv,
    .send_callback = s_send,
    .on_msg_recv_callback = s_on_message,
};

// ---------------------------------------------------------------------
// The loop's callbacks

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    s_conn_t *c = io->arg;
    if (events & EPOLLERR)
        c->io_failed = true;
    else if (events & (EPOLLIN | EPOLLHUP))
        s_read_now(c);
    s_send_now(c); // on EPOLLOUT, and what the read queued: echoes, pongs
    s_update(c);
}

// Take a connection from MHD: start watching it, read what MHD read.
static void s_adopt(s_thread_t *t, s_conn_t *c)
{
    c->thread = t;
    if (wslay_event_context_server_init(&c->ctx, &s_callbacks, c) != 0)
        abort(); // wslay only fails for lack of memory
    wslay_event_config_set_max_recv_msg_length(c->ctx,
                                               APEX_TARGET_WS_MAX_MESSAGE);
    int flags = fcntl(c->fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
        fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
    int one = 1; // MHD turned Nagle back on for the upgrade
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    apex_io_init(&c->io, s_on_io, c);
    apex_timer_init(&c->timer, s_on_timer, c);
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    if (c->route == TARGET_WS_CHAT) {
        c->chat_next = t->chat;
        if (t->chat)
            t->chat->chat_prev = c;
        t->chat = c;
    }
    t->count++;
    if (c->route == TARGET_WS_EVENTS) {
        c->next_us = apex_loop_now(t->loop);
        apex_timer_start_at(t->loop, &c->timer, c->next_us);
    }
    if (t->stopping)
        s_close(c, WSLAY_CODE_GOING_AWAY, s_going_away, false);
    s_read_now(c); // the bytes MHD read past the request, if any
    s_send_now(c);
    s_update(c);
}

static void s_begin_stop(s_thread_t *t)
{
    t->stopping = true;
    for (s_conn_t *c = t->conns; c; c = c->next)
        s_close(c, WSLAY_CODE_GOING_AWAY, s_going_away, false);
    if (t->count == 0)
        apex_loop_stop(t->loop);
}

// Close a connection that no thread will adopt with 1001, best effort
// (the socket is fresh, so the 4 bytes fit), and give it back to MHD.
static void s_refuse(target_stats_t *stats, s_conn_t *c)
{
    ssize_t sent = send(c->fd, APEX_TARGET_WS_GOING_AWAY_FRAME,
                        sizeof APEX_TARGET_WS_GOING_AWAY_FRAME - 1,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)sent;
    target_stats_ws_add(stats, TARGET_STATS_WS_CLOSED_BY_SERVER, 1);
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    s_conn_free(c);
}

// Take what the inbox holds, in order. Returns whether it is closed.
static bool s_take_inbox(s_thread_t *t)
{
    pthread_mutex_lock(&t->lock);
    s_item_t *item = t->inbox;
    t->inbox = t->inbox_tail = NULL;
    bool closed = t->closed;
    pthread_mutex_unlock(&t->lock);
    while (item) {
        s_item_t *next = item->next;
        if (item->conn && t->loop && !closed)
            s_adopt(t, item->conn);
        else if (item->conn)
            s_refuse(t->stats, item->conn);
        if (item->broadcast) {
            s_deliver(t, item->broadcast->opcode, item->broadcast->data,
                      item->broadcast->size);
            s_unref(item->broadcast);
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
    s_thread_t *t = io->arg;
    uint64_t n = 0;
    ssize_t got = read(t->efd, &n, sizeof n); // resets the eventfd
    (void)got;
    if (s_take_inbox(t) && !t->stopping)
        s_begin_stop(t);
}

// End of every iteration: send what deliveries queued, free the dead.
static void s_after_iteration(void *arg)
{
    s_thread_t *t = arg;
    while (t->flush) {
        s_conn_t *c = t->flush;
        t->flush = c->flush_next;
        c->in_flush = false;
        s_send_now(c);
        s_update(c);
    }
    while (t->dead) {
        s_conn_t *c = t->dead;
        t->dead = c->next;
        s_conn_free(c);
    }
}

// Post a new connection or a chat message to t. Returns false, having
// taken nothing, once t is closed.
static bool s_post(s_thread_t *t, s_conn_t *conn, s_broadcast_t *broadcast)
{
    s_item_t *item = apex_calloc(1, sizeof *item);
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
    s_thread_t *t = arg;
    apex_error_t err = {""};
    if (apex_loop_run(t->loop, &err) != 0)
        apex_err("ws: %s", err.msg);
    // The loop ends when stopping has closed everything, or failed.
    while (t->conns)
        s_conn_end(t->conns);
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
    s_upgrade_t *up = cls;
    target_ws_t *self = up->ws;
    s_conn_t *c = apex_calloc(1, sizeof *c);
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
    if (!s_post(&self->threads[i], c, NULL))
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
static int s_thread_start(s_thread_t *t, apex_error_t *err)
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
        self->upgrades[r] = (s_upgrade_t){self, (target_ws_route_t)r};
    self->threads = apex_calloc(nthreads, sizeof *self->threads);
    for (size_t i = 0; i < nthreads; i++) { // all safe to destroy first
        s_thread_t *t = &self->threads[i];
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
        s_thread_t *t = &self->threads[i];
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
        s_thread_t *t = &self->threads[i];
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
        s_thread_t *t = &self->threads[i];
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
