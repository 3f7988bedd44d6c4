// tests/fuzz/fuzz_proto.c - proto_decode() on any bytes a peer could send
// over ZeroMQ. A decoded message is then used as the programs use it: a
// stats delta is merged into the master's totals and every figure the web
// API and the reports show is computed from them; a spawn's scenario is
// parsed as a worker would; the message is encoded again and decoded.
#include <math.h>

#include "common/buf.h"
#include "common/histogram.h"
#include "common/scenario.h"
#include "common/stats.h"
#include "proto/proto.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_NOW 1700000000.0 // a fixed "now" so runs are reproducible

static const double s_percentiles[] = {0, 0.5, 0.95, 0.99, 0.999, 1};

// Every figure the master derives from an entry (web API, reports, CSV).
static void s_entry_figures(const apex_stats_t *stats,
                            const apex_stats_entry_t *e)
{
    volatile double sink = 0;
    sink += apex_stats_entry_avg_ms(e);
    sink += apex_stats_entry_min_ms(e);
    sink += apex_stats_entry_max_ms(e);
    sink += apex_stats_entry_median_ms(e);
    for (size_t i = 0; i < sizeof s_percentiles / sizeof s_percentiles[0]; i++)
        sink += (double)apex_stats_entry_percentile_ms(e, s_percentiles[i]);
    sink += apex_stats_entry_fail_ratio(e);
    sink += apex_stats_entry_avg_content_length(e);
    sink += apex_stats_total_rps(stats, e, false);
    sink += apex_stats_total_rps(stats, e, true);
    sink += apex_stats_current_rps(stats, e, false);
    sink += apex_stats_current_rps(stats, e, true);
    apex_locust_bucket_t *buckets =
        apex_calloc(APEX_HISTOGRAM_BUCKETS, sizeof *buckets);
    size_t n =
        apex_histogram_to_locust(e->hist, buckets, APEX_HISTOGRAM_BUCKETS);
    FUZZ_CHECK(n <= APEX_HISTOGRAM_BUCKETS, "%zu Locust buckets", n);
    for (size_t i = 1; i < n; i++)
        FUZZ_CHECK(buckets[i - 1].ms < buckets[i].ms,
                   "Locust keys out of order at %zu", i);
    free(buckets);
    (void)sink;
}

// What master.c's s_on_stats() does with a delta, then the figures.
static void s_merge_stats(const proto_msg_t *msg)
{
    const apex_stats_t *delta = msg->stats;
    apex_stats_t *totals = apex_stats_new(FUZZ_NOW);
    for (int round = 0; round < 2; round++) { // twice: entries then exist
        for (size_t i = 0; i < apex_stats_size(delta); i++) {
            const apex_stats_entry_t *src = apex_stats_at(delta, i);
            apex_stats_entry_t *dst =
                apex_stats_get(totals, src->method, src->name, FUZZ_NOW);
            apex_stats_entry_merge(dst, src);
        }
        apex_stats_entry_merge(apex_stats_total(totals),
                               apex_stats_total_const(delta));
        for (size_t i = 0; i < apex_stats_error_count(delta); i++)
            apex_stats_merge_error(totals, apex_stats_error_at(delta, i));
    }
    apex_stats_entry_t **sorted = apex_stats_sorted(totals);
    for (size_t i = 0; i < apex_stats_size(totals); i++)
        s_entry_figures(totals, sorted[i]);
    free(sorted);
    s_entry_figures(totals, apex_stats_total_const(totals));
    apex_stats_destroy(&totals);
}

// Encode the message again (where an encoder for its type exists) and
// decode that; the result is not compared, only used and freed.
static void s_reencode(const proto_msg_t *msg)
{
    apex_buf_t out;
    apex_buf_init(&out);
    const char *node = msg->node_id;
    switch (msg->type) {
    case PROTO_STATS: {
        proto_stats_extra_t extra = {
            .iterations = msg->iterations,
            .dropped_iterations = msg->dropped_iterations,
            .counters = msg->counters,
            .ncounters = msg->ncounters,
            .gauges = msg->gauges,
            .ngauges = msg->ngauges,
        };
        proto_encode_stats(&out, msg->stats, msg->counts, msg->ncounts,
                           msg->user_count, &extra, node);
        break;
    }
    case PROTO_HEARTBEAT:
        if (msg->state)
            proto_encode_heartbeat_gauges(&out, msg->state, msg->cpu_usage,
                                          msg->memory_usage, msg->apex_version,
                                          msg->gauges, msg->ngauges, node);
        break;
    case PROTO_SPAWNING_COMPLETE:
        proto_encode_spawning_complete(&out, msg->counts, msg->ncounts,
                                       msg->user_count, node);
        break;
    case PROTO_SPAWN: {
        proto_spawn_options_t opts = {
            .scenario = msg->scenario,
            .num_users = msg->user_count,
            .spawn_rate = -1,
            .arrival = msg->arrival_rate >= 0,
            .arrival_rate = msg->arrival_rate,
            .arrival_max_users = msg->arrival_max_users,
            .reset_stats = msg->reset_stats,
            .http_engine = msg->http_engine,
            .http_debug = msg->http_debug > 0 ? msg->http_debug : 0,
            .worker_position = msg->worker_position,
            .worker_count = msg->worker_count,
        };
        proto_encode_spawn(&out, msg->timestamp, msg->counts, msg->ncounts,
                           msg->host, msg->stop_timeout, &opts, node);
        break;
    }
    case PROTO_EXCEPTION:
        proto_encode_exception(&out, msg->msg ? msg->msg : "",
                               msg->traceback ? msg->traceback : "", node);
        break;
    case PROTO_ACK:
        proto_encode_ack(&out, msg->index, node);
        break;
    case PROTO_CLIENT_READY:
        proto_encode_client_ready(&out, msg->version, node);
        break;
    default:
        proto_encode_empty(&out, msg->type_name, node);
        break;
    }
    if (out.len > 0) {
        apex_error_t err = {""};
        proto_msg_t *again = proto_decode(out.data, out.len, &err);
        proto_msg_destroy(&again);
    }
    apex_buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (!msg) {
        FUZZ_CHECK(apex_error_is_set(&err), "NULL without an error");
        return 0;
    }
    FUZZ_CHECK(msg->type_name && msg->node_id, "type or node id missing");
    (void)proto_type_name(msg->type);
    if (msg->type == PROTO_STATS) {
        FUZZ_CHECK(msg->stats, "stats message without stats");
        s_merge_stats(msg);
    }
    if (msg->type == PROTO_SPAWN && msg->scenario) {
        apex_error_t serr = {""};
        apex_scenario_t *sc = apex_scenario_parse(
            msg->scenario, strlen(msg->scenario), "spawn", &serr);
        apex_scenario_destroy(&sc);
    }
    s_reencode(msg);
    proto_msg_destroy(&msg);
    proto_msg_destroy(&msg); // a second destroy is a no-op
    return 0;
}
