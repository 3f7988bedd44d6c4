// tests/unit/test_proto_fields.c - hostile values, field by field.
// Frames of stats, heartbeat and spawn are built with msgpack-c's packer
// from tables of fields; each case changes one field (a wrong type,
// NaN, infinity, a negative, fractional or absurd value, or the key left
// out) and decoding must refuse it with an error naming the field's path,
// or accept it when the field is optional. Undamaged, the frames decode
// to what was put in.
#include "tests/unit/tests.h"

#include <math.h>
#include <msgpack.h>

#include "proto/proto.h"
#include "tests/unit/proto_util.h"

// Bad values (more in proto_util.h).
static void s_v_neg(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -1);
}
static void s_v_far(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1e19); // a timestamp no clock will show
}
static void s_v_nan(msgpack_packer *pk)
{
    msgpack_pack_double(pk, NAN);
}
static void s_v_inf(msgpack_packer *pk)
{
    msgpack_pack_double(pk, INFINITY);
}
static void s_v_huge(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1e300);
}
static void s_v_true(msgpack_packer *pk)
{
    msgpack_pack_true(pk);
}
static void s_v_2_53(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 1ULL << 53);
}
static void s_v_2_40(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 1ULL << 40);
}
static void s_v_u64_max(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, UINT64_MAX);
}
static void s_v_99(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 99);
}
static void s_v_junk_bin(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 4);
    msgpack_pack_bin_body(pk, "junk", 4);
}
static void s_v_map_neg_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1795737094);
    msgpack_pack_int(pk, -1);
}
static void s_v_map_neg_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, -5);
    msgpack_pack_int(pk, 1);
}
static void s_v_map_nan_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_double(pk, NAN);
    msgpack_pack_int(pk, 1);
}
static void s_v_map_huge_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_double(pk, 1e300);
    msgpack_pack_int(pk, 1);
}
static void s_v_map_frac_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_double(pk, 0.5);
}
static void s_v_map_int_class(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 5);
    msgpack_pack_int(pk, 1);
}
static void s_v_class_text(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "HealthUser");
    proto_test_str(pk, "2");
}
static void s_v_class_huge(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "HealthUser");
    msgpack_pack_int64(pk, 1LL << 31);
}

// Good values.
static void s_v_ts(msgpack_packer *pk)
{
    msgpack_pack_double(pk, PROTO_TEST_T0);
}
static void s_v_ts_later(msgpack_packer *pk)
{
    msgpack_pack_double(pk, PROTO_TEST_T0 + 2.5);
}
static void s_v_10(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 10);
}
static void s_v_0(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 0);
}
static void s_v_1(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 1);
}
static void s_v_total_ms(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 20.5);
}
static void s_v_max_ms(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 5.5);
}
static void s_v_min_ms(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 0.5);
}
static void s_v_150(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 150);
}
static void s_v_rt(msgpack_packer *pk)
{
    // {1: 5, 2: 4, 6.0: 1}: int and float keys.
    msgpack_pack_map(pk, 3);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 5);
    msgpack_pack_int(pk, 2);
    msgpack_pack_int(pk, 4);
    msgpack_pack_double(pk, 6.0);
    msgpack_pack_int(pk, 1);
}
static void s_v_reqs(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    msgpack_pack_int64(pk, PROTO_TEST_SEC0);
    msgpack_pack_int(pk, 4);
    msgpack_pack_double(pk, PROTO_TEST_SEC0 + 1.0); // a float key
    msgpack_pack_int(pk, 6);
}
static void s_v_fails(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int64(pk, PROTO_TEST_SEC0 + 1);
    msgpack_pack_int(pk, 1);
}
static void s_v_classes(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    proto_test_str(pk, "HealthUser");
    msgpack_pack_int(pk, 3);
    proto_test_str(pk, "OtherUser");
    msgpack_pack_double(pk, 1.0); // a float count
}
static void s_v_4(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 4);
}
static void s_v_get(msgpack_packer *pk)
{
    proto_test_str(pk, "GET");
}
static void s_v_health(msgpack_packer *pk)
{
    proto_test_str(pk, "/health");
}
static void s_v_error_text(msgpack_packer *pk)
{
    proto_test_str(pk, PROTO_TEST_ERR_HEALTH);
}
static void s_v_3(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 3);
}
static void s_v_running(msgpack_packer *pk)
{
    proto_test_str(pk, "running");
}
static void s_v_cpu(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
}
static void s_v_memory(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, 12345678);
}
static void s_v_version(msgpack_packer *pk)
{
    proto_test_str(pk, "0.3.1");
}
static void s_v_host(msgpack_packer *pk)
{
    proto_test_str(pk, "http://127.0.0.1:8088");
}
static void s_v_scenario(msgpack_packer *pk)
{
    proto_test_str(pk, "{}");
}

