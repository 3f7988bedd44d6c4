// target/api.h - the Project Apex demo API: which route a request is for,
// and the JSON response each route queues on its MHD connection (the
// WebSocket routes are answered by target/ws.h).
#ifndef APEX_TARGET_API_H
#define APEX_TARGET_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "common/error.h"
#include "target/stats.h"

// The keys /stats counts requests under, in the order it prints them.
typedef enum {
    TARGET_KEY_HEALTH,       // GET /health
    TARGET_KEY_TASKS_LIST,   // GET /api/v1/tasks
    TARGET_KEY_TASKS_CREATE, // POST /api/v1/tasks
    TARGET_KEY_TASK_GET,     // GET /api/v1/tasks/{id}
    TARGET_KEY_AGENTS,       // GET /api/v1/agents
    TARGET_KEY_DAGS,         // GET /api/v1/dags
    TARGET_KEY_DAG_EXECUTE,  // POST /api/v1/dags/{id}/execute
    TARGET_KEY_LOGIN,        // POST /api/v1/login
    TARGET_KEY_EXECUTION,    // GET /api/v1/executions/{id}
    TARGET_KEY_OTHER,        // unknown paths and wrong methods
    TARGET_KEY_COUNT,
} target_key_t;

// What answers a request.
typedef enum {
    TARGET_ENDPOINT_HEALTH,
    TARGET_ENDPOINT_TASKS_LIST,
    TARGET_ENDPOINT_TASKS_CREATE,
    TARGET_ENDPOINT_TASK_GET,
    TARGET_ENDPOINT_AGENTS,
    TARGET_ENDPOINT_DAGS,
    TARGET_ENDPOINT_DAG_EXECUTE,
    TARGET_ENDPOINT_LOGIN,
    TARGET_ENDPOINT_EXECUTION,
    TARGET_ENDPOINT_STATS,
    TARGET_ENDPOINT_STATS_RESET,
    TARGET_ENDPOINT_WS_ECHO,   // GET /ws/echo (target/ws.h)
    TARGET_ENDPOINT_WS_EVENTS, // GET /ws/events
    TARGET_ENDPOINT_WS_CHAT,   // GET /ws/chat
    TARGET_ENDPOINT_NOT_FOUND,
    TARGET_ENDPOINT_BAD_METHOD,
} target_endpoint_t;

#define APEX_TARGET_MAX_BODY (1024u * 1024) // larger bodies answer 413

// Methods a path allows, for 405's Allow header.
#define APEX_TARGET_ALLOW_GET 1u
#define APEX_TARGET_ALLOW_POST 2u

typedef struct {
    target_endpoint_t endpoint; // what answers
    target_key_t key;           // what /stats counts it under
    unsigned allow;             // APEX_TARGET_ALLOW_* of the path
    const char *param;          // the {id} in the URL (not terminated)
    size_t param_len;           // its length; 0 when the route has none
    bool counted;               // counted in /stats (all but /stats*)
    bool delayed;               // --delay-ms and ?delay_ms= apply
    bool injectable;            // --error-rate applies (/health, /api/*)
    bool reads_body;            // the endpoint needs the request body
    bool needs_session;         // --require-login applies (/api/* but
                                // the login)
} target_route_t;

typedef struct target_api target_api_t; // opaque

// The TARGET_KEY_COUNT names /stats prints ("GET /health", ..., "other"),
// static strings.
const char *const *target_api_key_names(void);

// Classify a request by method and (unescaped) path. route->param points
// into url, which must outlive the route.
void target_api_route(const char *method, const char *url,
                      target_route_t *route);

// Create the API with an empty task store and its fixed responses. stats
// is borrowed, for /stats and /stats/reset. Returns a new object the
// caller owns, or NULL with err set if MHD cannot build a response.
target_api_t *target_api_new(target_stats_t *stats, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL. No
// response may be queued with it any more.
void target_api_destroy(target_api_t **self_p);

// Queue the response of route for a fully received request whose body
// (not terminated, may be NULL when size is 0) is given. Returns the HTTP
// status queued, or 0 if MHD refused it (the connection then closes).
unsigned target_api_respond(target_api_t *self, struct MHD_Connection *conn,
                            const target_route_t *route, const char *body,
                            size_t size);

// True when the request carries a session cookie from POST
// /api/v1/login (target/session.h).
bool target_api_logged_in(const target_api_t *self,
                          struct MHD_Connection *conn);

// Queue 401 {"error":"login required: POST /api/v1/login first"}.
// Returns 401, or 0.
unsigned target_api_respond_login_required(struct MHD_Connection *conn);

// Queue 500 {"error":"injected failure"}. Returns 500, or 0 on failure.
unsigned target_api_respond_injected(target_api_t *self,
                                     struct MHD_Connection *conn);

// Queue 413 for a body over APEX_TARGET_MAX_BODY. Returns 413, or 0.
unsigned target_api_respond_too_large(target_api_t *self,
                                      struct MHD_Connection *conn);

// Queue 426 {"error":message} with Upgrade: websocket and
// Sec-WebSocket-Version: 13, as RFC 6455 asks of a refused WebSocket
// handshake. Returns 426, or 0.
unsigned target_api_respond_upgrade_required(struct MHD_Connection *conn,
                                             const char *message);

// Queue status with {"error":message}. Returns status, or 0.
unsigned target_api_respond_error(struct MHD_Connection *conn, unsigned status,
                                  const char *message);

#endif
