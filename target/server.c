// target/server.c - see server.h.
//
// Threads: MHD's internal pool (MHD_USE_INTERNAL_POLLING_THREAD |
// MHD_USE_EPOLL, MHD_OPTION_THREAD_POOL_SIZE), each pool thread with its
// own epoll set and its share of the connections, plus one timer thread
// (target/timer.h). Connections are kept alive as HTTP/1.1 asks.
//
// A request goes through the access handler several times: once when its
// headers are in, once per piece of body, and a last time when it is all
// in. MHD keeps the connection alive only if the answer is queued on that
// last call. A request with no body and no delay, the common case of a
// load test, keeps no state: its context pointer is set to a marker (the
// address of server->plain) and it is answered on the last call. Otherwise
// a small s_request_t is allocated, the body is counted (and kept, up to
// APEX_TARGET_MAX_BODY, for the one route that reads it) as it arrives,
// and the answer is given on the last call. A body over the limit is
// read and dropped, then answered 413, so a client that sends it all
// before reading still gets the 413 and the connection stays usable; one
// that sent "Expect: 100-continue", or announced more than
// APEX_TARGET_DRAIN_MAX, is answered at once and the connection closed.
//
// Delays (--delay-ms plus ?delay_ms=, capped at APEX_TARGET_MAX_DELAY_MS)
// never hold a pool thread: the last call suspends the connection
// (MHD_ALLOW_SUSPEND_RESUME) and puts it on the timer's heap; at the wake
// time the timer thread resumes it, and MHD calls the handler once more
// on the connection's own thread to answer. So 1000 requests delayed by
// 200 ms all finish after about 200 ms, on any number of threads.
//
// Shutdown: MHD_stop_daemon() must not find a suspended connection, so
// destroy sets `stopping` (no new suspensions), closes the timer (which
// resumes everything at once) and waits until `parked`, the count of
// connections suspended and not yet back in the handler, drops to zero.
// A handler counts itself in `parked` before it reads `stopping`, and
// destroy sets `stopping` before it reads `parked` (both seq_cst), so
// one of the two always sees the other.
//
// WebSockets: a GET for /ws/* is answered on its last call by
// target_ws_respond() (MHD_ALLOW_UPGRADE), which upgrades it and hands
// the socket to the WebSocket threads of target/ws.h. Shutdown closes
// those (1001) while MHD still runs, since MHD closes the sockets given
// back, then stops MHD, then frees them.
//
// Injected errors use a per-thread xorshift64* generator, seeded from the
// clock and the thread's own address, so the hot path takes no lock.
// Counting is per thread too (target/stats.h).
#include "target/server.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <microhttpd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "target/api.h"
#include "target/stats.h"
#include "target/timer.h"
#include "target/ws.h"

#define APEX_TARGET_CONNECTION_LIMIT 65536
#define APEX_TARGET_LISTEN_BACKLOG 4096
// MHD's per-connection pool for the request line, headers and buffers:
// its default of 32 KiB would make 20000 connections cost 640 MiB.
#define APEX_TARGET_CONNECTION_MEMORY (16u * 1024)
#define APEX_TARGET_IDLE_TIMEOUT_S 120
#define APEX_TARGET_DRAIN_MAX (64u * 1024 * 1024)
#define APEX_TARGET_BODY_INITIAL 4096
#define APEX_TARGET_STOP_WAIT_US (5 * APEX_USEC_PER_SEC)
#define APEX_TARGET_STOP_POLL_NS 1000000L
#define APEX_TARGET_MHD_LOG_MAX 512

struct target_server {
    struct MHD_Daemon *daemon; // the HTTP server
    target_stats_t *stats;     // request counters
    target_api_t *api;         // routes and responses
    target_timer_t *timer;     // wakes delayed requests
    target_ws_t *ws;           // the WebSocket routes and threads
    uint64_t delay_us;         // --delay-ms
    double error_rate;         // --error-rate
    bool require_login;        // --require-login
    uint16_t port;             // the port listened on
    atomic_bool stopping;      // destroy has begun: delay nothing
    atomic_size_t parked;      // suspended, not yet back in the handler
    char plain;                // its address marks a request kept no state
};

