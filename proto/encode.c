// proto/encode.c - the proto_encode_*() functions of proto.h: messages
// to the bytes of a frame.
//
// Each encoder resets the caller's apex_buf_t and packs [type, data,
// node_id] into it with msgpack-c's packer, the way Python's msgpack
// packs Locust's messages (use_bin_type: text is str, bytes are bin;
// floats are float64), so a Locust peer cannot tell us from itself. Maps
// are written with their keys in Locust's order; our extensions are
// extra keys after Locust's. A stats entry is stats_entry.c's.
#include "proto/proto.h"

#include <msgpack.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/scenario.h"
#include "proto/field.h"
#include "proto/stats_entry.h"

#define S_ENVELOPE_ITEMS 3 // [type, data, node_id]
#define S_HEARTBEAT_KEYS 3 // state, current_cpu_usage, ..._memory_usage
#define S_STATS_KEYS 5     // stats ... user_count
#define S_STATS_EXTRA_KEYS                                                     \
    2                            // apex_iterations, apex_dropped_iterations
                                 // (and apex_counters, apex_gauges if any)
#define S_ERROR_KEYS 6           // name ... last_seen
#define S_SPAWN_KEYS 5           // timestamp ... parsed_options
#define S_SPAWN_OPTION_KEYS 6    // host, num_users, spawn_rate, tags, ...
#define S_ARRIVAL_KEYS 2         // rate, max_users
#define S_HTTP_KEYS 2            // engine, debug
#define S_CLIENT_READY_NONE (-1) // the version that means "do not check"
#define S_WORKER_COMPLETE_KEYS 2 // user_classes_count, user_count
#define S_MASTER_COMPLETE_KEYS 1 // user_count
#define S_ACK_KEYS 1             // index
#define S_EXCEPTION_KEYS 2       // msg, traceback

static int s_write(void *data, const char *buf, size_t len)
{
    apex_buf_append(data, buf, len);
    return 0;
}

static void s_str_or_nil(msgpack_packer *pk, const char *text)
{
    if (text)
        proto_field_pack_str(pk, text);
    else
        msgpack_pack_nil(pk);
}

// Reset out and start the envelope: the array and its type.
static void s_begin(msgpack_packer *pk, apex_buf_t *out, const char *type)
{
    apex_buf_reset(out);
    msgpack_packer_init(pk, out, s_write);
    msgpack_pack_array(pk, S_ENVELOPE_ITEMS);
    proto_field_pack_str(pk, type);
}

static void s_pack_counts(msgpack_packer *pk, const proto_count_t *counts,
                          size_t n)
{
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        proto_field_pack_str(pk, counts[i].name);
        msgpack_pack_int64(pk, counts[i].count);
    }
}

void proto_encode_empty(apex_buf_t *out, const char *type, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, type);
    msgpack_pack_nil(&pk);
    proto_field_pack_str(&pk, node_id);
}

void proto_encode_client_ready(apex_buf_t *out, const char *version,
                               const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "client_ready");
    if (version)
        proto_field_pack_str(&pk, version);
    else
        msgpack_pack_int64(&pk, S_CLIENT_READY_NONE);
    proto_field_pack_str(&pk, node_id);
}

static void s_pack_metrics(msgpack_packer *pk, const proto_metric_t *m,
                           size_t n);

void proto_encode_heartbeat(apex_buf_t *out, const char *state,
                            double cpu_usage, uint64_t memory_usage,
                            const char *apex_version, const char *node_id)
{
    proto_encode_heartbeat_gauges(out, state, cpu_usage, memory_usage,
                                  apex_version, NULL, 0, node_id);
}

void proto_encode_heartbeat_gauges(apex_buf_t *out, const char *state,
                                   double cpu_usage, uint64_t memory_usage,
                                   const char *apex_version,
                                   const proto_metric_t *gauges, size_t ngauges,
                                   const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "heartbeat");
    msgpack_pack_map(&pk, S_HEARTBEAT_KEYS + (apex_version ? 1 : 0) +
                              (ngauges ? 1 : 0));
    proto_field_pack_str(&pk, "state");
    proto_field_pack_str(&pk, state);
    proto_field_pack_str(&pk, "current_cpu_usage");
    msgpack_pack_double(&pk, cpu_usage);
    proto_field_pack_str(&pk, "current_memory_usage");
    msgpack_pack_uint64(&pk, memory_usage);
    if (apex_version) {
        proto_field_pack_str(&pk, PROTO_APEX_VERSION_KEY);
        proto_field_pack_str(&pk, apex_version);
    }
    if (ngauges) {
        proto_field_pack_str(&pk, PROTO_GAUGES_KEY);
        s_pack_metrics(&pk, gauges, ngauges);
    }
    proto_field_pack_str(&pk, node_id);
}