// A hostile change to one map: in map `where`, `key` gets fn's value
// (added if the map has no such key), or is left out when fn is NULL.
typedef struct {
    const char *where;       // "top", "entry", "total", "error", "heartbeat",
                             // "spawn", "options"
    const char *key;         // field
    proto_test_value_fn *fn; // bad value, or NULL to drop the key
    const char *expect;      // substring of the error, NULL if tolerated
} s_bad_t;

// A value that is itself a map and may hold the bad field.
typedef void(s_nested_fn)(msgpack_packer *pk, const s_bad_t *bad);

typedef struct {
    const char *key;         // field name
    proto_test_value_fn *fn; // its good value, or
    s_nested_fn *nested;     // a nested value
} s_field_t;

// Write the map `where` made of fields, with bad applied if it is ours.
static void s_pack_map(msgpack_packer *pk, const char *where,
                       const s_field_t *fields, size_t n, const s_bad_t *bad)
{
    bool mine = bad && strcmp(bad->where, where) == 0;
    bool known = false;
    for (size_t i = 0; mine && i < n; i++)
        known = known || strcmp(fields[i].key, bad->key) == 0;
    size_t size = n;
    if (mine && known && !bad->fn)
        size--;
    if (mine && !known && bad->fn)
        size++;
    msgpack_pack_map(pk, size);
    for (size_t i = 0; i < n; i++) {
        if (mine && strcmp(fields[i].key, bad->key) == 0) {
            if (bad->fn) {
                proto_test_str(pk, fields[i].key);
                bad->fn(pk);
            }
            continue;
        }
        proto_test_str(pk, fields[i].key);
        if (fields[i].nested)
            fields[i].nested(pk, bad);
        else
            fields[i].fn(pk);
    }
    if (mine && !known && bad->fn) {
        proto_test_str(pk, bad->key);
        bad->fn(pk);
    }
}

static const s_field_t s_entry_fields[] = {
    {"name", s_v_health, NULL},
    {"method", s_v_get, NULL},
    {"last_request_timestamp", s_v_ts_later, NULL},
    {"start_time", s_v_ts, NULL},
    {"num_requests", s_v_10, NULL},
    {"num_none_requests", s_v_0, NULL},
    {"num_failures", s_v_1, NULL},
    {"total_response_time", s_v_total_ms, NULL},
    {"max_response_time", s_v_max_ms, NULL},
    {"min_response_time", s_v_min_ms, NULL},
    {"total_content_length", s_v_150, NULL},
    {"response_times", s_v_rt, NULL},
    {"num_reqs_per_sec", s_v_reqs, NULL},
    {"num_fail_per_sec", s_v_fails, NULL},
};
#define S_NENTRY (sizeof s_entry_fields / sizeof s_entry_fields[0])

// Two entries; a bad entry field goes into the second, so its path says
// "$.stats[1]". The first is named "x" so the two do not merge.
static void s_n_stats_list(msgpack_packer *pk, const s_bad_t *bad)
{
    msgpack_pack_array(pk, 2);
    s_field_t first[S_NENTRY];
    memcpy(first, s_entry_fields, sizeof first);
    first[0].fn = proto_test_v_text;
    s_pack_map(pk, "entry", first, S_NENTRY, NULL);
    s_pack_map(pk, "entry", s_entry_fields, S_NENTRY, bad);
}

static void s_n_total(msgpack_packer *pk, const s_bad_t *bad)
{
    s_pack_map(pk, "total", s_entry_fields, S_NENTRY, bad);
}

static void s_n_error(msgpack_packer *pk, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"name", s_v_health, NULL},      {"method", s_v_get, NULL},
        {"error", s_v_error_text, NULL}, {"occurrences", s_v_3, NULL},
        {"first_seen", s_v_ts, NULL},    {"last_seen", s_v_ts_later, NULL},
    };
    s_pack_map(pk, "error", fields, sizeof fields / sizeof fields[0], bad);
}

