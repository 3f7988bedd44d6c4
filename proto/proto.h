// proto/proto.h - Locust's master/worker messages, encoded and decoded
// with msgpack-c: the only place in the tree that knows the wire format.
//
// A payload is a msgpack array [type, data, node_id]. Worker to master:
// client_ready, heartbeat, stats, spawning, spawning_complete,
// client_stopped, quit, exception, logs. Master to worker: ack, spawn,
// stop, quit, reconnect, heartbeat, spawning_complete. Our extensions ride
// as extra keys Locust ignores: "apex_hist" (our histogram) next to each
// stats entry's response_times, and "apex_scenario" in spawn's
// parsed_options.
//
// Decoding treats input as hostile: sizes are checked against the bytes
// present before anything is allocated, every field's type is checked,
// numbers may be int or float, map keys may be int, uint, float or str.
//
// This header is the whole API that master/ and worker/ use. decode.c
// implements the decoder, encode.c the encoders; inside proto/, check.c
// (pass 1: the structural check of raw bytes), field.c (pass 2: typed
// field access) and stats_entry.c (one stats entry, both ways) serve
// them. zio.h, the ZeroMQ receive and send loop, is separate.
#ifndef APEX_PROTO_H
#define APEX_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/stats.h"

#define PROTO_MAX_FRAME (64u * 1024u * 1024u) // largest payload accepted
#define PROTO_MAX_DEPTH 16                    // deepest nesting accepted
#define PROTO_VERSION                                                          \
    "2.12.1" // a Locust version, for tests (apex-worker
             // sends -1 in client_ready: no warning)
#define PROTO_SCENARIO_KEY "apex_scenario"
#define PROTO_HIST_KEY "apex_hist"
#define PROTO_APEX_VERSION_KEY "apex_version"
#define PROTO_SERVICE_HIST_KEY "apex_service_hist"
#define PROTO_ITERATIONS_KEY "apex_iterations"
#define PROTO_DROPPED_KEY "apex_dropped_iterations"
#define PROTO_ARRIVAL_KEY "apex_arrival"
#define PROTO_HTTP_KEY "apex_http" // spawn: the run's HTTP engine, debug
#define PROTO_WORKER_INDEX_KEY "apex_worker_index" // spawn: cycle position
#define PROTO_WORKER_COUNT_KEY "apex_worker_count" // spawn: workers given
#define PROTO_MAX_WORKERS 1000000                  // users in a dispatch
#define PROTO_COUNTERS_KEY "apex_counters" // {name: delta since last report}
#define PROTO_GAUGES_KEY "apex_gauges"     // {name: value now}
#define PROTO_MAX_METRICS 64               // names in each of the two maps
#define PROTO_CHECKS_KEY "apex_checks"     // {check name: [passes, fails]}
#define PROTO_MAX_CHECKS 1024              // names in it
#define PROTO_CHECK_NAME_MAX 256           // bytes of a check name
#define PROTO_METRIC_NAME_MAX 64           // bytes of a name, [a-z0-9_]
// What one message may make a master hold (the review found a 4.8 MB
// stats report with 50,000 names taking a master to 1.4 GB): entries and
// errors past these limits add up in one "other" entry and error
// (apex_stats_set_limits); longer texts are cut (at a UTF-8 boundary).
#define PROTO_MAX_STATS_ENTRIES 1000 // (method, name) entries of a report
#define PROTO_MAX_STATS_ERRORS 1000  // distinct errors of a report
#define PROTO_MAX_NAME 2048          // bytes of a stats name or method
#define PROTO_MAX_ERROR_TEXT 4096    // bytes of an error text
#define PROTO_MAX_EXCEPTION_TEXT                                               \
    16384                              // bytes of an exception's message
                                       // or traceback
#define PROTO_TRENDS_KEY "apex_trends" // [StatsEntryDict]: custom trends
#define PROTO_MAX_TRENDS 64            // entries in it
#define PROTO_EXCEPTION_COUNT_KEY "apex_count" // exception: occurrences

