// target/ws_int.h - internal to the WebSocket module (ws.c: the service,
// its threads and inboxes, MHD's side; ws_conn.c: a connection's life and
// framing; ws_routes.c: echo, events and chat): the structs the three
// share and the functions each calls in another. Nothing else includes it.
#ifndef APEX_TARGET_WS_INT_H
#define APEX_TARGET_WS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "common/loop.h"
#include "target/framecheck.h"
#include "target/stats.h"
#include "target/ws.h"

// Who began the close, or nobody yet; the first to do so wins.
typedef enum {
    TARGET_WS_END_NONE,    // open
    TARGET_WS_END_CLIENT,  // the client's close frame came first
    TARGET_WS_END_SERVER,  // the server closed (an error, shutdown)
    TARGET_WS_END_ABORTED, // no close handshake: EOF, reset or a failed write
} target_ws_end_t;

typedef struct target_ws_thread target_ws_thread_t;

typedef struct target_ws_conn {
    target_ws_thread_t *thread;            // owner, once adopted
    wslay_event_context_ptr ctx;           // wslay's state, once adopted
    struct MHD_UpgradeResponseHandle *urh; // gives the socket back to MHD
    int fd;                                // the upgraded socket
    target_ws_route_t route;               // what the connection is for
    apex_io_t io;                          // the loop's watch on fd
    apex_timer_t timer;                    // next event, or close deadline
    uint64_t interval_us;                  // between events (/ws/events)
    uint64_t next_us;                      // when the next event is due
    uint64_t seq;                          // events sent so far
    uint8_t *pending;                  // extra_in bytes not yet given to wslay
    size_t pending_size;               // bytes in pending
    size_t pending_off;                // bytes of pending already given
    target_framecheck_t check;         // watch on the headers wslay refuses
    target_ws_end_t end;               // who began the close
    bool io_failed;                    // EOF or a socket error
    bool closing;                      // the close deadline is armed
    bool ended;                        // given back to MHD; on thread->dead
    bool in_flush;                     // on thread->flush
    struct target_ws_conn *prev;       // in thread->conns
    struct target_ws_conn *next;       // in thread->conns, or the dead list
    struct target_ws_conn *chat_prev;  // in thread->chat (chat members only)
    struct target_ws_conn *chat_next;  // in thread->chat
    struct target_ws_conn *flush_next; // in thread->flush
} target_ws_conn_t;

// A chat message on its way to other threads; immutable once posted.
typedef struct {
    atomic_size_t refs; // threads that still have to deliver it
    uint8_t opcode;     // WSLAY_TEXT_FRAME or WSLAY_BINARY_FRAME
    size_t size;        // bytes in data
    uint8_t data[];     // the payload
} target_ws_broadcast_t;

typedef struct target_ws_item {
    struct target_ws_item *next;      // in the inbox
    target_ws_conn_t *conn;           // a new connection, or NULL
    target_ws_broadcast_t *broadcast; // a chat message, or NULL
} target_ws_item_t;

struct target_ws_thread {
    target_ws_t *owner;           // the service
    apex_loop_t *loop;            // this thread's loop
    pthread_t thread;             // the thread
    bool started;                 // the thread runs and must be joined
    int efd;                      // eventfd written when the inbox has news
    apex_io_t efd_io;             // the loop's watch on efd
    pthread_mutex_t lock;         // guards inbox, inbox_tail and closed
    target_ws_item_t *inbox;      // posted items, oldest first
    target_ws_item_t *inbox_tail; // the newest item
    bool closed;                  // target_ws_close() was called: refuse posts
    // Below: the thread's own.
    target_ws_conn_t *conns; // every open connection
    target_ws_conn_t *chat;  // the open chat members
    target_ws_conn_t *flush; // connections with new output to send
    target_ws_conn_t *dead;  // ended, freed at the end of the iteration
    size_t count;            // connections in conns
    bool stopping;           // closing everything; the loop ends at count 0
    target_stats_t *stats;   // counters (the owner's)
};

// MHD's upgrade handler closure: the service and the route.
typedef struct {
    target_ws_t *ws;         // the service
    target_ws_route_t route; // the route upgraded to
} target_ws_upgrade_t;

struct target_ws {
    target_stats_t *stats;                               // counters, borrowed
    target_ws_thread_t *threads;                         // nthreads of them
    size_t nthreads;                                     // 1..MAX_THREADS
    atomic_size_t next;                                  // round-robin position
    target_ws_upgrade_t upgrades[TARGET_WS_ROUTE_COUNT]; // handler closures
    bool closed; // target_ws_close() ran
};

static inline void target_ws_add(target_ws_thread_t *t,
                                 target_stats_ws_t counter, uint64_t n)
{
    target_stats_ws_add(t->stats, counter, n);
}

// ws_conn.c: a connection's life.

// Put c on its thread's flush list (sent at the end of the iteration).
void target_ws_flush_later(target_ws_conn_t *c);
// Count the end, leave the loop and the lists, give the socket back to
// MHD. The memory goes at the end of the iteration.
void target_ws_conn_end(target_ws_conn_t *c);
// Free an ended (or never adopted) connection.
void target_ws_conn_free(target_ws_conn_t *c);
// A close has begun (end says by whom): give it a deadline.
void target_ws_closing(target_ws_conn_t *c, target_ws_end_t end);
// Begin a close from the server with code and reason (static text).
// protocol_error: stop reading too, and count it.
void target_ws_conn_close(target_ws_conn_t *c, uint16_t code,
                          const char *reason, bool protocol_error);
// Set the epoll interest from what wslay wants; end the connection when
// it wants nothing more.
void target_ws_update(target_ws_conn_t *c);
// Let wslay send what it has queued.
void target_ws_send_now(target_ws_conn_t *c);
// Has c more queued for it than APEX_TARGET_WS_BACKLOG_MAX?
bool target_ws_behind(target_ws_conn_t *c);
// Take a connection from MHD: start watching it, read what MHD read.
void target_ws_adopt(target_ws_thread_t *t, target_ws_conn_t *c);
// Close every connection of t with 1001; stop its loop once none is left.
void target_ws_begin_stop(target_ws_thread_t *t);

// ws_routes.c: the routes.

// wslay's callback for a whole message received on a connection.
void target_ws_on_message(wslay_event_context_ptr ctx,
                          const struct wslay_event_on_msg_recv_arg *arg,
                          void *user_data);
// The connection's timer: the close deadline, or events that are due.
void target_ws_on_timer(apex_loop_t *loop, apex_timer_t *timer);
// Give a chat message to every member on thread t.
void target_ws_deliver(target_ws_thread_t *t, uint8_t opcode,
                       const uint8_t *data, size_t size);
// Drop a thread's reference to a chat message; the last frees it.
void target_ws_unref(target_ws_broadcast_t *b);

// ws.c: the threads.

// Post a new connection or a chat message to t. Returns false, having
// taken nothing, once t is closed.
bool target_ws_post(target_ws_thread_t *t, target_ws_conn_t *conn,
                    target_ws_broadcast_t *broadcast);

#endif