static void s_n_errors(msgpack_packer *pk, const s_bad_t *bad)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, PROTO_TEST_KEY_HEALTH);
    s_n_error(pk, bad);
}

// A stats frame with one bad field somewhere (or none).
static void s_stats_frame(proto_test_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"stats", NULL, s_n_stats_list},
        {"stats_total", NULL, s_n_total},
        {"errors", NULL, s_n_errors},
        {"user_classes_count", s_v_classes, NULL},
        {"user_count", s_v_4, NULL},
    };
    msgpack_pack_array(&w->pk, 3);
    proto_test_str(&w->pk, "stats");
    s_pack_map(&w->pk, "top", fields, 5, bad);
    proto_test_str(&w->pk, PROTO_TEST_NODE);
}

static void s_heartbeat_frame(proto_test_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"state", s_v_running, NULL},
        {"current_cpu_usage", s_v_cpu, NULL},
        {"current_memory_usage", s_v_memory, NULL},
        {"apex_version", s_v_version, NULL},
    };
    msgpack_pack_array(&w->pk, 3);
    proto_test_str(&w->pk, "heartbeat");
    s_pack_map(&w->pk, "heartbeat", fields, 4, bad);
    proto_test_str(&w->pk, PROTO_TEST_NODE);
}

static void s_n_options(msgpack_packer *pk, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"apex_scenario", s_v_scenario, NULL},
        {"num_users", s_v_4, NULL},
        {"tags", proto_test_v_nil, NULL},
    };
    s_pack_map(pk, "options", fields, 3, bad);
}

static void s_spawn_frame(proto_test_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"timestamp", s_v_ts, NULL},
        {"user_classes_count", s_v_classes, NULL},
        {"host", s_v_host, NULL},
        {"stop_timeout", proto_test_v_nil, NULL},
        {"parsed_options", NULL, s_n_options},
    };
    msgpack_pack_array(&w->pk, 3);
    proto_test_str(&w->pk, "spawn");
    s_pack_map(&w->pk, "spawn", fields, 5, bad);
    proto_test_str(&w->pk, PROTO_TEST_NODE);
}

typedef void(s_frame_fn)(proto_test_writer_t *w, const s_bad_t *bad);

static void s_check_bad_frames(s_frame_fn *frame, const s_bad_t *bads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        proto_test_writer_t w;
        proto_test_writer_init(&w);
        frame(&w, &bads[i]);
        if (bads[i].expect) {
            proto_test_decode_bad(w.sb.data, w.sb.size, bads[i].expect);
        } else { // tolerated
            proto_msg_t *msg = proto_test_decode_ok(w.sb.data, w.sb.size);
            proto_msg_destroy(&msg);
        }
        msgpack_sbuffer_destroy(&w.sb);
    }
}

static void s_test_built_frames(void)
{
    // The frames as built, without damage, decode to what was put in.
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    s_stats_frame(&w, NULL);
    proto_msg_t *msg = proto_test_decode_ok(w.sb.data, w.sb.size);
    CHECK_EQ(apex_stats_size(msg->stats), 2);
    const apex_stats_entry_t *e = apex_stats_find(msg->stats, "GET", "/health");
    CHECK(e == apex_stats_at(msg->stats, 1));
    CHECK_EQ(e->num_requests, 10);
    CHECK_EQ(e->num_failures, 1);
    CHECK_EQ(e->total_response_us, 20500);
    CHECK_EQ(e->max_response_us, 5500);
    CHECK_EQ(e->min_response_us, 500);
    CHECK_EQ(e->total_content_length, 150);
    CHECK(e->start_time == PROTO_TEST_T0);
    CHECK(e->last_request_timestamp == PROTO_TEST_T0 + 2.5);
    static const int64_t keys[] = {1, 2, 6};
    static const uint64_t counts[] = {5, 4, 1};
    proto_test_check_buckets(e, keys, counts, 3);
    CHECK_EQ(proto_test_sec(e, PROTO_TEST_SEC0, false), 4);
    CHECK_EQ(proto_test_sec(e, PROTO_TEST_SEC0 + 1, false),
             6); // from a float key
    CHECK_EQ(proto_test_sec(e, PROTO_TEST_SEC0 + 1, true), 1);
    CHECK_EQ(apex_stats_error_count(msg->stats), 1);
    CHECK_EQ(apex_stats_error_at(msg->stats, 0)->occurrences, 3);
    CHECK_EQ(msg->ncounts, 2);
    CHECK_EQ(msg->counts[1].count, 1); // 1.0 accepted as a count
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);

    proto_test_writer_init(&w);
    s_heartbeat_frame(&w, NULL);
    msg = proto_test_decode_ok(w.sb.data, w.sb.size);
    CHECK_STR(msg->state, "running");
    CHECK(msg->cpu_usage == 1.5);
    CHECK_EQ(msg->memory_usage, 12345678);
    CHECK_STR(msg->apex_version, "0.3.1");
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);

    proto_test_writer_init(&w);
    s_spawn_frame(&w, NULL);
    msg = proto_test_decode_ok(w.sb.data, w.sb.size);
    CHECK_STR(msg->scenario, "{}");
    CHECK(msg->stop_timeout == -1);
    CHECK_EQ(msg->ncounts, 2);
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);
}