typedef struct {
    struct MHD_Connection *conn; // to resume it
    uint64_t delay_us;           // latency still to add; 0 once waited
    const char *bad_query;       // a 400 message for a bad ?delay_ms=
    char *body;                  // body kept for the route, or NULL
    size_t size;                 // bytes in body
    size_t capacity;             // bytes allocated for body
    uint64_t received;           // body bytes received, kept or not
    bool too_large;              // received > APEX_TARGET_MAX_BODY
    bool parked;                 // counted in server->parked
} s_request_t;

// This thread's generator state; 0 until first use.
static _Thread_local uint64_t s_rng;

static uint64_t s_splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A uniform double in [0, 1) from this thread's xorshift64* generator.
static double s_random(void)
{
    if (s_rng == 0)
        s_rng = s_splitmix64(apex_now_us() ^ (uint64_t)(uintptr_t)&s_rng) | 1;
    uint64_t x = s_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s_rng = x;
    return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) * 0x1.0p-53;
}

// MHD's error log, at DEBUG: what it reports (a peer that reset, a full
// connection table) is counted in its effects, not worth a line each.
__attribute__((format(printf, 2, 0))) static void
s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!apex_log_enabled(APEX_LOG_DEBUG))
        return;
    char line[APEX_TARGET_MHD_LOG_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    apex_debug("mhd: %s", line);
}

// Parse a decimal of digits only, saturating at max (at most
// UINT64_MAX / 100, so v * 10 + 9 cannot overflow). Returns 0 or -1.
static int s_parse_capped(const char *text, uint64_t max, uint64_t *value)
{
    if (text[0] == '\0')
        return -1;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (v <= max)
            v = v * 10 + (uint64_t)(*p - '0');
    }
    *value = v < max ? v : max;
    return 0;
}

// The request's total delay, or a 400 message in *bad for ?delay_ms=.
static uint64_t s_delay_us(const target_server_t *self,
                           struct MHD_Connection *conn,
                           const target_route_t *route, const char **bad)
{
    *bad = NULL;
    if (!route->delayed)
        return 0;
    uint64_t delay_us = self->delay_us;
    const char *text =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "delay_ms");
    if (text) {
        uint64_t ms = 0;
        if (s_parse_capped(text, APEX_TARGET_MAX_DELAY_MS, &ms) != 0)
            *bad = "delay_ms: expected a non-negative integer";
        delay_us += ms * APEX_USEC_PER_MSEC;
    }
    return delay_us;
}

// The announced body size: the Content-Length, UINT64_MAX for a chunked
// body of unknown size, 0 for none.
static uint64_t s_announced_body(struct MHD_Connection *conn)
{
    const char *length = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length) {
        uint64_t size = 0;
        // Any size over the drain limit is treated alike, so cap there.
        if (s_parse_capped(length, APEX_TARGET_DRAIN_MAX + 1ULL, &size) == 0)
            return size;
        return UINT64_MAX; // MHD rejects a bad length before we see it
    }
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return UINT64_MAX;
    return 0;
}

// Should a body of this announced size get its 413 before it is sent?
static bool s_refuse_early(struct MHD_Connection *conn, uint64_t announced)
{
    if (announced == UINT64_MAX || announced <= APEX_TARGET_MAX_BODY)
        return false; // chunked, or small enough: read it
    if (announced > APEX_TARGET_DRAIN_MAX)
        return true;
    const char *expect =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
    return expect && strcasecmp(expect, "100-continue") == 0;
}

// Count one response in /stats if the route is counted.
static void s_count(target_server_t *self, const target_route_t *route,
                    unsigned status, bool injected)
{
    if (route->counted && status != 0)
        target_stats_record(self->stats, route->key, status, injected);
}

// The WebSocket route of an endpoint; false for the other endpoints.
static bool s_ws_route(target_endpoint_t endpoint, target_ws_route_t *route)
{
    switch (endpoint) {
    case TARGET_ENDPOINT_WS_ECHO:
        *route = TARGET_WS_ECHO;
        return true;
    case TARGET_ENDPOINT_WS_EVENTS:
        *route = TARGET_WS_EVENTS;
        return true;
    case TARGET_ENDPOINT_WS_CHAT:
        *route = TARGET_WS_CHAT;
        return true;
    default:
        return false;
    }
}