typedef enum {
    PROTO_UNKNOWN,           // a type we do not handle (type_name says)
    PROTO_CLIENT_READY,      // w->m: version
    PROTO_HEARTBEAT,         // w->m: state, cpu, memory; m->w: no data
    PROTO_STATS,             // w->m: stats delta
    PROTO_SPAWNING,          // w->m: no data
    PROTO_SPAWNING_COMPLETE, // w->m: counts; m->w: user_count
    PROTO_CLIENT_STOPPED,    // w->m: no data
    PROTO_QUIT,              // both ways: no data
    PROTO_EXCEPTION,         // w->m: msg, traceback
    PROTO_LOGS,              // w->m: log lines (ignored)
    PROTO_ACK,               // m->w: index
    PROTO_SPAWN,             // m->w: targets, host, options
    PROTO_STOP,              // m->w: no data
    PROTO_RECONNECT,         // m->w: no data
} proto_type_t;

typedef struct {
    char *name;    // user class name
    int64_t count; // users of that class
} proto_count_t;

// A run-wide figure a worker reports next to its stats (an apex
// extension): a counter's delta since its last report ("ws_sessions": 3)
// or a gauge's value now ("ws_connections": 120).
typedef struct {
    char *name;    // [a-z0-9_]+, at most PROTO_METRIC_NAME_MAX bytes
    int64_t value; // counters: >= 0
} proto_metric_t;

// How often a named check passed and failed since the last report (an
// apex extension of stats).
typedef struct {
    char *name;      // the check's name (UTF-8, no NUL)
    uint64_t passes; // passed
    uint64_t fails;  // failed
} proto_check_t;

typedef struct {
    proto_type_t type; // decoded type
    char *type_name;   // type as received
    char *node_id;     // worker id (in both directions)
    bool has_data;     // data was not nil
    // client_ready
    char *version;       // version text, or NULL if an int was sent
    int64_t version_int; // the int version (e.g. -1) when not text
    // heartbeat (worker)
    char *state;           // "ready", "spawning", "running", ...
    double cpu_usage;      // percent of one core
    uint64_t memory_usage; // RSS bytes
    char *apex_version;    // heartbeat extension: set by apex-worker
    // ack
    int64_t index; // worker index, -1 when absent
    // spawn
    double timestamp;    // master time, increasing
    char *host;          // host to test, or NULL
    double stop_timeout; // seconds, or -1 for None
    char *scenario;      // parsed_options["apex_scenario"], or NULL
    bool reset_stats;    // parsed_options["reset_stats"] (Locust's)
    int http_engine;     // apex_http: apex_http_engine_t, 0 unset
    int http_debug;      // apex_http: --http-debug level, -1 absent
    // spawn, spawning_complete, stats: per-class user counts
    proto_count_t *counts; // class counts
    size_t ncounts;        // number of classes
    int64_t user_count;    // total users, -1 when absent
    // spawn: the open model (apex extension), rate < 0 when closed
    double arrival_rate;       // iterations per second for this worker
    int64_t arrival_max_users; // users it may allocate at most
    // spawn: where this worker stands in the dispatch (apex extension):
    // user k of the run goes to the worker at position k mod count
    int64_t worker_position; // 0 .. worker_count - 1, or -1 when absent
    int64_t worker_count;    // workers dispatched to, 0 when absent
    // stats
    apex_stats_t *stats;         // the delta: entries, total, errors
    uint64_t iterations;         // tasks completed (apex extension)
    uint64_t dropped_iterations; // iterations not started (extension)
    proto_metric_t *counters;    // run-wide counters' deltas (extension)
    size_t ncounters;            // their number
    proto_metric_t *gauges;      // run-wide gauges now (extension; also
    size_t ngauges;              // in heartbeats): their number
    proto_check_t *checks;       // checks' counts (extension)
    size_t nchecks;              // their number
    apex_stats_t *trends;        // custom trends' samples (extension:
                                 // values x1000 as microseconds), or NULL
    // exception
    char *msg;                // exception message
    char *traceback;          // traceback text
    uint64_t exception_count; // occurrences it stands for (>= 1)
    // not decoded: where it came from
    char *peer_address; // ROUTER: the sender's IP address as ZeroMQ saw
                        // it ("127.0.0.1"), or NULL when unknown (set by
                        // proto/zio.c)
} proto_msg_t;