// One bad field of a stats frame each, and what the error must say.
static const s_bad_t s_bad_stats[] = {
    // Counts: strings, negatives, fractions, NaN, beyond 2^53, absent.
    {"entry", "num_requests", proto_test_v_text,
     "stats: $.stats[1].num_requests: expected a non-negative integer"},
    {"entry", "num_requests", s_v_neg, "$.stats[1].num_requests"},
    {"entry", "num_requests", proto_test_v_frac, "$.stats[1].num_requests"},
    {"entry", "num_requests", s_v_nan, "$.stats[1].num_requests"},
    {"entry", "num_requests", s_v_inf, "$.stats[1].num_requests"},
    {"entry", "num_requests", s_v_2_53, "$.stats[1].num_requests"},
    {"entry", "num_requests", s_v_u64_max, "$.stats[1].num_requests"},
    {"entry", "num_requests", proto_test_v_nil, "$.stats[1].num_requests"},
    {"entry", "num_requests", NULL, "$.stats[1].num_requests: missing"},
    {"entry", "num_failures", proto_test_v_text, "$.stats[1].num_failures"},
    {"entry", "num_failures", s_v_neg, "$.stats[1].num_failures"},
    {"entry", "num_failures", NULL, "$.stats[1].num_failures: missing"},
    {"entry", "num_none_requests", proto_test_v_text,
     "$.stats[1].num_none_requests"},
    {"entry", "num_none_requests", s_v_99,
     "$.stats[1]: num_none_requests > num_requests"},
    {"entry", "total_content_length", s_v_neg,
     "$.stats[1].total_content_length"},
    {"entry", "total_content_length", proto_test_v_text,
     "$.stats[1].total_content_length"},
    // Times: types, NaN, infinity, negative and absurd values.
    {"entry", "total_response_time", proto_test_v_text,
     "$.stats[1].total_response_time: expected a finite number"},
    {"entry", "total_response_time", s_v_nan,
     "$.stats[1].total_response_time: expected a finite number"},
    {"entry", "total_response_time", s_v_inf, "$.stats[1].total_response_time"},
    {"entry", "total_response_time", s_v_neg,
     "$.stats[1].total_response_time: response time out of range"},
    {"entry", "total_response_time", s_v_huge,
     "$.stats[1].total_response_time: response time out of range"},
    {"entry", "total_response_time", NULL,
     "$.stats[1].total_response_time: missing"},
    {"entry", "max_response_time", proto_test_v_text,
     "$.stats[1].max_response_time"},
    {"entry", "max_response_time", s_v_huge, "$.stats[1].max_response_time"},
    {"entry", "min_response_time", proto_test_v_text,
     "$.stats[1].min_response_time"},
    {"entry", "min_response_time", s_v_nan, "$.stats[1].min_response_time"},
    {"entry", "min_response_time", s_v_neg,
     "$.stats[1].min_response_time: response time out of range"},
    {"entry", "start_time", proto_test_v_text,
     "$.stats[1].start_time: expected a finite number"},
    {"entry", "start_time", s_v_neg, "$.stats[1]: timestamp out of range"},
    {"entry", "last_request_timestamp", s_v_inf,
     "$.stats[1].last_request_timestamp"},
    {"entry", "last_request_timestamp", s_v_neg,
     "$.stats[1]: timestamp out of range"},
    {"entry", "last_request_timestamp", s_v_far,
     "$.stats[1]: timestamp out of range"},
    // Names.
    {"entry", "name", NULL, "$.stats[1].name: missing"},
    {"entry", "name", proto_test_v_int, "$.stats[1].name: expected a string"},
    {"entry", "name", proto_test_v_nil, "$.stats[1].name"},
    {"entry", "method", proto_test_v_int,
     "$.stats[1].method: expected a string"},
    // The histogram, Locust's and ours.
    {"entry", "response_times", proto_test_v_text,
     "$.stats[1].response_times: expected a map"},
    {"entry", "response_times", NULL, "$.stats[1].response_times: missing"},
    {"entry", "response_times", proto_test_v_map_str_key,
     "$.stats[1].response_times: expected milliseconds as keys"},
    {"entry", "response_times", s_v_map_neg_key,
     "$.stats[1].response_times: expected milliseconds"},
    {"entry", "response_times", s_v_map_nan_key,
     "$.stats[1].response_times: expected milliseconds"},
    {"entry", "response_times", s_v_map_huge_key,
     "$.stats[1].response_times: expected milliseconds"},
    {"entry", "response_times", s_v_map_neg_value,
     "$.stats[1].response_times: expected counts as values"},
    {"entry", "response_times", s_v_map_frac_value,
     "$.stats[1].response_times: expected counts"},
    {"entry", PROTO_HIST_KEY, s_v_junk_bin,
     "$.stats[1].apex_hist: histogram: 4 bytes"},
    {"entry", PROTO_HIST_KEY, proto_test_v_text,
     "$.stats[1].apex_hist: expected bytes"},
    {"entry", PROTO_HIST_KEY, proto_test_v_int, "$.stats[1].apex_hist"},
    // Per-second maps.
    {"entry", "num_reqs_per_sec", proto_test_v_text,
     "$.stats[1].num_reqs_per_sec: expected a map"},
    {"entry", "num_reqs_per_sec", proto_test_v_map_str_key,
     "$.stats[1].num_reqs_per_sec: expected unix seconds as keys"},
    {"entry", "num_reqs_per_sec", s_v_map_neg_key,
     "$.stats[1].num_reqs_per_sec: expected unix seconds"},
    {"entry", "num_reqs_per_sec", s_v_map_huge_key,
     "$.stats[1].num_reqs_per_sec: expected unix seconds"},
    {"entry", "num_reqs_per_sec", s_v_map_neg_value,
     "$.stats[1].num_reqs_per_sec: expected counts as values"},
    {"entry", "num_fail_per_sec", proto_test_v_list,
     "$.stats[1].num_fail_per_sec: expected a map"},
    {"entry", "num_fail_per_sec", s_v_map_frac_value,
     "$.stats[1].num_fail_per_sec: expected counts"},
    // The total, the errors, the counts.
    {"total", "num_requests", proto_test_v_text,
     "stats: $.stats_total.num_requests: expected a non-negative"},
    {"total", "total_response_time", s_v_nan,
     "$.stats_total.total_response_time"},
    {"total", "response_times", s_v_true, "$.stats_total.response_times"},
    {"total", PROTO_HIST_KEY, s_v_junk_bin, "$.stats_total.apex_hist"},
    {"error", "occurrences", proto_test_v_text, "$.errors[0].occurrences"},
    {"error", "occurrences", s_v_neg, "$.errors[0].occurrences"},
    {"error", "occurrences", NULL, "$.errors[0].occurrences: missing"},
    {"error", "name", proto_test_v_int, "$.errors[0].name: expected a string"},
    {"error", "error", proto_test_v_list,
     "$.errors[0].error: expected a string"},
    {"error", "first_seen", proto_test_v_text, "$.errors[0].first_seen"},
    {"error", "last_seen", s_v_nan, "$.errors[0].last_seen"},
    {"top", "stats", proto_test_v_text, "stats: $.stats: expected a list"},
    {"top", "stats", NULL, "$.stats: expected a list"},
    {"top", "stats", proto_test_v_list, "$.stats[0]"},
    {"top", "stats_total", NULL, "$.stats_total: missing"},
    {"top", "stats_total", proto_test_v_int, "$.stats_total: expected a map"},
    {"top", "errors", proto_test_v_list, "$.errors: expected a map"},
    {"top", "errors", s_v_map_int_class, "$.errors[0]: expected a key"},
    {"top", "errors", proto_test_v_map_str_key, "$.errors[0]: expected a map"},
    {"top", "user_classes_count", proto_test_v_text,
     "$.user_classes_count: expected a map of class name to count"},
    {"top", "user_classes_count", s_v_map_int_class,
     "$.user_classes_count: expected class names as keys"},
    {"top", "user_classes_count", proto_test_v_class_neg,
     "$.user_classes_count.HealthUser: expected a user count"},
    {"top", "user_classes_count", s_v_class_text,
     "$.user_classes_count.HealthUser"},
    {"top", "user_classes_count", s_v_class_huge,
     "$.user_classes_count.HealthUser"},
    {"top", "user_count", s_v_neg, "$.user_count: expected a user count"},
    {"top", "user_count", proto_test_v_text, "$.user_count"},
    {"top", "user_count", proto_test_v_frac, "$.user_count"},
    // Tolerated: optional fields left out or None, unknown keys,
    // None for apex_hist (falls back to response_times).
    {"entry", "method", NULL, NULL},
    {"entry", "min_response_time", proto_test_v_nil, NULL},
    {"entry", "last_request_timestamp", proto_test_v_nil, NULL},
    {"entry", "num_none_requests", NULL, NULL},
    {"entry", "num_reqs_per_sec", NULL, NULL},
    {"entry", "num_fail_per_sec", proto_test_v_nil, NULL},
    {"entry", PROTO_HIST_KEY, proto_test_v_nil, NULL},
    {"entry", "extra", proto_test_v_list, NULL},
    {"error", "first_seen", NULL, NULL},
    {"error", "error", NULL, NULL},
    {"top", "errors", NULL, NULL},
    {"top", "user_count", NULL, NULL},
    {"top", "user_classes_count", proto_test_v_nil, NULL},
};

