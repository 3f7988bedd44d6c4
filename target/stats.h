// target/stats.h - apex-target's request counters: per route key, per
// HTTP status and injected errors, and the WebSocket counters, counted per
// thread without locks and summed when read.
#ifndef APEX_TARGET_STATS_H
#define APEX_TARGET_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define APEX_TARGET_STATS_MAX_KEYS 16

// The WebSocket counters. Messages are data messages (text and binary;
// not pings, pongs or closes) and bytes their payloads; a message is
// counted as sent when it is queued on its connection.
typedef enum {
    TARGET_STATS_WS_OPENED,           // upgrades done (101 sent)
    TARGET_STATS_WS_REJECTED,         // upgrade requests answered 400/426
    TARGET_STATS_WS_CLOSED_BY_CLIENT, // the client began the close
    TARGET_STATS_WS_CLOSED_BY_SERVER, // the server began it (errors too)
    TARGET_STATS_WS_ABORTED,          // ended with no close handshake
    TARGET_STATS_WS_PROTOCOL_ERRORS,  // closed 1002, 1007 or 1009
    TARGET_STATS_WS_DROPPED,          // not sent to a client too far behind
    TARGET_STATS_WS_BYTES_RECEIVED,   // payload bytes of messages received
    TARGET_STATS_WS_BYTES_SENT,       // payload bytes of messages sent
    TARGET_STATS_WS_RECEIVED_ECHO,    // messages received on /ws/echo
    TARGET_STATS_WS_RECEIVED_EVENTS,  // ... on /ws/events
    TARGET_STATS_WS_RECEIVED_CHAT,    // ... on /ws/chat
    TARGET_STATS_WS_SENT_ECHO,        // messages sent on /ws/echo
    TARGET_STATS_WS_SENT_EVENTS,      // ... on /ws/events
    TARGET_STATS_WS_SENT_CHAT,        // ... on /ws/chat
    TARGET_STATS_WS_COUNT,
} target_stats_ws_t;

// The routes in the order of the per-route counters above.
#define APEX_TARGET_STATS_WS_ROUTES 3

typedef struct target_stats target_stats_t; // opaque

// Create zeroed counters for nkeys route keys (at most
// APEX_TARGET_STATS_MAX_KEYS) named by keys, which must outlive the
// object. Never returns NULL.
target_stats_t *target_stats_new(const char *const *keys, size_t nkeys);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL. No
// thread may record into it any more.
void target_stats_destroy(target_stats_t **self_p);

// Count one response: its route key (< nkeys), its status and whether it
// was an injected error. Lock-free: each thread writes its own counters
// (registered, under the lock, on its first call).
void target_stats_record(target_stats_t *self, size_t key, unsigned status,
                         bool injected);

// Add n to a WebSocket counter, lock-free like target_stats_record().
void target_stats_ws_add(target_stats_t *self, target_stats_ws_t counter,
                         uint64_t n);

// Make every count read zero from now on (but "open", which is a level).
void target_stats_reset(target_stats_t *self);

// The counts since start or the last reset as JSON text:
// {"total":N,"requests":{key:n,...},"status":{"200":n,...},
//  "errors_injected":n,"websocket":{"opened":n,"open":n,"rejected":n,
//  "closed_by_client":n,"closed_by_server":n,"aborted":n,
//  "protocol_errors":n,"dropped":n,"messages_received":{"echo":n,
//  "events":n,"chat":n},"messages_sent":{...},"bytes_received":n,
//  "bytes_sent":n}}. Every key and the usual statuses are always present;
// "open" is the connections open now, reset or not. Returns a new string
// the caller frees with free(). logins (a reference it steals, or NULL)
// goes in as "logins" (target/session.h).
char *target_stats_json(target_stats_t *self, json_t *logins);

#endif
