// target/ws_conn.c - one connection of apex-target's WebSocket routes on
// its thread: adoption, wslay's framing callbacks over the socket, the
// epoll interest, closes and ends (see ws.h, ws_int.h).
//
// Framing is libwslay's event API over the socket: wslay calls s_recv and
// s_send, which return WSLAY_ERR_WOULDBLOCK when the socket would block,
// and target_ws_on_message for every whole message. wslay answers pings,
// completes the close handshake and closes 1002 (unmasked frame, bad opcode,
// bad reserved bits), 1007 (bad UTF-8) and 1009 (over
// APEX_TARGET_WS_MAX_MESSAGE) itself. The few frame headers it refuses without
// a close code go through target/framecheck.h first, which holds them back, so
// they are closed 1002 here. A connection failed so is failed at once: its
// close goes out ahead of any answer still queued (wslay sends control frames
// first), as RFC 6455 section 7.1.7 allows. After each read the epoll interest
// follows wslay: EPOLLIN while it wants to read (and the connection's send
// backlog is under APEX_TARGET_WS_BACKLOG_MAX, so a client that sends without
// reading is slowed, not buffered without end), EPOLLOUT while it has
// something to send; a connection that wants neither is over.
//
// Ends. Who began the close decides the counter: the client (its close
// frame came first), the server (a protocol error, shutdown) or nobody
// (the TCP connection ended or failed without a close handshake). After a
// close begins the connection has APEX_TARGET_WS_CLOSE_WAIT_US to finish
// it. An ended connection leaves its lists and the epoll set at once, but
// is freed at the end of the iteration, as events for it may still be in
// the loop's batch.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/loop.h"
#include "target/framecheck.h"
#include "target/ws_int.h"

#define APEX_TARGET_WS_BACKLOG_MAX (4u * 1024 * 1024) // queued bytes
#define APEX_TARGET_WS_CLOSE_WAIT_US (2 * APEX_USEC_PER_SEC)

static const char s_going_away[] = "server shutting down";
static const char s_bad_header[] = "malformed frame header";

// ---------------------------------------------------------------------
// Connection life

void target_ws_flush_later(target_ws_conn_t *c)
{
    if (c->in_flush || c->ended)
        return;
    c->in_flush = true;
    c->flush_next = c->thread->flush;
    c->thread->flush = c;
}