// The "stats" list: every entry with requests or failures.
static void s_pack_entries(msgpack_packer *pk, const apex_stats_t *stats,
                           apex_locust_bucket_t *buckets, uint8_t *hist_buf)
{
    size_t nonempty = 0;
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (e->num_requests || e->num_failures)
            nonempty++;
    }
    msgpack_pack_array(pk, nonempty);
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (e->num_requests || e->num_failures)
            proto_stats_entry_encode(pk, e, buckets, hist_buf);
    }
}

// True when stats (or NULL) has an entry with requests.
static bool s_has_samples(const apex_stats_t *stats)
{
    for (size_t i = 0; stats && i < apex_stats_size(stats); i++)
        if (apex_stats_at(stats, i)->num_requests)
            return true;
    return false;
}

// The "errors" map: StatsErrorDicts under their sha256 keys.
static void s_pack_errors(msgpack_packer *pk, const apex_stats_t *stats)
{
    size_t nerrors = apex_stats_error_count(stats);
    msgpack_pack_map(pk, nerrors);
    for (size_t i = 0; i < nerrors; i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        proto_field_pack_str(pk, e->key);
        msgpack_pack_map(pk, S_ERROR_KEYS);
        proto_field_pack_str(pk, "name");
        proto_field_pack_str(pk, e->name);
        proto_field_pack_str(pk, "method");
        proto_field_pack_str(pk, e->method);
        proto_field_pack_str(pk, "error");
        proto_field_pack_str(pk, e->error);
        proto_field_pack_str(pk, "occurrences");
        msgpack_pack_uint64(pk, e->occurrences);
        proto_field_pack_str(pk, "first_seen");
        msgpack_pack_double(pk, e->first_seen);
        proto_field_pack_str(pk, "last_seen");
        msgpack_pack_double(pk, e->last_seen);
    }
}

// {name: value} for a run-wide metric map.
static void s_pack_metrics(msgpack_packer *pk, const proto_metric_t *m,
                           size_t n)
{
    msgpack_pack_map(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        proto_field_pack_str(pk, m[i].name);
        msgpack_pack_int64(pk, m[i].value);
    }
}

void proto_encode_stats(apex_buf_t *out, const apex_stats_t *stats,
                        const proto_count_t *counts, size_t ncounts,
                        int64_t user_count, const proto_stats_extra_t *extra,
                        const char *node_id)
{
    size_t nextra = 0;
    if (extra)
        nextra = S_STATS_EXTRA_KEYS + (extra->ncounters ? 1 : 0) +
                 (extra->ngauges ? 1 : 0) + (extra->nchecks ? 1 : 0) +
                 (s_has_samples(extra->trends) ? 1 : 0);
    apex_locust_bucket_t *buckets =
        apex_calloc(APEX_HISTOGRAM_BUCKETS, sizeof *buckets);
    uint8_t *hist_buf = apex_calloc(1, APEX_HISTOGRAM_ENCODE_MAX);
    msgpack_packer pk;
    s_begin(&pk, out, "stats");
    msgpack_pack_map(&pk, (uint32_t)(S_STATS_KEYS + nextra));
    proto_field_pack_str(&pk, "stats");
    s_pack_entries(&pk, stats, buckets, hist_buf);
    proto_field_pack_str(&pk, "stats_total");
    proto_stats_entry_encode(&pk, apex_stats_total_const(stats), buckets,
                             hist_buf);
    proto_field_pack_str(&pk, "errors");
    s_pack_errors(&pk, stats);
    proto_field_pack_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    proto_field_pack_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    if (extra) {
        proto_field_pack_str(&pk, PROTO_ITERATIONS_KEY);
        msgpack_pack_uint64(&pk, extra->iterations);
        proto_field_pack_str(&pk, PROTO_DROPPED_KEY);
        msgpack_pack_uint64(&pk, extra->dropped_iterations);
        if (extra->ncounters) {
            proto_field_pack_str(&pk, PROTO_COUNTERS_KEY);
            s_pack_metrics(&pk, extra->counters, extra->ncounters);
        }
        if (extra->ngauges) {
            proto_field_pack_str(&pk, PROTO_GAUGES_KEY);
            s_pack_metrics(&pk, extra->gauges, extra->ngauges);
        }
        if (extra->nchecks) {
            proto_field_pack_str(&pk, PROTO_CHECKS_KEY);
            msgpack_pack_map(&pk, extra->nchecks);
            for (size_t i = 0; i < extra->nchecks; i++) {
                proto_field_pack_str(&pk, extra->checks[i].name);
                msgpack_pack_array(&pk, 2);
                msgpack_pack_uint64(&pk, extra->checks[i].passes);
                msgpack_pack_uint64(&pk, extra->checks[i].fails);
            }
        }
        if (s_has_samples(extra->trends)) {
            proto_field_pack_str(&pk, PROTO_TRENDS_KEY);
            s_pack_entries(&pk, extra->trends, buckets, hist_buf);
        }
    }
    proto_field_pack_str(&pk, node_id);
    free(buckets);
    free(hist_buf);
}

void proto_encode_spawning_complete(apex_buf_t *out,
                                    const proto_count_t *counts, size_t ncounts,
                                    int64_t user_count, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawning_complete");
    msgpack_pack_map(&pk, S_WORKER_COMPLETE_KEYS);
    proto_field_pack_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    proto_field_pack_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    proto_field_pack_str(&pk, node_id);
}

