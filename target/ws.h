// target/ws.h - apex-target's WebSocket routes, /ws/echo, /ws/events and
// /ws/chat: the upgrade from an MHD request, then the connections on a
// few threads of their own, each running one event loop.
#ifndef APEX_TARGET_WS_H
#define APEX_TARGET_WS_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "common/error.h"
#include "target/options.h"
#include "target/stats.h"

#define APEX_TARGET_WS_MAX_MESSAGE (1024u * 1024) // larger ones: close 1009
#define APEX_TARGET_WS_RATE_DEFAULT 1             // /ws/events per second
#define APEX_TARGET_WS_RATE_MAX 1000              // ?rate= is 1..this

// The routes, in the order of /stats' per-route WebSocket counters.
typedef enum {
    TARGET_WS_ECHO,   // GET /ws/echo: every message back, same opcode
    TARGET_WS_EVENTS, // GET /ws/events?rate=N: N JSON events a second
    TARGET_WS_CHAT,   // GET /ws/chat: every message to every member
    TARGET_WS_ROUTE_COUNT,
} target_ws_route_t;

typedef struct target_ws target_ws_t; // opaque

// Start nthreads (1..APEX_TARGET_WS_MAX_THREADS) WebSocket threads that
// count into stats (borrowed; it must outlive the object). Returns a new
// object the caller owns, or NULL with err set ("ws: cannot start
// thread: ...").
target_ws_t *target_ws_new(unsigned nthreads, target_stats_t *stats,
                           apex_error_t *err);

// Answer a fully received GET for route (version is the request's HTTP
// version): 101 and the upgrade, after which the connection belongs to a
// WebSocket thread, or 400/426 with {"error": "..."} for a bad handshake
// or a bad ?rate=. Call from an MHD access handler, on the daemon started
// with MHD_ALLOW_UPGRADE. Returns the status queued, or 0 if MHD refused
// it (the connection then closes).
unsigned target_ws_respond(target_ws_t *self, struct MHD_Connection *conn,
                           target_ws_route_t route, const char *version);

// Close every connection with 1001 (going away), wait a little for the
// clients' answers, give the sockets back to MHD and stop the threads.
// Connections upgraded after this are closed with 1001 at once. Call
// while the MHD daemon still runs (it closes the sockets given back);
// safe to call more than once.
void target_ws_close(target_ws_t *self);

// Close, free *self_p and set it to NULL; does nothing if *self_p is
// NULL. Call after MHD_stop_daemon(): MHD's upgrade responses point here.
void target_ws_destroy(target_ws_t **self_p);

#endif