// Queue the answer to a fully received request (req may be NULL on the
// fast path) and count it.
static enum MHD_Result s_answer(target_server_t *self,
                                struct MHD_Connection *conn,
                                const target_route_t *route,
                                const s_request_t *req, const char *bad_query,
                                const char *version)
{
    unsigned status = 0;
    bool injected = false;
    target_ws_route_t ws_route;
    if (req && req->too_large) {
        status = target_api_respond_too_large(self->api, conn);
    } else if (bad_query) {
        status =
            target_api_respond_error(conn, MHD_HTTP_BAD_REQUEST, bad_query);
    } else if (s_ws_route(route->endpoint, &ws_route)) {
        status = target_ws_respond(self->ws, conn, ws_route, version);
    } else if (route->needs_session && self->require_login &&
               !target_api_logged_in(self->api, conn)) {
        status = target_api_respond_login_required(conn);
    } else if (route->injectable && self->error_rate > 0.0 &&
               s_random() < self->error_rate) {
        injected = true;
        status = target_api_respond_injected(self->api, conn);
    } else {
        status =
            target_api_respond(self->api, conn, route, req ? req->body : NULL,
                               req ? req->size : 0);
    }
    s_count(self, route, status, injected);
    return status != 0 ? MHD_YES : MHD_NO;
}

// Take a piece of the body: count it, keep it if the route reads it.
static void s_take_body(s_request_t *req, const target_route_t *route,
                        const char *data, size_t size)
{
    req->received += size;
    if (req->too_large)
        return;
    if (req->received > APEX_TARGET_MAX_BODY) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->size = req->capacity = 0;
        return;
    }
    if (!route->reads_body)
        return;
    if (req->size + size > req->capacity) {
        size_t capacity =
            req->capacity ? req->capacity : APEX_TARGET_BODY_INITIAL;
        while (capacity < req->size + size)
            capacity *= 2;
        req->body = apex_realloc(req->body, capacity, 1);
        req->capacity = capacity;
    }
    memcpy(req->body + req->size, data, size);
    req->size += size;
}

// Timer callback: the delay of the request is over.
static void s_wake(void *arg)
{
    s_request_t *req = arg;
    MHD_resume_connection(req->conn);
}

// Suspend the connection until the request's delay is over. Returns false
// (nothing suspended) if the server is stopping.
static bool s_park(target_server_t *self, s_request_t *req)
{
    atomic_fetch_add(&self->parked, 1);
    if (atomic_load(&self->stopping)) {
        atomic_fetch_sub(&self->parked, 1);
        return false;
    }
    req->parked = true;
    uint64_t wake_us = apex_now_us() + req->delay_us;
    req->delay_us = 0;
    MHD_suspend_connection(req->conn);
    target_timer_add(self->timer, wake_us, req);
    return true;
}