static void s_test_bad_stats(void)
{
    s_check_bad_frames(s_stats_frame, s_bad_stats,
                       sizeof s_bad_stats / sizeof s_bad_stats[0]);
}

// Data of the wrong type.
static void s_test_stats_not_a_map(void)
{
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    proto_test_str(&w.pk, "stats");
    msgpack_pack_int(&w.pk, 5);
    proto_test_str(&w.pk, PROTO_TEST_NODE);
    proto_test_decode_bad(w.sb.data, w.sb.size, "stats: $: expected a map");
    msgpack_sbuffer_destroy(&w.sb);
}

// An error key longer than a sha256.
static void s_test_error_key_too_long(void)
{
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    proto_test_str(&w.pk, "stats");
    msgpack_pack_map(&w.pk, 3);
    proto_test_str(&w.pk, "stats");
    msgpack_pack_array(&w.pk, 0);
    proto_test_str(&w.pk, "stats_total");
    s_n_total(&w.pk, NULL);
    proto_test_str(&w.pk, "errors");
    msgpack_pack_map(&w.pk, 1);
    proto_test_str(&w.pk, PROTO_TEST_KEY_HEALTH "0");
    s_n_error(&w.pk, NULL);
    proto_test_str(&w.pk, PROTO_TEST_NODE);
    proto_test_decode_bad(w.sb.data, w.sb.size,
                          "$.errors[0]: expected a key of at most 64 chars");
    msgpack_sbuffer_destroy(&w.sb);
}

