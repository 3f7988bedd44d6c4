// target/ws_routes.c - what apex-target's WebSocket routes do with a
// connection: /ws/echo, /ws/events and /ws/chat (see ws.h, ws_int.h).
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
#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wslay/wslay.h>

#include "common/alloc.h"
#include "common/loop.h"
#include "target/ws_int.h"

#define APEX_TARGET_WS_EVENTS_BURST 100 // events sent by one late timer
#define APEX_TARGET_WS_EVENT_MAX 96     // bytes of one event's JSON
#define APEX_TARGET_NSEC_PER_USEC 1000
#define APEX_TARGET_USEC_PER_MSEC 1000
#define APEX_TARGET_MSEC_PER_SEC 1000

// ---------------------------------------------------------------------
// Messages

// Queue a data message on c; count it as sent. False if c is closing or
// too far behind (then counted as dropped if it is still open).
static bool s_queue(target_ws_conn_t *c, uint8_t opcode, const uint8_t *data,
                    size_t size)
{
    if (c->ended || c->end != TARGET_WS_END_NONE)
        return false;
    if (target_ws_behind(c)) {
        target_ws_add(c->thread, TARGET_STATS_WS_DROPPED, 1);
        return false;
    }
    struct wslay_event_msg msg = {opcode, data, size};
    if (wslay_event_queue_msg(c->ctx, &msg) != 0)
        return false;
    target_ws_add(c->thread, TARGET_STATS_WS_SENT_ECHO + c->route, 1);
    target_ws_add(c->thread, TARGET_STATS_WS_BYTES_SENT, size);
    return true;
}

// Give a chat message to every member on thread t.
void target_ws_deliver(target_ws_thread_t *t, uint8_t opcode,
                       const uint8_t *data, size_t size)
{
    for (target_ws_conn_t *m = t->chat; m; m = m->chat_next) {
        if (s_queue(m, opcode, data, size))
            target_ws_flush_later(m);
    }
}

void target_ws_unref(target_ws_broadcast_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

// A chat message from a member on t: to t's members, and to the others.
static void s_chat(target_ws_thread_t *t, uint8_t opcode, const uint8_t *data,
                   size_t size)
{
    target_ws_deliver(t, opcode, data, size);
    target_ws_t *ws = t->owner;
    if (ws->nthreads == 1)
        return;
    target_ws_broadcast_t *b = apex_calloc(1, sizeof *b + size);
    atomic_init(&b->refs, ws->nthreads - 1);
    b->opcode = opcode;
    b->size = size;
    memcpy(b->data, data, size);
    for (size_t i = 0; i < ws->nthreads; i++) {
        target_ws_thread_t *other = &ws->threads[i];
        if (other != t && !target_ws_post(other, NULL, b))
            target_ws_unref(b);
    }
}

void target_ws_on_message(wslay_event_context_ptr ctx,
                          const struct wslay_event_on_msg_recv_arg *arg,
                          void *user_data)
{
    (void)ctx;
    target_ws_conn_t *c = user_data;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        target_ws_closing(c, TARGET_WS_END_CLIENT);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; // pings are answered by wslay, pongs need nothing
    target_ws_add(c->thread, TARGET_STATS_WS_RECEIVED_ECHO + c->route, 1);
    target_ws_add(c->thread, TARGET_STATS_WS_BYTES_RECEIVED, arg->msg_length);
    if (c->route == TARGET_WS_ECHO)
        s_queue(c, arg->opcode, arg->msg, arg->msg_length);
    else if (c->route == TARGET_WS_CHAT)
        s_chat(c->thread, arg->opcode, arg->msg, arg->msg_length);
}

// Queue the next event of /ws/events, with the wall clock in ms.
static void s_push_event(target_ws_conn_t *c)
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
void target_ws_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    target_ws_conn_t *c = timer->arg;
    if (c->closing) {
        target_ws_conn_end(c); // the client did not finish the close in time
        return;
    }
    uint64_t now = apex_loop_now(loop);
    for (int i = 0; i < APEX_TARGET_WS_EVENTS_BURST && c->next_us <= now; i++) {
        s_push_event(c);
        c->next_us += c->interval_us;
    }
    if (c->next_us <= now) // far behind: skip, do not flood
        c->next_us = now + c->interval_us;
    target_ws_send_now(c);
    target_ws_update(c);
    if (!c->ended && !c->closing)
        apex_timer_start_at(loop, timer, c->next_us);
}