static void s_unlink(target_ws_conn_t *c)
{
    target_ws_thread_t *t = c->thread;
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
void target_ws_conn_end(target_ws_conn_t *c)
{
    if (c->ended)
        return;
    target_ws_thread_t *t = c->thread;
    static const target_stats_ws_t counters[] = {
        [TARGET_WS_END_NONE] = TARGET_STATS_WS_ABORTED,
        [TARGET_WS_END_CLIENT] = TARGET_STATS_WS_CLOSED_BY_CLIENT,
        [TARGET_WS_END_SERVER] = TARGET_STATS_WS_CLOSED_BY_SERVER,
        [TARGET_WS_END_ABORTED] = TARGET_STATS_WS_ABORTED,
    };
    target_ws_add(t, counters[c->end], 1);
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

void target_ws_conn_free(target_ws_conn_t *c)
{
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    free(c->pending);
    free(c);
}

// A close has begun (end says by whom): give it a deadline.
void target_ws_closing(target_ws_conn_t *c, target_ws_end_t end)
{
    if (c->end == TARGET_WS_END_NONE)
        c->end = end;
    if (c->closing)
        return;
    c->closing = true;
    apex_timer_start(c->thread->loop, &c->timer, APEX_TARGET_WS_CLOSE_WAIT_US);
}

// Begin a close from the server with code and reason (static text).
// protocol_error: stop reading too, and count it.
void target_ws_conn_close(target_ws_conn_t *c, uint16_t code,
                          const char *reason, bool protocol_error)
{
    if (c->end != TARGET_WS_END_NONE)
        return;
    wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason,
                            strlen(reason));
    if (protocol_error) {
        wslay_event_shutdown_read(c->ctx);
        target_ws_add(c->thread, TARGET_STATS_WS_PROTOCOL_ERRORS, 1);
    }
    target_ws_closing(c, TARGET_WS_END_SERVER);
    target_ws_flush_later(c);
}

// After wslay read: note a close it began or finished on its own.
static void s_classify(target_ws_conn_t *c)
{
    if (c->end != TARGET_WS_END_NONE || wslay_event_get_read_enabled(c->ctx))
        return;
    if (c->io_failed) {
        c->end = TARGET_WS_END_ABORTED;
    } else if (wslay_event_get_close_received(c->ctx)) {
        target_ws_closing(c, TARGET_WS_END_CLIENT);
    } else {
        // wslay queued 1002, 1007 or 1009 for a bad frame or message.
        target_ws_add(c->thread, TARGET_STATS_WS_PROTOCOL_ERRORS, 1);
        target_ws_closing(c, TARGET_WS_END_SERVER);
    }
}

// Has c more queued for it than APEX_TARGET_WS_BACKLOG_MAX?
bool target_ws_behind(target_ws_conn_t *c)
{
    return wslay_event_get_queued_msg_length(c->ctx) >
           APEX_TARGET_WS_BACKLOG_MAX;
}

// Set the epoll interest from what wslay wants; end the connection when
// it wants nothing more.
void target_ws_update(target_ws_conn_t *c)
{
    if (c->ended)
        return;
    bool want_read = wslay_event_want_read(c->ctx);
    bool want_write = wslay_event_want_write(c->ctx);
    if (c->io_failed || (!want_read && !want_write)) {
        s_classify(c);
        target_ws_conn_end(c);
        return;
    }
    uint32_t events = 0;
    if (want_read && (!want_write || !target_ws_behind(c)))
        events |= EPOLLIN;
    if (want_write)
        events |= EPOLLOUT;
    if (events == c->io.events && c->io.fd >= 0)
        return;
    apex_error_t err = {""};
    if (apex_io_start(c->thread->loop, &c->io, c->fd, events, &err) != 0) {
        apex_debug("ws: %s", err.msg);
        c->io_failed = true;
        target_ws_conn_end(c);
    }
}

void target_ws_send_now(target_ws_conn_t *c)
{
    if (c->ended || !wslay_event_want_write(c->ctx))
        return;
    if (wslay_event_send(c->ctx) != 0)
        c->io_failed = true;
}

static void s_read_now(target_ws_conn_t *c)
{
    if (c->ended)
        return;
    if (wslay_event_recv(c->ctx) != 0)
        c->io_failed = true;
    s_classify(c);
    if (c->check.bad)
        target_ws_conn_close(c, WSLAY_CODE_PROTOCOL_ERROR, s_bad_header, true);
}
// ---------------------------------------------------------------------
// wslay's I/O callbacks

static ssize_t s_would_block(wslay_event_context_ptr ctx)
{
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
}

static ssize_t s_failed(wslay_event_context_ptr ctx, target_ws_conn_t *c)
{
    c->io_failed = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t s_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      int flags, void *user_data)
{
    (void)flags;
    target_ws_conn_t *c = user_data;
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
    target_ws_conn_t *c = user_data;
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
    .on_msg_recv_callback = target_ws_on_message,
};

// ---------------------------------------------------------------------
// The loop's callbacks

static void s_on_io(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    target_ws_conn_t *c = io->arg;
    if (events & EPOLLERR)
        c->io_failed = true;
    else if (events & (EPOLLIN | EPOLLHUP))
        s_read_now(c);
    target_ws_send_now(
        c); // on EPOLLOUT, and what the read queued: echoes, pongs
    target_ws_update(c);
}

// Take a connection from MHD: start watching it, read what MHD read.
void target_ws_adopt(target_ws_thread_t *t, target_ws_conn_t *c)
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
    apex_timer_init(&c->timer, target_ws_on_timer, c);
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
        target_ws_conn_close(c, WSLAY_CODE_GOING_AWAY, s_going_away, false);
    s_read_now(c); // the bytes MHD read past the request, if any
    target_ws_send_now(c);
    target_ws_update(c);
}

void target_ws_begin_stop(target_ws_thread_t *t)
{
    t->stopping = true;
    for (target_ws_conn_t *c = t->conns; c; c = c->next)
        target_ws_conn_close(c, WSLAY_CODE_GOING_AWAY, s_going_away, false);
    if (t->count == 0)
        apex_loop_stop(t->loop);
}