void proto_encode_master_spawning_complete(apex_buf_t *out, int64_t user_count,
                                           const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawning_complete");
    msgpack_pack_map(&pk, S_MASTER_COMPLETE_KEYS);
    proto_field_pack_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    proto_field_pack_str(&pk, node_id);
}

void proto_encode_ack(apex_buf_t *out, int64_t index, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "ack");
    msgpack_pack_map(&pk, S_ACK_KEYS);
    proto_field_pack_str(&pk, "index");
    msgpack_pack_int64(&pk, index);
    proto_field_pack_str(&pk, node_id);
}

// parsed_options: what Locust's workers read, then our extensions.
static void s_pack_options(msgpack_packer *pk, const char *host,
                           const proto_spawn_options_t *options)
{
    bool scenario = options && options->scenario;
    bool arrival = options && options->arrival;
    bool position = options && options->worker_count > 0;
    bool http = options && (options->http_engine || options->http_debug);
    msgpack_pack_map(pk, S_SPAWN_OPTION_KEYS + (scenario ? 1 : 0) +
                             (arrival ? 1 : 0) + (position ? 2 : 0) +
                             (http ? 1 : 0));
    proto_field_pack_str(pk, "host");
    s_str_or_nil(pk, host);
    proto_field_pack_str(pk, "num_users");
    if (options && options->num_users >= 0)
        msgpack_pack_int64(pk, options->num_users);
    else
        msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "spawn_rate");
    if (options && options->spawn_rate >= 0)
        msgpack_pack_double(pk, options->spawn_rate);
    else
        msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "tags");
    msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "exclude_tags");
    msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "reset_stats");
    if (options && options->reset_stats)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (scenario) {
        proto_field_pack_str(pk, PROTO_SCENARIO_KEY);
        proto_field_pack_str(pk, options->scenario);
    }
    if (arrival) {
        proto_field_pack_str(pk, PROTO_ARRIVAL_KEY);
        msgpack_pack_map(pk, S_ARRIVAL_KEYS);
        proto_field_pack_str(pk, "rate");
        msgpack_pack_double(pk, options->arrival_rate);
        proto_field_pack_str(pk, "max_users");
        msgpack_pack_int64(pk, options->arrival_max_users);
    }
    if (http) {
        proto_field_pack_str(pk, PROTO_HTTP_KEY);
        msgpack_pack_map(pk, S_HTTP_KEYS);
        proto_field_pack_str(pk, "engine");
        if (options->http_engine)
            proto_field_pack_str(pk,
                                 apex_http_engine_name(
                                     (apex_http_engine_t)options->http_engine));
        else
            msgpack_pack_nil(pk);
        proto_field_pack_str(pk, "debug");
        msgpack_pack_int64(pk, options->http_debug);
    }
    if (position) {
        proto_field_pack_str(pk, PROTO_WORKER_INDEX_KEY);
        msgpack_pack_int64(pk, options->worker_position);
        proto_field_pack_str(pk, PROTO_WORKER_COUNT_KEY);
        msgpack_pack_int64(pk, options->worker_count);
    }
}

void proto_encode_spawn(apex_buf_t *out, double timestamp,
                        const proto_count_t *counts, size_t ncounts,
                        const char *host, double stop_timeout,
                        const proto_spawn_options_t *options,
                        const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawn");
    msgpack_pack_map(&pk, S_SPAWN_KEYS);
    proto_field_pack_str(&pk, "timestamp");
    msgpack_pack_double(&pk, timestamp);
    proto_field_pack_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    proto_field_pack_str(&pk, "host");
    s_str_or_nil(&pk, host);
    proto_field_pack_str(&pk, "stop_timeout");
    if (stop_timeout >= 0)
        msgpack_pack_double(&pk, stop_timeout);
    else
        msgpack_pack_nil(&pk);
    proto_field_pack_str(&pk, "parsed_options");
    s_pack_options(&pk, host, options);
    proto_field_pack_str(&pk, node_id);
}

void proto_encode_exception(apex_buf_t *out, const char *msg,
                            const char *traceback, const char *node_id)
{
    proto_encode_exception_count(out, msg, traceback, 1, node_id);
}

void proto_encode_exception_count(apex_buf_t *out, const char *msg,
                                  const char *traceback, uint64_t count,
                                  const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "exception");
    msgpack_pack_map(&pk, S_EXCEPTION_KEYS + (count != 1 ? 1 : 0));
    proto_field_pack_str(&pk, "msg");
    proto_field_pack_str(&pk, msg);
    proto_field_pack_str(&pk, "traceback");
    proto_field_pack_str(&pk, traceback);
    if (count != 1) {
        proto_field_pack_str(&pk, PROTO_EXCEPTION_COUNT_KEY);
        msgpack_pack_uint64(&pk, count);
    }
    proto_field_pack_str(&pk, node_id);
}