// Decode one payload. Returns a new message the caller owns, or NULL with
// err set to what was wrong ("stats: $.stats[2].num_requests: expected a
// number"). A type we do not know decodes as PROTO_UNKNOWN, not an error.
proto_msg_t *proto_decode(const void *data, size_t size, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void proto_msg_destroy(proto_msg_t **self_p);

// Name of a type ("client_ready"), for logs.
const char *proto_type_name(proto_type_t type);

// ---------------------------------------------------------------------
// Encoders. Each one replaces the contents of out with a payload.

// A message with no data (nil): spawning, client_stopped, quit, stop,
// reconnect, heartbeat (master's reply).
void proto_encode_empty(apex_buf_t *out, const char *type, const char *node_id);

// client_ready with a version string, or with the int -1 when version is
// NULL (Locust accepts -1 without a version warning).
void proto_encode_client_ready(apex_buf_t *out, const char *version,
                               const char *node_id);

// heartbeat {state, current_cpu_usage, current_memory_usage} plus, when
// apex_version is not NULL, the extension key "apex_version" by which an
// apex-master tells our workers from Locust's.
void proto_encode_heartbeat(apex_buf_t *out, const char *state,
                            double cpu_usage, uint64_t memory_usage,
                            const char *apex_version, const char *node_id);

// The same with run-wide gauges now (apex_gauges, an extension key) so
// the master sees them every second, not only every report.
void proto_encode_heartbeat_gauges(apex_buf_t *out, const char *state,
                                   double cpu_usage, uint64_t memory_usage,
                                   const char *apex_version,
                                   const proto_metric_t *gauges, size_t ngauges,
                                   const char *node_id);

// Counters a worker reports next to its stats (apex extension keys).
typedef struct {
    uint64_t iterations;            // tasks completed since the last report
    uint64_t dropped_iterations;    // arrival iterations not started
    const proto_metric_t *counters; // counters' deltas (names valid), or
    size_t ncounters;               // NULL and 0
    const proto_metric_t *gauges;   // gauges' values now, or NULL and 0
    size_t ngauges;                 // their number
    const proto_check_t *checks;    // checks' counts, or NULL and 0
    size_t nchecks;                 // their number
    const apex_stats_t *trends;     // custom trends (entries with samples
                                    // are sent), or NULL
} proto_stats_extra_t;

// stats: every non-empty entry of stats, its total and its errors, with
// the per-class user counts and, when extra is not NULL, our counters.
// The caller resets stats afterwards.
void proto_encode_stats(apex_buf_t *out, const apex_stats_t *stats,
                        const proto_count_t *counts, size_t ncounts,
                        int64_t user_count, const proto_stats_extra_t *extra,
                        const char *node_id);

// spawning_complete from a worker {user_classes_count, user_count}.
void proto_encode_spawning_complete(apex_buf_t *out,
                                    const proto_count_t *counts, size_t ncounts,
                                    int64_t user_count, const char *node_id);

// spawning_complete from the master {user_count}.
void proto_encode_master_spawning_complete(apex_buf_t *out, int64_t user_count,
                                           const char *node_id);

// ack {index}.
void proto_encode_ack(apex_buf_t *out, int64_t index, const char *node_id);

// Options a master sends in spawn's parsed_options.
typedef struct {
    const char *scenario;      // scenario wire JSON, or NULL
    int64_t num_users;         // -u, or -1 for None
    double spawn_rate;         // -r, or -1 for None
    bool arrival;              // open model (apex extension)
    double arrival_rate;       // open model: this worker's iterations/s
    int64_t arrival_max_users; // open model: users it may allocate
    bool reset_stats;          // --reset-stats
    int http_engine;           // --engine: apex_http_engine_t, 0 unset
    int http_debug;            // --http-debug level, 0 off
    int64_t worker_position;   // this worker's place in the dispatch
    int64_t worker_count;      // among so many (0: keys not sent)
} proto_spawn_options_t;

// spawn {timestamp, user_classes_count, host, stop_timeout,
// parsed_options}. stop_timeout < 0 is sent as None; host NULL as None.
void proto_encode_spawn(apex_buf_t *out, double timestamp,
                        const proto_count_t *counts, size_t ncounts,
                        const char *host, double stop_timeout,
                        const proto_spawn_options_t *options,
                        const char *node_id);

// exception {msg, traceback}.
void proto_encode_exception(apex_buf_t *out, const char *msg,
                            const char *traceback, const char *node_id);

// exception {msg, traceback, apex_count}: count occurrences of one
// exception (a Locust master counts the message once).
void proto_encode_exception_count(apex_buf_t *out, const char *msg,
                                  const char *traceback, uint64_t count,
                                  const char *node_id);

#endif