// Float and int keys for the same bucket merge: {120.0: 3, 120: 4}.
static void s_test_float_and_int_keys(void)
{
    proto_test_writer_t w;
    proto_test_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    proto_test_str(&w.pk, "stats");
    msgpack_pack_map(&w.pk, 2);
    proto_test_str(&w.pk, "stats");
    msgpack_pack_array(&w.pk, 0);
    proto_test_str(&w.pk, "stats_total");
    msgpack_pack_map(&w.pk, 6);
    proto_test_str(&w.pk, "num_requests");
    msgpack_pack_int(&w.pk, 7);
    proto_test_str(&w.pk, "num_failures");
    msgpack_pack_int(&w.pk, 0);
    proto_test_str(&w.pk, "total_response_time");
    msgpack_pack_int(&w.pk, 840); // an int, as FastHttpUser sends
    proto_test_str(&w.pk, "max_response_time");
    msgpack_pack_int(&w.pk, 120);
    proto_test_str(&w.pk, "min_response_time");
    msgpack_pack_int(&w.pk, 120);
    proto_test_str(&w.pk, "response_times");
    msgpack_pack_map(&w.pk, 2);
    msgpack_pack_double(&w.pk, 120.0);
    msgpack_pack_int(&w.pk, 3);
    msgpack_pack_int(&w.pk, 120);
    msgpack_pack_int(&w.pk, 4);
    proto_test_str(&w.pk, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_ok(w.sb.data, w.sb.size);
    const apex_stats_entry_t *t = apex_stats_total_const(msg->stats);
    static const int64_t key120[] = {120};
    static const uint64_t count7[] = {7};
    proto_test_check_buckets(t, key120, count7, 1);
    CHECK_EQ(t->total_response_us, 840000);
    CHECK_EQ(t->min_response_us, 120000);
    CHECK_EQ(apex_stats_entry_percentile_ms(t, .5), 120);
    CHECK(apex_stats_entry_median_ms(t) == 120);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, -1);
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_test_bad_heartbeat_spawn(void)
{
    static const s_bad_t beats[] = {
        {"heartbeat", "state", NULL, "heartbeat: $.state: missing"},
        {"heartbeat", "state", proto_test_v_int, "$.state: expected a string"},
        {"heartbeat", "state", proto_test_v_nil,
         "$.state: expected a string, got nil"},
        {"heartbeat", "current_cpu_usage", proto_test_v_text,
         "heartbeat: $.current_cpu_usage: expected a finite number"},
        {"heartbeat", "current_cpu_usage", s_v_nan, "$.current_cpu_usage"},
        {"heartbeat", "current_cpu_usage", s_v_inf, "$.current_cpu_usage"},
        {"heartbeat", "current_cpu_usage", NULL,
         "$.current_cpu_usage: missing"},
        {"heartbeat", "current_memory_usage", proto_test_v_text,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_nan,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_huge,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_neg,
         "$.current_memory_usage"},
        {"heartbeat", "apex_version", proto_test_v_int,
         "$.apex_version: expected a string"},
        // Tolerated: no memory or version (they are optional).
        {"heartbeat", "current_memory_usage", NULL, NULL},
        {"heartbeat", "apex_version", NULL, NULL},
        {"heartbeat", "apex_version", proto_test_v_nil, NULL},
        {"heartbeat", "current_memory_usage", s_v_2_40, NULL},
    };
    s_check_bad_frames(s_heartbeat_frame, beats,
                       sizeof beats / sizeof beats[0]);

    static const s_bad_t spawns[] = {
        {"spawn", "user_classes_count", NULL,
         "spawn: $.user_classes_count: missing"},
        {"spawn", "user_classes_count", proto_test_v_text,
         "$.user_classes_count: expected a map"},
        {"spawn", "user_classes_count", proto_test_v_class_neg,
         "$.user_classes_count.HealthUser: expected a user count"},
        {"spawn", "user_classes_count", s_v_map_frac_value,
         "$.user_classes_count: expected class names"},
        {"spawn", "user_classes_count", s_v_class_huge,
         "$.user_classes_count.HealthUser"},
        {"spawn", "timestamp", NULL, "spawn: $.timestamp: missing"},
        {"spawn", "timestamp", proto_test_v_text,
         "$.timestamp: expected a finite"},
        {"spawn", "timestamp", s_v_nan, "$.timestamp"},
        {"spawn", "host", proto_test_v_int, "$.host: expected a string"},
        {"spawn", "stop_timeout", proto_test_v_text,
         "$.stop_timeout: expected a finite number"},
        {"spawn", "stop_timeout", s_v_inf, "$.stop_timeout"},
        {"options", "apex_scenario", proto_test_v_int,
         "$.parsed_options.apex_scenario: expected a string"},
        // Tolerated: no host, no options, options of another shape.
        {"spawn", "host", proto_test_v_nil, NULL},
        {"spawn", "host", NULL, NULL},
        {"spawn", "parsed_options", NULL, NULL},
        {"spawn", "parsed_options", proto_test_v_list, NULL},
        {"options", "apex_scenario", NULL, NULL},
        {"spawn", "stop_timeout", NULL, NULL},
    };
    s_check_bad_frames(s_spawn_frame, spawns, sizeof spawns / sizeof spawns[0]);
}

void test_proto_fields(bool verbose)
{
    (void)verbose;
    s_test_built_frames();
    s_test_bad_stats();
    s_test_stats_not_a_map();
    s_test_error_key_too_long();
    s_test_float_and_int_keys();
    s_test_bad_heartbeat_spawn();
}