static void s_unpark(target_server_t *self, s_request_t *req)
{
    if (req->parked) {
        req->parked = false;
        atomic_fetch_sub(&self->parked, 1);
    }
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn,
                                const char *url, const char *method,
                                const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_p)
{
    target_server_t *self = cls;
    target_route_t route;
    target_api_route(method, url, &route);

    if (*req_p == &self->plain) // the last call of a plain request
        return s_answer(self, conn, &route, NULL, NULL, version);
    s_request_t *req = *req_p;
    if (!req) { // the headers are in
        const char *bad_query = NULL;
        uint64_t delay_us = s_delay_us(self, conn, &route, &bad_query);
        uint64_t announced = s_announced_body(conn);
        if (announced == 0 && delay_us == 0 && !bad_query) {
            // Answered on the last call: an answer queued now, before MHD
            // counts the request as received, would close the connection.
            *req_p = &self->plain;
            return MHD_YES;
        }
        if (s_refuse_early(conn, announced)) {
            unsigned status = target_api_respond_too_large(self->api, conn);
            s_count(self, &route, status, false);
            return status != 0 ? MHD_YES : MHD_NO;
        }
        req = apex_calloc(1, sizeof *req);
        req->conn = conn;
        req->delay_us = bad_query ? 0 : delay_us;
        req->bad_query = bad_query;
        *req_p = req;
        return MHD_YES;
    }
    s_unpark(self, req);
    if (*upload_data_size > 0) {
        s_take_body(req, &route, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->delay_us > 0 && s_park(self, req))
        return MHD_YES;
    return s_answer(self, conn, &route, req, req->bad_query, version);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **req_p,
                        enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    target_server_t *self = cls;
    if (*req_p == &self->plain) {
        *req_p = NULL;
        return;
    }
    s_request_t *req = *req_p;
    if (!req)
        return;
    s_unpark(self, req);
    free(req->body);
    free(req);
    *req_p = NULL;
}

// Fill addr with opts' address and port. Returns 0 or -1 with err set.
static int s_address(const target_options_t *opts,
                     struct sockaddr_storage *addr, apex_error_t *err)
{
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, opts->bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(opts->port);
        return 0;
    }
    if (inet_pton(AF_INET6, opts->bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(opts->port);
        return 0;
    }
    return apex_error_set(err, "server: '%s': not an IPv4 or IPv6 address",
                          opts->bind);
}

target_server_t *target_server_new(const target_options_t *opts,
                                   apex_error_t *err)
{
    assert(opts);
    struct sockaddr_storage addr;
    if (s_address(opts, &addr, err) != 0)
        return NULL;

    target_server_t *self = apex_calloc(1, sizeof *self);
    self->delay_us = (uint64_t)opts->delay_ms * APEX_USEC_PER_MSEC;
    self->error_rate = opts->error_rate;
    self->require_login = opts->require_login;
    atomic_init(&self->stopping, false);
    atomic_init(&self->parked, 0);
    self->stats = target_stats_new(target_api_key_names(), TARGET_KEY_COUNT);
    self->api = target_api_new(self->stats, err);
    if (!self->api)
        goto fail;
    self->timer = target_timer_new(s_wake, err);
    if (!self->timer)
        goto fail;
    self->ws = target_ws_new(opts->ws_threads, self->stats, err);
    if (!self->ws)
        goto fail;

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
                     MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    self->daemon = MHD_start_daemon(
        flags, opts->port, NULL, NULL, s_access, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)opts->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)APEX_TARGET_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)APEX_TARGET_IDLE_TIMEOUT_S,
        MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned int)APEX_TARGET_LISTEN_BACKLOG,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)APEX_TARGET_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        s_completed, self, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_END);
    if (!self->daemon) {
        apex_error_set(err, "server: cannot listen on %s port %u: %s",
                       opts->bind, (unsigned)opts->port,
                       errno ? strerror(errno) : "libmicrohttpd failed");
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : opts->port;
    return self;
fail:
    target_server_destroy(&self);
    return NULL;
}

uint16_t target_server_port(const target_server_t *self)
{
    assert(self);
    return self->port;
}

void target_server_destroy(target_server_t **self_p)
{
    assert(self_p);
    target_server_t *self = *self_p;
    if (!self)
        return;
    atomic_store(&self->stopping, true);
    if (self->timer)
        target_timer_close(self->timer);
    if (self->daemon) {
        // Resumed connections go back to their threads, which answer them
        // at once; wait for that, bounded in case a thread is stuck.
        uint64_t deadline = apex_now_us() + APEX_TARGET_STOP_WAIT_US;
        while (atomic_load(&self->parked) > 0 && apex_now_us() < deadline) {
            struct timespec pause = {0, APEX_TARGET_STOP_POLL_NS};
            nanosleep(&pause, NULL);
        }
        if (self->ws)
            target_ws_close(self->ws);
        MHD_stop_daemon(self->daemon);
        self->daemon = NULL;
    }
    target_ws_destroy(&self->ws);
    target_timer_destroy(&self->timer);
    target_api_destroy(&self->api);
    target_stats_destroy(&self->stats);
    free(self);
    *self_p = NULL;
}
