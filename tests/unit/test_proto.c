// tests/unit/test_proto.c - Locust's master/worker messages.
//
// 1. Every encoder makes a round trip through proto_decode, each field
//    checked; stats keep their histograms exactly (the apex_hist
//    extension) and put Locust's keys on the wire in Locust's order.
// 2. Real frames captured from Locust 2.12.1 and 2.46.3 decode to what
//    Locust sent. They live in tests/unit/data/locust/ (made by
//    make_fixtures.py there; tests run from the top of the tree).
// 3. Hostile input never crashes and is refused with a message naming
//    the field: every truncation, seeded random and mutated bytes, size
//    bombs, deep nesting, trailing bytes, a wrong type or value in each
//    field of stats, heartbeat and spawn, broken envelopes, oversize.
#include "tests/unit/tests.h"

#include <math.h>
#include <msgpack.h>

#include "common/rng.h"
#include "common/clock.h"
#include "proto/proto.h"

#define S_FIXTURES "tests/unit/data/locust/"
#define S_NODE "vm_c77b0aa5cd9b41449dd5e17d92c3e01f"
#define S_NODE_2463 "vm_5fe1a38536744a6d97a6468f0e86e6e2"
#define S_MASTER_NODE_2121 "fakehost_18637748e0a44371bf3d109ad402d699"
#define S_T0 1795737094.2198224
#define S_SEC0 1795737094
#define S_RANDOM_FRAMES 3000  // random byte strings
#define S_MUTATED_FRAMES 3000 // valid frames with random damage
#define S_RANDOM_MAX_LEN 300  // longest random string
#define S_DEEP 1000           // nesting far beyond PROTO_MAX_DEPTH
#define S_BIG_TEXT (1u << 20) // a 1 MiB traceback
#define S_KEY_HEALTH                                                           \
    "890e1482be6c29febbbfd4918229f7eb75a55f7e0fe196c62802e3fd57b05d31"
#define S_KEY_REFUSED                                                          \
    "dd0cb59aa487825ab3e9c886599ab24a76a8c5cb51fa7fed4c523b04097d0d87"
#define S_ERR_HEALTH "CatchResponseError('body did not match')"
#define S_ERR_REFUSED "ConnectionRefusedError(111, 'Connection refused')"

// ---------------------------------------------------------------------
// Helpers

static proto_msg_t *s_decode_ok(const void *data, size_t size)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (!msg)
        fprintf(stderr, "decode of %zu bytes failed: %s\n", size, err.msg);
    CHECK(msg != NULL);
    CHECK_STR(err.msg, "");
    return msg;
}

static proto_msg_t *s_decode_buf(const apex_buf_t *buf)
{
    return s_decode_ok(buf->data, buf->len);
}

// Decoding must fail with a message that contains `what`.
static void s_decode_bad(const void *data, size_t size, const char *what)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (msg || !strstr(err.msg, what))
        fprintf(stderr, "decode of %zu bytes: %s \"%s\", expected \"%s\"\n",
                size, msg ? "accepted," : "refused:", err.msg, what);
    CHECK(msg == NULL);
    CHECK(strstr(err.msg, what) != NULL);
}

// Read a fixture; the caller frees it.
static uint8_t *s_fixture(const char *name, size_t *size)
{
    char path[256];
    snprintf(path, sizeof path, S_FIXTURES "%s.bin", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fprintf(stderr,
                "cannot open %s (run the tests from the top of the "
                "tree)\n",
                path);
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    uint8_t *data = malloc((size_t)n);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static proto_msg_t *s_decode_fixture(const char *name)
{
    size_t size;
    uint8_t *data = s_fixture(name, &size);
    proto_msg_t *msg = s_decode_ok(data, size);
    free(data);
    return msg;
}

static void s_check_counts(const proto_msg_t *msg, const char *const *names,
                           const int64_t *counts, size_t n)
{
    CHECK_EQ(msg->ncounts, n);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(msg->counts[i].name, names[i]);
        CHECK_EQ(msg->counts[i].count, counts[i]);
    }
}

static void s_check_same_hist(const apex_histogram_t *a,
                              const apex_histogram_t *b)
{
    static uint8_t ea[APEX_HISTOGRAM_ENCODE_MAX], eb[APEX_HISTOGRAM_ENCODE_MAX];
    size_t la = apex_histogram_encode(a, ea);
    size_t lb = apex_histogram_encode(b, eb);
    CHECK_EQ(la, lb);
    CHECK(memcmp(ea, eb, la) == 0);
}

static void s_check_same_entry(const apex_stats_entry_t *a,
                               const apex_stats_entry_t *b)
{
    CHECK_STR(a->method, b->method);
    CHECK_STR(a->name, b->name);
    CHECK_EQ(a->num_requests, b->num_requests);
    CHECK_EQ(a->num_none_requests, b->num_none_requests);
    CHECK_EQ(a->num_failures, b->num_failures);
    CHECK_EQ(a->total_response_us, b->total_response_us);
    CHECK_EQ(a->min_response_us, b->min_response_us);
    CHECK_EQ(a->max_response_us, b->max_response_us);
    CHECK_EQ(a->total_content_length, b->total_content_length);
    CHECK(a->start_time == b->start_time);
    CHECK(a->last_request_timestamp == b->last_request_timestamp);
    s_check_same_hist(a->hist, b->hist);
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        CHECK_EQ(a->seconds[i].sec, b->seconds[i].sec);
        CHECK_EQ(a->seconds[i].reqs, b->seconds[i].reqs);
        CHECK_EQ(a->seconds[i].fails, b->seconds[i].fails);
    }
}

// Per-second count of e at sec (0 when the ring does not hold it).
static uint64_t s_sec(const apex_stats_entry_t *e, int64_t sec, bool fails)
{
    const apex_stats_second_t *s =
        &e->seconds[(uint64_t)sec % APEX_STATS_SECONDS];
    if (s->sec != sec)
        return 0;
    return fails ? s->fails : s->reqs;
}

// An entry's histogram as Locust's {ms: count} map, compared with the
// expected keys and counts (ascending).
static void s_check_buckets(const apex_stats_entry_t *e, const int64_t *keys,
                            const uint64_t *counts, size_t n)
{
    apex_locust_bucket_t out[APEX_HISTOGRAM_BUCKETS];
    size_t got = apex_histogram_to_locust(e->hist, out, APEX_HISTOGRAM_BUCKETS);
    if (got != n)
        fprintf(stderr, "%s %s: %zu buckets, expected %zu\n", e->method,
                e->name, got, n);
    CHECK_EQ(got, n);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(out[i].ms, keys[i]);
        CHECK_EQ(out[i].count, counts[i]);
    }
}

// ---------------------------------------------------------------------
// 1. Round trips

static void s_test_simple_round_trips(void)
{
    apex_buf_t buf;
    apex_buf_init(&buf);

    proto_encode_client_ready(&buf, PROTO_VERSION, S_NODE);
    proto_msg_t *msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK_STR(msg->type_name, "client_ready");
    CHECK_STR(msg->node_id, S_NODE);
    CHECK(msg->has_data);
    CHECK_STR(msg->version, "2.12.1");
    CHECK(msg->stats == NULL);
    proto_msg_destroy(&msg);
    // -1: Locust's "no version check" value.
    proto_encode_client_ready(&buf, NULL, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK(msg->version == NULL);
    CHECK_EQ(msg->version_int, -1);
    proto_msg_destroy(&msg);

    // heartbeat with and without the apex_version extension.
    proto_encode_heartbeat(&buf, "running", 12.5, 1ULL << 40, "0.3.1", S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_HEARTBEAT);
    CHECK_STR(msg->state, "running");
    CHECK(msg->cpu_usage == 12.5);
    CHECK_EQ(msg->memory_usage, 1ULL << 40);
    CHECK_STR(msg->apex_version, "0.3.1");
    proto_msg_destroy(&msg);
    proto_encode_heartbeat(&buf, "ready", 0.0, 56258560, NULL, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_STR(msg->state, "ready");
    CHECK(msg->cpu_usage == 0.0);
    CHECK_EQ(msg->memory_usage, 56258560);
    CHECK(msg->apex_version == NULL);
    proto_msg_destroy(&msg);

    // spawning_complete both ways.
    static const char *const names[] = {"HealthUser", "OtherUser",
                                        "SyntheticUser"};
    static const int64_t counts[] = {2, 0, 1};
    proto_count_t pc[3];
    for (size_t i = 0; i < 3; i++) {
        pc[i].name = (char *)names[i];
        pc[i].count = counts[i];
    }
    proto_encode_spawning_complete(&buf, pc, 3, 3, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    s_check_counts(msg, names, counts, 3);
    CHECK_EQ(msg->user_count, 3);
    proto_msg_destroy(&msg);
    proto_encode_spawning_complete(&buf, NULL, 0, 0, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);
    proto_encode_master_spawning_complete(&buf, 4, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);

    // ack.
    proto_encode_ack(&buf, 0, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_ACK);
    CHECK_EQ(msg->index, 0);
    proto_msg_destroy(&msg);
    proto_encode_ack(&buf, 123456, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->index, 123456);
    proto_msg_destroy(&msg);

    // spawn: host str/None, stop_timeout None/number, scenario or not.
    proto_spawn_options_t opts = {.scenario = "{\"users\":[{\"name\":\"A\"}]}",
                                  .num_users = 4,
                                  .spawn_rate = 2.5};
    proto_encode_spawn(&buf, 1795737092.2213676, pc, 3, "http://127.0.0.1:8088",
                       -1, &opts, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_SPAWN);
    CHECK(msg->timestamp == 1795737092.2213676);
    s_check_counts(msg, names, counts, 3);
    CHECK_STR(msg->host, "http://127.0.0.1:8088");
    CHECK(msg->stop_timeout == -1);
    CHECK_STR(msg->scenario, opts.scenario);
    proto_msg_destroy(&msg);
    proto_encode_spawn(&buf, 2.0, pc, 1, NULL, 0, NULL, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK(msg->host == NULL);
    CHECK(msg->stop_timeout == 0);
    CHECK(msg->scenario == NULL);
    CHECK_EQ(msg->ncounts, 1);
    proto_msg_destroy(&msg);
    opts.scenario = NULL;
    opts.num_users = -1;
    opts.spawn_rate = -1;
    proto_encode_spawn(&buf, 3.0, NULL, 0, "h", 2.5, &opts, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_STR(msg->host, "h");
    CHECK(msg->stop_timeout == 2.5);
    CHECK(msg->scenario == NULL);
    CHECK_EQ(msg->ncounts, 0);
    proto_msg_destroy(&msg);

    // exception, with a big traceback and non-ASCII text.
    char *tb = malloc(S_BIG_TEXT + 1);
    CHECK(tb != NULL);
    for (size_t i = 0; i < S_BIG_TEXT; i++)
        tb[i] = "  File \"x.py\", line 1\n"[i % 23];
    tb[S_BIG_TEXT] = '\0';
    proto_encode_exception(&buf, "task blew up: \xc3\xa9\xe2\x82\xac", tb,
                           S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_EXCEPTION);
    CHECK_STR(msg->msg, "task blew up: \xc3\xa9\xe2\x82\xac");
    CHECK_STR(msg->traceback, tb);
    proto_msg_destroy(&msg);
    free(tb);

    // Messages without data, and types we do not handle.
    static const struct {
        const char *type;  // on the wire
        proto_type_t code; // decoded
    } empties[] = {
        {"spawning", PROTO_SPAWNING},
        {"client_stopped", PROTO_CLIENT_STOPPED},
        {"quit", PROTO_QUIT},
        {"stop", PROTO_STOP},
        {"reconnect", PROTO_RECONNECT},
        {"heartbeat", PROTO_HEARTBEAT},
        {"logs", PROTO_LOGS},
        {"ack", PROTO_ACK},
        {"pong", PROTO_UNKNOWN},
        {"update_user_class", PROTO_UNKNOWN},
        {"locustfile", PROTO_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        proto_encode_empty(&buf, empties[i].type, "");
        msg = s_decode_buf(&buf);
        CHECK_EQ(msg->type, empties[i].code);
        CHECK_STR(msg->type_name, empties[i].type);
        CHECK_STR(msg->node_id, "");
        CHECK(!msg->has_data);
        CHECK(msg->state == NULL);
        CHECK_EQ(msg->index, -1); // "absent" defaults
        CHECK_EQ(msg->user_count, -1);
        CHECK(msg->stop_timeout == -1);
        if (empties[i].code != PROTO_UNKNOWN)
            CHECK_STR(proto_type_name(empties[i].code), empties[i].type);
        proto_msg_destroy(&msg);
    }
    CHECK_STR(proto_type_name(PROTO_UNKNOWN), "unknown");
    CHECK_STR(proto_type_name((proto_type_t)999), "unknown");
    static const proto_type_t all[] = {
        PROTO_CLIENT_READY,
        PROTO_HEARTBEAT,
        PROTO_STATS,
        PROTO_SPAWNING,
        PROTO_SPAWNING_COMPLETE,
        PROTO_CLIENT_STOPPED,
        PROTO_QUIT,
        PROTO_EXCEPTION,
        PROTO_LOGS,
        PROTO_ACK,
        PROTO_SPAWN,
        PROTO_STOP,
        PROTO_RECONNECT,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK(strcmp(proto_type_name(all[i]), "unknown") != 0);

    // Encoders replace the buffer's contents; they never append.
    proto_encode_empty(&buf, "quit", S_NODE);
    size_t quit_len = buf.len;
    proto_encode_empty(&buf, "quit", S_NODE);
    CHECK_EQ(buf.len, quit_len);
    apex_buf_fini(&buf);
}

// Locust's 14 keys of a stats entry, in Locust's order, then ours.
static const char *const s_entry_keys[] = {
    "name",
    "method",
    "last_request_timestamp",
    "start_time",
    "num_requests",
    "num_none_requests",
    "num_failures",
    "total_response_time",
    "max_response_time",
    "min_response_time",
    "total_content_length",
    "response_times",
    "num_reqs_per_sec",
    "num_fail_per_sec",
    PROTO_HIST_KEY,
};
#define S_NENTRY_KEYS (sizeof s_entry_keys / sizeof s_entry_keys[0])

static bool s_obj_is(const msgpack_object *o, const char *text)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(text) &&
           memcmp(o->via.str.ptr, text, o->via.str.size) == 0;
}

static const msgpack_object *s_obj_get(const msgpack_object *map,
                                       const char *key)
{
    CHECK(map->type == MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_obj_is(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

// What Locust sees of an entry we encoded: its keys in order and a
// response_times map with the histogram's Locust buckets.
static void s_check_wire_entry(const msgpack_object *o,
                               const apex_stats_entry_t *e)
{
    CHECK(o->type == MSGPACK_OBJECT_MAP);
    CHECK_EQ(o->via.map.size, S_NENTRY_KEYS);
    for (size_t i = 0; i < S_NENTRY_KEYS; i++)
        CHECK(s_obj_is(&o->via.map.ptr[i].key, s_entry_keys[i]));
    const msgpack_object *rt = s_obj_get(o, "response_times");
    apex_locust_bucket_t b[APEX_HISTOGRAM_BUCKETS];
    size_t n = apex_histogram_to_locust(e->hist, b, APEX_HISTOGRAM_BUCKETS);
    CHECK_EQ(rt->via.map.size, n);
    for (size_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &rt->via.map.ptr[i];
        CHECK(kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER);
        CHECK_EQ(kv->key.via.u64, b[i].ms);
        CHECK_EQ(kv->val.via.u64, b[i].count);
    }
    const msgpack_object *hist = s_obj_get(o, PROTO_HIST_KEY);
    CHECK(hist->type == MSGPACK_OBJECT_BIN);
    CHECK(s_obj_get(o, "min_response_time")->type ==
          (e->min_response_us == APEX_STATS_NO_MIN ? MSGPACK_OBJECT_NIL
                                                   : MSGPACK_OBJECT_FLOAT64));
}

static void s_test_stats_round_trip(void)
{
    apex_stats_t *stats = apex_stats_new(S_T0);
    uint64_t rng = apex_rng_seed(42);
    static const char *const paths[][2] = {
        {"GET", "/health"},      {"POST", "/"},    {"GET", "/item?id=[id]"},
        {"CUSTOM", "synthetic"}, {"GET", "/idle"}, {"GET", "refused"},
    };
    for (size_t i = 0; i < 6; i++)
        apex_stats_get(stats, paths[i][0], paths[i][1], S_T0 + (double)i);
    // Random traffic over 20 seconds on the first four entries, with
    // response times from 0 to 20 s; "/idle" stays empty; "refused" only
    // fails (no response time), like a refused connection.
    for (int i = 0; i < 5000; i++) {
        apex_stats_entry_t *e = apex_stats_at(stats, (size_t)i % 4);
        double now = S_T0 + (double)(apex_rng_next(&rng) % 20000) / 1000.0;
        uint64_t us = apex_rng_next(&rng) % (i % 10 ? 200000 : 20000000);
        apex_stats_record(stats, e, us, apex_rng_next(&rng) % 5000, now);
        if (apex_rng_next(&rng) % 9 == 0)
            apex_stats_record_failure(stats, e, S_ERR_HEALTH, now);
    }
    apex_stats_entry_t *refused = apex_stats_at(stats, 5);
    for (int i = 0; i < 3; i++)
        apex_stats_record_failure(stats, refused, S_ERR_REFUSED, S_T0 + i);
    apex_stats_at(stats, 1)->num_none_requests = 7; // decoded reports do it
    static const char *const names[] = {"HealthUser", "SyntheticUser"};
    static const int64_t counts[] = {3, 1};
    proto_count_t pc[2] = {{(char *)names[0], 3}, {(char *)names[1], 1}};

    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, pc, 2, 4, NULL, S_NODE);
    proto_msg_t *msg = s_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_STATS);
    CHECK_STR(msg->node_id, S_NODE);
    s_check_counts(msg, names, counts, 2);
    CHECK_EQ(msg->user_count, 4);
    const apex_stats_t *got = msg->stats;
    CHECK(got != NULL);
    // Every non-empty entry, in order, field by field; not "/idle".
    CHECK_EQ(apex_stats_size(got), 5);
    CHECK(apex_stats_find(got, "GET", "/idle") == NULL);
    for (size_t i = 0, j = 0; i < 6; i++) {
        const apex_stats_entry_t *src = apex_stats_at(stats, i);
        if (src->num_requests == 0 && src->num_failures == 0)
            continue;
        s_check_same_entry(apex_stats_at(got, j++), src);
    }
    s_check_same_entry(apex_stats_total_const(got),
                       apex_stats_total_const(stats));
    const apex_stats_entry_t *r = apex_stats_find(got, "GET", "refused");
    CHECK_EQ(r->num_failures, 3);
    CHECK_EQ(r->num_requests, 0);
    CHECK(r->min_response_us == APEX_STATS_NO_MIN);
    // Errors: key, texts, count and times.
    CHECK_EQ(apex_stats_error_count(got), apex_stats_error_count(stats));
    for (size_t i = 0; i < apex_stats_error_count(got); i++) {
        const apex_stats_error_t *a = apex_stats_error_at(got, i);
        const apex_stats_error_t *b = apex_stats_error_at(stats, i);
        CHECK_STR(a->key, b->key);
        CHECK_STR(a->method, b->method);
        CHECK_STR(a->name, b->name);
        CHECK_STR(a->error, b->error);
        CHECK_EQ(a->occurrences, b->occurrences);
        CHECK(a->first_seen == b->first_seen);
        CHECK(a->last_seen == b->last_seen);
    }
    proto_msg_destroy(&msg);

    // What Locust reads: the keys in order and its rounded histogram.
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&up, buf.data, buf.len, &off) ==
          MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *data = &up.data.via.array.ptr[1];
    static const char *const top[] = {"stats", "stats_total", "errors",
                                      "user_classes_count", "user_count"};
    CHECK_EQ(data->via.map.size, 5);
    for (size_t i = 0; i < 5; i++)
        CHECK(s_obj_is(&data->via.map.ptr[i].key, top[i]));
    const msgpack_object *list = s_obj_get(data, "stats");
    for (size_t i = 0, j = 0; i < 6; i++) {
        const apex_stats_entry_t *src = apex_stats_at(stats, i);
        if (src->num_requests || src->num_failures)
            s_check_wire_entry(&list->via.array.ptr[j++], src);
    }
    s_check_wire_entry(s_obj_get(data, "stats_total"),
                       apex_stats_total_const(stats));
    msgpack_unpacked_destroy(&up);

    // An empty set (a worker's first report): no entries, a total with
    // None for the last request and min, and no errors.
    apex_stats_clear(stats, S_T0);
    proto_encode_stats(&buf, stats, NULL, 0, 0, NULL, S_NODE);
    msg = s_decode_buf(&buf);
    CHECK_EQ(apex_stats_size(msg->stats), 0);
    CHECK_EQ(apex_stats_error_count(msg->stats), 0);
    s_check_same_entry(apex_stats_total_const(msg->stats),
                       apex_stats_total_const(stats));
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);
    apex_stats_destroy(&stats);
    apex_buf_fini(&buf);
}

// ---------------------------------------------------------------------
// 2. Real Locust frames

static void s_test_small_fixtures(void)
{
    proto_msg_t *msg = s_decode_fixture("client_ready-2.12.1");
    CHECK_EQ(msg->type, PROTO_CLIENT_READY);
    CHECK_STR(msg->version, "2.12.1");
    CHECK_STR(msg->node_id, S_NODE);
    proto_msg_destroy(&msg);
    msg = s_decode_fixture("client_ready-2.46.3");
    CHECK_STR(msg->version, "2.46.3");
    CHECK_STR(msg->node_id, S_NODE_2463);
    proto_msg_destroy(&msg);

    static const struct {
        const char *name;  // fixture
        const char *state; // decoded
        double cpu;        // current_cpu_usage
        uint64_t memory;   // current_memory_usage
    } beats[] = {
        {"heartbeat-2.12.1-ready", "ready", 0.0, 56258560},
        {"heartbeat-2.12.1-running", "running", 2.2, 57131008},
        {"heartbeat-2.46.3-ready", "ready", 0.0, 0},
        {"heartbeat-2.46.3-running", "running", 0.0, 59375616},
    };
    for (size_t i = 0; i < sizeof beats / sizeof beats[0]; i++) {
        msg = s_decode_fixture(beats[i].name);
        CHECK_EQ(msg->type, PROTO_HEARTBEAT);
        CHECK_STR(msg->state, beats[i].state);
        CHECK(msg->cpu_usage == beats[i].cpu);
        CHECK_EQ(msg->memory_usage, beats[i].memory);
        CHECK(msg->apex_version == NULL);
        proto_msg_destroy(&msg);
    }

    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t c2121[] = {2, 1, 1};
    msg = s_decode_fixture("spawning_complete-2.12.1");
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    s_check_counts(msg, classes, c2121, 3);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);
    static const int64_t c2463[] = {1, 0, 0};
    msg = s_decode_fixture("spawning_complete-2.46.3");
    s_check_counts(msg, classes, c2463, 3);
    CHECK_EQ(msg->user_count, 1);
    proto_msg_destroy(&msg);
    msg = s_decode_fixture("spawning_complete-2.46.3-master");
    CHECK_EQ(msg->type, PROTO_SPAWNING_COMPLETE);
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);

    msg = s_decode_fixture("ack-2.12.1-master");
    CHECK_EQ(msg->type, PROTO_ACK);
    CHECK_EQ(msg->index, 0);
    CHECK_STR(msg->node_id, S_MASTER_NODE_2121);
    proto_msg_destroy(&msg);
    msg = s_decode_fixture("ack-2.46.3-master");
    CHECK_EQ(msg->index, 1);
    CHECK_STR(msg->node_id, "otherhost_1f1801f19f0c4ffa9ed6fe025dda1119");
    proto_msg_destroy(&msg);

    static const struct {
        const char *name;  // fixture
        proto_type_t type; // decoded
        const char *node;  // node id
    } empties[] = {
        {"spawning-2.12.1", PROTO_SPAWNING, S_NODE},
        {"client_stopped-2.12.1", PROTO_CLIENT_STOPPED, S_NODE},
        {"quit-2.12.1", PROTO_QUIT, S_NODE},
        {"stop-2.12.1-master", PROTO_STOP, S_MASTER_NODE_2121},
        {"reconnect-2.12.1-master", PROTO_RECONNECT, S_MASTER_NODE_2121},
        {"quit-2.12.1-master", PROTO_QUIT, S_MASTER_NODE_2121},
        {"heartbeat-2.46.3-master", PROTO_HEARTBEAT,
         "fakehost_ab3bbadef2d846d59009910340cde064"},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        msg = s_decode_fixture(empties[i].name);
        CHECK_EQ(msg->type, empties[i].type);
        CHECK(!msg->has_data);
        CHECK_STR(msg->node_id, empties[i].node);
        CHECK(msg->state == NULL);
        proto_msg_destroy(&msg);
    }

    // A custom message from a locustfile: unknown, but not an error.
    msg = s_decode_fixture("pong-2.12.1");
    CHECK_EQ(msg->type, PROTO_UNKNOWN);
    CHECK_STR(msg->type_name, "pong");
    CHECK(msg->has_data);
    proto_msg_destroy(&msg);

    // What a real master answered with "reconnect": trailing bytes.
    size_t size;
    uint8_t *data = s_fixture("malformed-trailing", &size);
    s_decode_bad(data, size, "1 trailing bytes");
    free(data);
}

static void s_test_spawn_fixtures(void)
{
    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t counts[] = {1, 0, 1};
    // 2.12.1 master: stop_timeout None, parsed_options without ours.
    proto_msg_t *msg = s_decode_fixture("spawn-2.12.1-master");
    CHECK_EQ(msg->type, PROTO_SPAWN);
    CHECK(msg->timestamp == 1795737032.874608);
    s_check_counts(msg, classes, counts, 3);
    CHECK_STR(msg->host, "http://127.0.0.1:8088");
    CHECK(msg->stop_timeout == -1);
    CHECK(msg->scenario == NULL);
    CHECK_STR(msg->node_id, S_MASTER_NODE_2121);
    proto_msg_destroy(&msg);
    // 2.46.3 master: stop_timeout 0.0.
    msg = s_decode_fixture("spawn-2.46.3-master");
    CHECK(msg->timestamp == 1795737188.3448472);
    s_check_counts(msg, classes, counts, 3);
    CHECK(msg->stop_timeout == 0);
    CHECK(msg->scenario == NULL);
    proto_msg_destroy(&msg);
}

typedef struct {
    const char *method;      // entry
    const char *name;        // entry
    uint64_t num_requests;   // counts
    uint64_t num_failures;   //
    uint64_t total_us;       // total_response_time in us
    uint64_t min_us;         // min_response_time in us
    uint64_t max_us;         // max_response_time in us
    uint64_t content;        // total_content_length
    double start_time;       // times
    double last_request;     //
    int64_t keys[12];        // response_times keys, ascending
    uint64_t key_counts[12]; // and counts
    size_t nkeys;            // how many
    int64_t req_secs[5];     // num_reqs_per_sec keys
    uint64_t req_counts[5];  // and values
    size_t nreq_secs;        // how many
    int64_t fail_secs[5];    // num_fail_per_sec keys
    uint64_t fail_counts[5]; // and values
    size_t nfail_secs;       // how many
} s_entry_case_t;

static void s_check_entry_case(const apex_stats_entry_t *e,
                               const s_entry_case_t *c)
{
    CHECK_STR(e->method, c->method);
    CHECK_STR(e->name, c->name);
    CHECK_EQ(e->num_requests, c->num_requests);
    CHECK_EQ(e->num_none_requests, 0);
    CHECK_EQ(e->num_failures, c->num_failures);
    CHECK_EQ(e->total_response_us, c->total_us);
    CHECK_EQ(e->min_response_us, c->min_us);
    CHECK_EQ(e->max_response_us, c->max_us);
    CHECK_EQ(e->total_content_length, c->content);
    CHECK(e->start_time == c->start_time);
    CHECK(e->last_request_timestamp == c->last_request);
    CHECK_EQ(apex_histogram_count(e->hist), c->num_requests);
    s_check_buckets(e, c->keys, c->key_counts, c->nkeys);
    uint64_t reqs = 0, fails = 0;
    for (size_t i = 0; i < c->nreq_secs; i++) {
        CHECK_EQ(s_sec(e, c->req_secs[i], false), c->req_counts[i]);
        reqs += c->req_counts[i];
    }
    for (size_t i = 0; i < c->nfail_secs; i++) {
        CHECK_EQ(s_sec(e, c->fail_secs[i], true), c->fail_counts[i]);
        fails += c->fail_counts[i];
    }
    // Nothing else in the ring.
    uint64_t ring_reqs = 0, ring_fails = 0;
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        ring_reqs += e->seconds[i].reqs;
        ring_fails += e->seconds[i].fails;
    }
    CHECK_EQ(ring_reqs, reqs);
    CHECK_EQ(ring_fails, fails);
}

// The 2.12.1 worker's report of locust.md A.4 (capture B at 7.045 s):
// float keys such as 120.0 for buckets of 100 ms and more.
static const s_entry_case_t s_b_entries[] = {
    {"CUSTOM",
     "synthetic",
     42,
     0,
     104056800,
     2500,
     12345600,
     0,
     1795737094.2198153,
     1795737096.737952,
     {2, 4, 120, 140, 160, 4600, 12000},
     {6, 6, 6, 6, 6, 6, 6},
     7,
     {1795737094, 1795737095, 1795737096},
     {14, 14, 14},
     3,
     {0},
     {0},
     0},
    {"GET",
     "/health",
     23,
     3,
     32902,
     818,
     2501,
     345,
     1795737094.2198224,
     1795737097.0910532,
     {1, 2, 3},
     {16, 6, 1},
     3,
     {1795737094, 1795737095, 1795737096, 1795737097},
     {8, 4, 9, 2},
     4,
     {1795737094, 1795737096},
     {1, 2},
     2},
    {"POST",
     "/",
     6,
     0,
     9762,
     1363,
     1927,
     18,
     1795737094.2198303,
     1795737096.7477002,
     {1, 2},
     {2, 4},
     2,
     {1795737094, 1795737095, 1795737096},
     {2, 2, 2},
     3,
     {0},
     {0},
     0},
    {"GET",
     "/item?id=[id]",
     4,
     0,
     5001,
     1028,
     1460,
     12,
     1795737095.2741039,
     1795737096.2779236,
     {1},
     {4},
     1,
     {1795737095, 1795737096},
     {3, 1},
     2,
     {0},
     {0},
     0},
};
static const s_entry_case_t s_b_total = {
    "",
    "Aggregated",
    75,
    3,
    104104465,
    818,
    12345600,
    375,
    1795737094.219836,
    1795737097.0910475,
    {1, 2, 3, 4, 120, 140, 160, 4600, 12000},
    {22, 16, 1, 6, 6, 6, 6, 6, 6},
    9,
    {1795737094, 1795737095, 1795737096, 1795737097},
    {24, 23, 26, 2},
    4,
    {1795737094, 1795737096},
    {1, 2},
    2,
};

// The 2.46.3 worker's report (capture D at 10.071 s): int keys, and
// errors with first_seen / last_seen.
static const s_entry_case_t s_d_entries[] = {
    {"CUSTOM",
     "synthetic",
     42,
     0,
     104056800,
     2500,
     12345600,
     0,
     1795737230.5465682,
     1795737233.0831397,
     {2, 4, 120, 140, 160, 4600, 12000},
     {6, 6, 6, 6, 6, 6, 6},
     7,
     {1795737230, 1795737231, 1795737232, 1795737233},
     {7, 14, 14, 7},
     4,
     {0},
     {0},
     0},
    {"GET",
     "/health",
     22,
     4,
     40202,
     1045,
     6056,
     330,
     1795737230.5466259,
     1795737233.4947233,
     {1, 2, 3, 6},
     {14, 3, 4, 1},
     4,
     {1795737230, 1795737231, 1795737232, 1795737233},
     {4, 6, 8, 4},
     4,
     {1795737230, 1795737232, 1795737233},
     {1, 2, 1},
     3},
    {"GET",
     "/item?id=[id]",
     4,
     0,
     7135,
     1206,
     2411,
     12,
     1795737230.5466313,
     1795737232.8819606,
     {1, 2},
     {2, 2},
     2,
     {1795737231, 1795737232},
     {3, 1},
     2,
     {0},
     {0},
     0},
    {"GET",
     "refused",
     3,
     3,
     8097,
     1322,
     5180,
     0,
     1795737230.5466363,
     1795737233.0884206,
     {1, 2, 5},
     {1, 1, 1},
     3,
     {1795737232, 1795737233},
     {1, 2},
     2,
     {1795737232, 1795737233},
     {1, 2},
     2},
    {"POST",
     "/",
     6,
     0,
     10276,
     1067,
     3723,
     18,
     1795737230.5466413,
     1795737233.1059234,
     {1, 2, 4},
     {4, 1, 1},
     3,
     {1795737230, 1795737231, 1795737232, 1795737233},
     {1, 2, 2, 1},
     4,
     {0},
     {0},
     0},
};
static const s_entry_case_t s_d_total = {
    "",
    "Aggregated",
    77,
    7,
    104122510,
    1045,
    12345600,
    360,
    1795737230.546648,
    1795737233.4947133,
    {1, 2, 3, 4, 5, 6, 120, 140, 160, 4600, 12000},
    {21, 13, 4, 7, 1, 1, 6, 6, 6, 6, 6},
    11,
    {1795737230, 1795737231, 1795737232, 1795737233},
    {12, 25, 26, 14},
    4,
    {1795737230, 1795737232, 1795737233},
    {1, 3, 3},
    3,
};

static void s_check_user_classes(const proto_msg_t *msg)
{
    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t counts[] = {2, 1, 1};
    s_check_counts(msg, classes, counts, 3);
    CHECK_EQ(msg->user_count, 4);
}

static void s_test_stats_fixtures(void)
{
    // The first report of a fresh 2.12.1 worker: nothing yet, and the
    // total's method is None.
    proto_msg_t *msg = s_decode_fixture("stats-2.12.1-first");
    CHECK_EQ(msg->type, PROTO_STATS);
    CHECK_EQ(apex_stats_size(msg->stats), 0);
    CHECK_EQ(apex_stats_error_count(msg->stats), 0);
    const apex_stats_entry_t *t = apex_stats_total_const(msg->stats);
    CHECK_STR(t->name, "Aggregated");
    CHECK_STR(t->method, "");
    CHECK_EQ(t->num_requests, 0);
    CHECK(t->min_response_us == APEX_STATS_NO_MIN);
    CHECK_EQ(t->max_response_us, 0);
    CHECK(t->last_request_timestamp == 0);
    CHECK(t->start_time == 1795737091.2095857);
    static const char *const classes[] = {"HealthUser", "OtherUser",
                                          "SyntheticUser"};
    static const int64_t zeros[] = {0, 0, 0};
    s_check_counts(msg, classes, zeros, 3);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);

    msg = s_decode_fixture("stats-2.12.1");
    CHECK_STR(msg->node_id, S_NODE);
    size_t n = sizeof s_b_entries / sizeof s_b_entries[0];
    CHECK_EQ(apex_stats_size(msg->stats), n);
    for (size_t i = 0; i < n; i++)
        s_check_entry_case(apex_stats_at(msg->stats, i), &s_b_entries[i]);
    s_check_entry_case(apex_stats_total_const(msg->stats), &s_b_total);
    CHECK_EQ(apex_stats_error_count(msg->stats), 1);
    const apex_stats_error_t *e = apex_stats_error_at(msg->stats, 0);
    CHECK_STR(e->key, S_KEY_HEALTH);
    CHECK_STR(e->method, "GET");
    CHECK_STR(e->name, "/health");
    CHECK_STR(e->error, S_ERR_HEALTH);
    CHECK_EQ(e->occurrences, 3);
    CHECK(e->first_seen == 0 && e->last_seen == 0); // 2.12.1 has none
    s_check_user_classes(msg);
    // Derived figures from the decoded report.
    const apex_stats_entry_t *health =
        apex_stats_find(msg->stats, "GET", "/health");
    CHECK_NEAR(apex_stats_entry_fail_ratio(health), 3.0 / 23, 1e-12);
    CHECK_NEAR(apex_stats_entry_avg_content_length(health), 15, 1e-12);
    CHECK_NEAR(apex_stats_entry_avg_ms(health), 32.902 / 23, 1e-12);
    proto_msg_destroy(&msg);

    msg = s_decode_fixture("stats-2.46.3");
    CHECK_STR(msg->node_id, S_NODE_2463);
    n = sizeof s_d_entries / sizeof s_d_entries[0];
    CHECK_EQ(apex_stats_size(msg->stats), n);
    for (size_t i = 0; i < n; i++)
        s_check_entry_case(apex_stats_at(msg->stats, i), &s_d_entries[i]);
    s_check_entry_case(apex_stats_total_const(msg->stats), &s_d_total);
    CHECK_EQ(apex_stats_error_count(msg->stats), 2);
    e = apex_stats_error_at(msg->stats, 0);
    CHECK_STR(e->key, S_KEY_HEALTH);
    CHECK_EQ(e->occurrences, 4);
    CHECK(e->first_seen == 1795737230.849736);
    CHECK(e->last_seen == 1795737233.292491);
    e = apex_stats_error_at(msg->stats, 1);
    CHECK_STR(e->key, S_KEY_REFUSED);
    CHECK_STR(e->name, "refused");
    CHECK_STR(e->error, S_ERR_REFUSED);
    CHECK_EQ(e->occurrences, 3);
    CHECK(e->first_seen == 1795737232.8703754);
    CHECK(e->last_seen == 1795737233.088464);
    s_check_user_classes(msg);

    // A master merging both reports, as Locust's worker_report does.
    proto_msg_t *old = s_decode_fixture("stats-2.12.1");
    apex_stats_t *master = apex_stats_new(S_T0 + 1000);
    proto_msg_t *reports[] = {old, msg};
    for (size_t r = 0; r < 2; r++) {
        const apex_stats_t *s = reports[r]->stats;
        for (size_t i = 0; i < apex_stats_size(s); i++) {
            const apex_stats_entry_t *src = apex_stats_at(s, i);
            apex_stats_entry_merge(
                apex_stats_get(master, src->method, src->name, S_T0 + 1000),
                src);
        }
        apex_stats_entry_merge(apex_stats_total(master),
                               apex_stats_total_const(s));
        for (size_t i = 0; i < apex_stats_error_count(s); i++)
            apex_stats_merge_error(master, apex_stats_error_at(s, i));
    }
    CHECK_EQ(apex_stats_size(master), 5);
    const apex_stats_entry_t *mt = apex_stats_total_const(master);
    CHECK_EQ(mt->num_requests, 75 + 77);
    CHECK_EQ(mt->num_failures, 3 + 7);
    CHECK(mt->start_time == 1795737094.219836);
    CHECK(mt->last_request_timestamp == 1795737233.4947133);
    const apex_stats_entry_t *syn =
        apex_stats_find(master, "CUSTOM", "synthetic");
    CHECK_EQ(syn->num_requests, 84);
    static const int64_t syn_keys[] = {2, 4, 120, 140, 160, 4600, 12000};
    static const uint64_t syn_counts[] = {12, 12, 12, 12, 12, 12, 12};
    s_check_buckets(syn, syn_keys, syn_counts, 7);
    CHECK_EQ(apex_stats_error_count(master), 2);
    e = apex_stats_error_at(master, 0);
    CHECK_EQ(e->occurrences, 7);
    CHECK(e->first_seen == 1795737230.849736);
    proto_msg_destroy(&old);
    proto_msg_destroy(&msg);
    apex_stats_destroy(&master);
}

// ---------------------------------------------------------------------
// 3. Hostile input, built with msgpack-c's packer

typedef struct {
    msgpack_sbuffer sb; // the bytes
    msgpack_packer pk;  // writes into sb
} s_writer_t;

static void s_writer_init(s_writer_t *w)
{
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

static void s_str(msgpack_packer *pk, const char *text)
{
    size_t n = strlen(text);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, text, n);
}

typedef void(s_value_fn)(msgpack_packer *pk);

// Bad values.
static void s_v_text(msgpack_packer *pk)
{
    s_str(pk, "x");
}
static void s_v_neg(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -1);
}
static void s_v_far(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1e19); // a timestamp no clock will show
}
static void s_v_frac(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
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
static void s_v_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}
static void s_v_true(msgpack_packer *pk)
{
    msgpack_pack_true(pk);
}
static void s_v_int(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 5);
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
static void s_v_list(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
}
static void s_v_junk_bin(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 4);
    msgpack_pack_bin_body(pk, "junk", 4);
}
static void s_v_map_str_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "a");
    msgpack_pack_int(pk, 1);
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
static void s_v_class_neg(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "HealthUser");
    msgpack_pack_int(pk, -1);
}
static void s_v_class_text(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "HealthUser");
    s_str(pk, "2");
}
static void s_v_class_huge(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "HealthUser");
    msgpack_pack_int64(pk, 1LL << 31);
}

// Good values.
static void s_v_ts(msgpack_packer *pk)
{
    msgpack_pack_double(pk, S_T0);
}
static void s_v_ts_later(msgpack_packer *pk)
{
    msgpack_pack_double(pk, S_T0 + 2.5);
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
    msgpack_pack_int64(pk, S_SEC0);
    msgpack_pack_int(pk, 4);
    msgpack_pack_double(pk, S_SEC0 + 1.0); // a float key
    msgpack_pack_int(pk, 6);
}
static void s_v_fails(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int64(pk, S_SEC0 + 1);
    msgpack_pack_int(pk, 1);
}
static void s_v_classes(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    s_str(pk, "HealthUser");
    msgpack_pack_int(pk, 3);
    s_str(pk, "OtherUser");
    msgpack_pack_double(pk, 1.0); // a float count
}
static void s_v_4(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 4);
}
static void s_v_get(msgpack_packer *pk)
{
    s_str(pk, "GET");
}
static void s_v_health(msgpack_packer *pk)
{
    s_str(pk, "/health");
}
static void s_v_error_text(msgpack_packer *pk)
{
    s_str(pk, S_ERR_HEALTH);
}
static void s_v_3(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 3);
}
static void s_v_running(msgpack_packer *pk)
{
    s_str(pk, "running");
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
    s_str(pk, "0.3.1");
}
static void s_v_host(msgpack_packer *pk)
{
    s_str(pk, "http://127.0.0.1:8088");
}
static void s_v_scenario(msgpack_packer *pk)
{
    s_str(pk, "{}");
}

// A hostile change to one map: in map `where`, `key` gets fn's value
// (added if the map has no such key), or is left out when fn is NULL.
typedef struct {
    const char *where;  // "top", "entry", "total", "error", "heartbeat",
                        // "spawn", "options"
    const char *key;    // field
    s_value_fn *fn;     // bad value, or NULL to drop the key
    const char *expect; // substring of the error, NULL if tolerated
} s_bad_t;

// A value that is itself a map and may hold the bad field.
typedef void(s_nested_fn)(msgpack_packer *pk, const s_bad_t *bad);

typedef struct {
    const char *key;     // field name
    s_value_fn *fn;      // its good value, or
    s_nested_fn *nested; // a nested value
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
                s_str(pk, fields[i].key);
                bad->fn(pk);
            }
            continue;
        }
        s_str(pk, fields[i].key);
        if (fields[i].nested)
            fields[i].nested(pk, bad);
        else
            fields[i].fn(pk);
    }
    if (mine && !known && bad->fn) {
        s_str(pk, bad->key);
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
    first[0].fn = s_v_text;
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
    s_str(pk, S_KEY_HEALTH);
    s_n_error(pk, bad);
}

// A stats frame with one bad field somewhere (or none).
static void s_stats_frame(s_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"stats", NULL, s_n_stats_list},
        {"stats_total", NULL, s_n_total},
        {"errors", NULL, s_n_errors},
        {"user_classes_count", s_v_classes, NULL},
        {"user_count", s_v_4, NULL},
    };
    msgpack_pack_array(&w->pk, 3);
    s_str(&w->pk, "stats");
    s_pack_map(&w->pk, "top", fields, 5, bad);
    s_str(&w->pk, S_NODE);
}

static void s_heartbeat_frame(s_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"state", s_v_running, NULL},
        {"current_cpu_usage", s_v_cpu, NULL},
        {"current_memory_usage", s_v_memory, NULL},
        {"apex_version", s_v_version, NULL},
    };
    msgpack_pack_array(&w->pk, 3);
    s_str(&w->pk, "heartbeat");
    s_pack_map(&w->pk, "heartbeat", fields, 4, bad);
    s_str(&w->pk, S_NODE);
}

static void s_n_options(msgpack_packer *pk, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"apex_scenario", s_v_scenario, NULL},
        {"num_users", s_v_4, NULL},
        {"tags", s_v_nil, NULL},
    };
    s_pack_map(pk, "options", fields, 3, bad);
}

static void s_spawn_frame(s_writer_t *w, const s_bad_t *bad)
{
    static const s_field_t fields[] = {
        {"timestamp", s_v_ts, NULL},
        {"user_classes_count", s_v_classes, NULL},
        {"host", s_v_host, NULL},
        {"stop_timeout", s_v_nil, NULL},
        {"parsed_options", NULL, s_n_options},
    };
    msgpack_pack_array(&w->pk, 3);
    s_str(&w->pk, "spawn");
    s_pack_map(&w->pk, "spawn", fields, 5, bad);
    s_str(&w->pk, S_NODE);
}

typedef void(s_frame_fn)(s_writer_t *w, const s_bad_t *bad);

static void s_check_bad_frames(s_frame_fn *frame, const s_bad_t *bads, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s_writer_t w;
        s_writer_init(&w);
        frame(&w, &bads[i]);
        if (bads[i].expect) {
            s_decode_bad(w.sb.data, w.sb.size, bads[i].expect);
        } else { // tolerated
            proto_msg_t *msg = s_decode_ok(w.sb.data, w.sb.size);
            proto_msg_destroy(&msg);
        }
        msgpack_sbuffer_destroy(&w.sb);
    }
}

static void s_test_built_frames(void)
{
    // The frames as built, without damage, decode to what was put in.
    s_writer_t w;
    s_writer_init(&w);
    s_stats_frame(&w, NULL);
    proto_msg_t *msg = s_decode_ok(w.sb.data, w.sb.size);
    CHECK_EQ(apex_stats_size(msg->stats), 2);
    const apex_stats_entry_t *e = apex_stats_find(msg->stats, "GET", "/health");
    CHECK(e == apex_stats_at(msg->stats, 1));
    CHECK_EQ(e->num_requests, 10);
    CHECK_EQ(e->num_failures, 1);
    CHECK_EQ(e->total_response_us, 20500);
    CHECK_EQ(e->max_response_us, 5500);
    CHECK_EQ(e->min_response_us, 500);
    CHECK_EQ(e->total_content_length, 150);
    CHECK(e->start_time == S_T0);
    CHECK(e->last_request_timestamp == S_T0 + 2.5);
    static const int64_t keys[] = {1, 2, 6};
    static const uint64_t counts[] = {5, 4, 1};
    s_check_buckets(e, keys, counts, 3);
    CHECK_EQ(s_sec(e, S_SEC0, false), 4);
    CHECK_EQ(s_sec(e, S_SEC0 + 1, false), 6); // from a float key
    CHECK_EQ(s_sec(e, S_SEC0 + 1, true), 1);
    CHECK_EQ(apex_stats_error_count(msg->stats), 1);
    CHECK_EQ(apex_stats_error_at(msg->stats, 0)->occurrences, 3);
    CHECK_EQ(msg->ncounts, 2);
    CHECK_EQ(msg->counts[1].count, 1); // 1.0 accepted as a count
    CHECK_EQ(msg->user_count, 4);
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);

    s_writer_init(&w);
    s_heartbeat_frame(&w, NULL);
    msg = s_decode_ok(w.sb.data, w.sb.size);
    CHECK_STR(msg->state, "running");
    CHECK(msg->cpu_usage == 1.5);
    CHECK_EQ(msg->memory_usage, 12345678);
    CHECK_STR(msg->apex_version, "0.3.1");
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);

    s_writer_init(&w);
    s_spawn_frame(&w, NULL);
    msg = s_decode_ok(w.sb.data, w.sb.size);
    CHECK_STR(msg->scenario, "{}");
    CHECK(msg->stop_timeout == -1);
    CHECK_EQ(msg->ncounts, 2);
    proto_msg_destroy(&msg);
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_test_bad_stats(void)
{
    static const s_bad_t bads[] = {
        // Counts: strings, negatives, fractions, NaN, beyond 2^53, absent.
        {"entry", "num_requests", s_v_text,
         "stats: $.stats[1].num_requests: expected a non-negative integer"},
        {"entry", "num_requests", s_v_neg, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_frac, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_nan, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_inf, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_2_53, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_u64_max, "$.stats[1].num_requests"},
        {"entry", "num_requests", s_v_nil, "$.stats[1].num_requests"},
        {"entry", "num_requests", NULL, "$.stats[1].num_requests: missing"},
        {"entry", "num_failures", s_v_text, "$.stats[1].num_failures"},
        {"entry", "num_failures", s_v_neg, "$.stats[1].num_failures"},
        {"entry", "num_failures", NULL, "$.stats[1].num_failures: missing"},
        {"entry", "num_none_requests", s_v_text,
         "$.stats[1].num_none_requests"},
        {"entry", "num_none_requests", s_v_99,
         "$.stats[1]: num_none_requests > num_requests"},
        {"entry", "total_content_length", s_v_neg,
         "$.stats[1].total_content_length"},
        {"entry", "total_content_length", s_v_text,
         "$.stats[1].total_content_length"},
        // Times: types, NaN, infinity, negative and absurd values.
        {"entry", "total_response_time", s_v_text,
         "$.stats[1].total_response_time: expected a finite number"},
        {"entry", "total_response_time", s_v_nan,
         "$.stats[1].total_response_time: expected a finite number"},
        {"entry", "total_response_time", s_v_inf,
         "$.stats[1].total_response_time"},
        {"entry", "total_response_time", s_v_neg,
         "$.stats[1].total_response_time: response time out of range"},
        {"entry", "total_response_time", s_v_huge,
         "$.stats[1].total_response_time: response time out of range"},
        {"entry", "total_response_time", NULL,
         "$.stats[1].total_response_time: missing"},
        {"entry", "max_response_time", s_v_text,
         "$.stats[1].max_response_time"},
        {"entry", "max_response_time", s_v_huge,
         "$.stats[1].max_response_time"},
        {"entry", "min_response_time", s_v_text,
         "$.stats[1].min_response_time"},
        {"entry", "min_response_time", s_v_nan, "$.stats[1].min_response_time"},
        {"entry", "min_response_time", s_v_neg,
         "$.stats[1].min_response_time: response time out of range"},
        {"entry", "start_time", s_v_text,
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
        {"entry", "name", s_v_int, "$.stats[1].name: expected a string"},
        {"entry", "name", s_v_nil, "$.stats[1].name"},
        {"entry", "method", s_v_int, "$.stats[1].method: expected a string"},
        // The histogram, Locust's and ours.
        {"entry", "response_times", s_v_text,
         "$.stats[1].response_times: expected a map"},
        {"entry", "response_times", NULL, "$.stats[1].response_times: missing"},
        {"entry", "response_times", s_v_map_str_key,
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
        {"entry", PROTO_HIST_KEY, s_v_text,
         "$.stats[1].apex_hist: expected bytes"},
        {"entry", PROTO_HIST_KEY, s_v_int, "$.stats[1].apex_hist"},
        // Per-second maps.
        {"entry", "num_reqs_per_sec", s_v_text,
         "$.stats[1].num_reqs_per_sec: expected a map"},
        {"entry", "num_reqs_per_sec", s_v_map_str_key,
         "$.stats[1].num_reqs_per_sec: expected unix seconds as keys"},
        {"entry", "num_reqs_per_sec", s_v_map_neg_key,
         "$.stats[1].num_reqs_per_sec: expected unix seconds"},
        {"entry", "num_reqs_per_sec", s_v_map_huge_key,
         "$.stats[1].num_reqs_per_sec: expected unix seconds"},
        {"entry", "num_reqs_per_sec", s_v_map_neg_value,
         "$.stats[1].num_reqs_per_sec: expected counts as values"},
        {"entry", "num_fail_per_sec", s_v_list,
         "$.stats[1].num_fail_per_sec: expected a map"},
        {"entry", "num_fail_per_sec", s_v_map_frac_value,
         "$.stats[1].num_fail_per_sec: expected counts"},
        // The total, the errors, the counts.
        {"total", "num_requests", s_v_text,
         "stats: $.stats_total.num_requests: expected a non-negative"},
        {"total", "total_response_time", s_v_nan,
         "$.stats_total.total_response_time"},
        {"total", "response_times", s_v_true, "$.stats_total.response_times"},
        {"total", PROTO_HIST_KEY, s_v_junk_bin, "$.stats_total.apex_hist"},
        {"error", "occurrences", s_v_text, "$.errors[0].occurrences"},
        {"error", "occurrences", s_v_neg, "$.errors[0].occurrences"},
        {"error", "occurrences", NULL, "$.errors[0].occurrences: missing"},
        {"error", "name", s_v_int, "$.errors[0].name: expected a string"},
        {"error", "error", s_v_list, "$.errors[0].error: expected a string"},
        {"error", "first_seen", s_v_text, "$.errors[0].first_seen"},
        {"error", "last_seen", s_v_nan, "$.errors[0].last_seen"},
        {"top", "stats", s_v_text, "stats: $.stats: expected a list"},
        {"top", "stats", NULL, "$.stats: expected a list"},
        {"top", "stats", s_v_list, "$.stats[0]"},
        {"top", "stats_total", NULL, "$.stats_total: missing"},
        {"top", "stats_total", s_v_int, "$.stats_total: expected a map"},
        {"top", "errors", s_v_list, "$.errors: expected a map"},
        {"top", "errors", s_v_map_int_class, "$.errors[0]: expected a key"},
        {"top", "errors", s_v_map_str_key, "$.errors[0]: expected a map"},
        {"top", "user_classes_count", s_v_text,
         "$.user_classes_count: expected a map of class name to count"},
        {"top", "user_classes_count", s_v_map_int_class,
         "$.user_classes_count: expected class names as keys"},
        {"top", "user_classes_count", s_v_class_neg,
         "$.user_classes_count.HealthUser: expected a user count"},
        {"top", "user_classes_count", s_v_class_text,
         "$.user_classes_count.HealthUser"},
        {"top", "user_classes_count", s_v_class_huge,
         "$.user_classes_count.HealthUser"},
        {"top", "user_count", s_v_neg, "$.user_count: expected a user count"},
        {"top", "user_count", s_v_text, "$.user_count"},
        {"top", "user_count", s_v_frac, "$.user_count"},
        // Tolerated: optional fields left out or None, unknown keys,
        // None for apex_hist (falls back to response_times).
        {"entry", "method", NULL, NULL},
        {"entry", "min_response_time", s_v_nil, NULL},
        {"entry", "last_request_timestamp", s_v_nil, NULL},
        {"entry", "num_none_requests", NULL, NULL},
        {"entry", "num_reqs_per_sec", NULL, NULL},
        {"entry", "num_fail_per_sec", s_v_nil, NULL},
        {"entry", PROTO_HIST_KEY, s_v_nil, NULL},
        {"entry", "extra", s_v_list, NULL},
        {"error", "first_seen", NULL, NULL},
        {"error", "error", NULL, NULL},
        {"top", "errors", NULL, NULL},
        {"top", "user_count", NULL, NULL},
        {"top", "user_classes_count", s_v_nil, NULL},
    };
    s_check_bad_frames(s_stats_frame, bads, sizeof bads / sizeof bads[0]);

    // Data of the wrong type.
    s_writer_t w;
    s_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    s_str(&w.pk, "stats");
    msgpack_pack_int(&w.pk, 5);
    s_str(&w.pk, S_NODE);
    s_decode_bad(w.sb.data, w.sb.size, "stats: $: expected a map");
    msgpack_sbuffer_destroy(&w.sb);
    // An error key longer than a sha256.
    s_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    s_str(&w.pk, "stats");
    msgpack_pack_map(&w.pk, 3);
    s_str(&w.pk, "stats");
    msgpack_pack_array(&w.pk, 0);
    s_str(&w.pk, "stats_total");
    s_n_total(&w.pk, NULL);
    s_str(&w.pk, "errors");
    msgpack_pack_map(&w.pk, 1);
    s_str(&w.pk, S_KEY_HEALTH "0");
    s_n_error(&w.pk, NULL);
    s_str(&w.pk, S_NODE);
    s_decode_bad(w.sb.data, w.sb.size,
                 "$.errors[0]: expected a key of at most 64 chars");
    msgpack_sbuffer_destroy(&w.sb);

    // Float and int keys for the same bucket merge: {120.0: 3, 120: 4}.
    s_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    s_str(&w.pk, "stats");
    msgpack_pack_map(&w.pk, 2);
    s_str(&w.pk, "stats");
    msgpack_pack_array(&w.pk, 0);
    s_str(&w.pk, "stats_total");
    msgpack_pack_map(&w.pk, 6);
    s_str(&w.pk, "num_requests");
    msgpack_pack_int(&w.pk, 7);
    s_str(&w.pk, "num_failures");
    msgpack_pack_int(&w.pk, 0);
    s_str(&w.pk, "total_response_time");
    msgpack_pack_int(&w.pk, 840); // an int, as FastHttpUser sends
    s_str(&w.pk, "max_response_time");
    msgpack_pack_int(&w.pk, 120);
    s_str(&w.pk, "min_response_time");
    msgpack_pack_int(&w.pk, 120);
    s_str(&w.pk, "response_times");
    msgpack_pack_map(&w.pk, 2);
    msgpack_pack_double(&w.pk, 120.0);
    msgpack_pack_int(&w.pk, 3);
    msgpack_pack_int(&w.pk, 120);
    msgpack_pack_int(&w.pk, 4);
    s_str(&w.pk, S_NODE);
    proto_msg_t *msg = s_decode_ok(w.sb.data, w.sb.size);
    const apex_stats_entry_t *t = apex_stats_total_const(msg->stats);
    static const int64_t key120[] = {120};
    static const uint64_t count7[] = {7};
    s_check_buckets(t, key120, count7, 1);
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
        {"heartbeat", "state", s_v_int, "$.state: expected a string"},
        {"heartbeat", "state", s_v_nil, "$.state: expected a string, got nil"},
        {"heartbeat", "current_cpu_usage", s_v_text,
         "heartbeat: $.current_cpu_usage: expected a finite number"},
        {"heartbeat", "current_cpu_usage", s_v_nan, "$.current_cpu_usage"},
        {"heartbeat", "current_cpu_usage", s_v_inf, "$.current_cpu_usage"},
        {"heartbeat", "current_cpu_usage", NULL,
         "$.current_cpu_usage: missing"},
        {"heartbeat", "current_memory_usage", s_v_text,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_nan,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_huge,
         "$.current_memory_usage"},
        {"heartbeat", "current_memory_usage", s_v_neg,
         "$.current_memory_usage"},
        {"heartbeat", "apex_version", s_v_int,
         "$.apex_version: expected a string"},
        // Tolerated: no memory or version (they are optional).
        {"heartbeat", "current_memory_usage", NULL, NULL},
        {"heartbeat", "apex_version", NULL, NULL},
        {"heartbeat", "apex_version", s_v_nil, NULL},
        {"heartbeat", "current_memory_usage", s_v_2_40, NULL},
    };
    s_check_bad_frames(s_heartbeat_frame, beats,
                       sizeof beats / sizeof beats[0]);

    static const s_bad_t spawns[] = {
        {"spawn", "user_classes_count", NULL,
         "spawn: $.user_classes_count: missing"},
        {"spawn", "user_classes_count", s_v_text,
         "$.user_classes_count: expected a map"},
        {"spawn", "user_classes_count", s_v_class_neg,
         "$.user_classes_count.HealthUser: expected a user count"},
        {"spawn", "user_classes_count", s_v_map_frac_value,
         "$.user_classes_count: expected class names"},
        {"spawn", "user_classes_count", s_v_class_huge,
         "$.user_classes_count.HealthUser"},
        {"spawn", "timestamp", NULL, "spawn: $.timestamp: missing"},
        {"spawn", "timestamp", s_v_text, "$.timestamp: expected a finite"},
        {"spawn", "timestamp", s_v_nan, "$.timestamp"},
        {"spawn", "host", s_v_int, "$.host: expected a string"},
        {"spawn", "stop_timeout", s_v_text,
         "$.stop_timeout: expected a finite number"},
        {"spawn", "stop_timeout", s_v_inf, "$.stop_timeout"},
        {"options", "apex_scenario", s_v_int,
         "$.parsed_options.apex_scenario: expected a string"},
        // Tolerated: no host, no options, options of another shape.
        {"spawn", "host", s_v_nil, NULL},
        {"spawn", "host", NULL, NULL},
        {"spawn", "parsed_options", NULL, NULL},
        {"spawn", "parsed_options", s_v_list, NULL},
        {"options", "apex_scenario", NULL, NULL},
        {"spawn", "stop_timeout", NULL, NULL},
    };
    s_check_bad_frames(s_spawn_frame, spawns, sizeof spawns / sizeof spawns[0]);
}

// [type, data, node] with data written by fn.
static void s_check_data(const char *type, s_value_fn *fn, const char *expect)
{
    s_writer_t w;
    s_writer_init(&w);
    msgpack_pack_array(&w.pk, 3);
    s_str(&w.pk, type);
    fn(&w.pk);
    s_str(&w.pk, S_NODE);
    if (expect) {
        s_decode_bad(w.sb.data, w.sb.size, expect);
    } else {
        proto_msg_t *msg = s_decode_ok(w.sb.data, w.sb.size);
        proto_msg_destroy(&msg);
    }
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_v_index_text(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "index");
    s_str(pk, "0");
}
static void s_v_user_count_neg(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "user_count");
    msgpack_pack_int(pk, -4);
}
static void s_v_msg_int(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "msg");
    msgpack_pack_int(pk, 1);
}
static void s_v_counts_bad(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    s_str(pk, "user_classes_count");
    s_v_class_neg(pk);
}

static void s_test_bad_data(void)
{
    s_check_data("client_ready", s_v_frac,
                 "client_ready: $: expected a version string or -1");
    s_check_data("client_ready", s_v_nil, "client_ready: $: expected");
    s_check_data("client_ready", s_v_list, "client_ready: $: expected");
    s_check_data("client_ready", s_v_int, NULL); // an int other than -1
    s_check_data("heartbeat", s_v_int, "heartbeat: $: expected a map");
    s_check_data("heartbeat", s_v_list, "heartbeat: $: expected a map");
    s_check_data("ack", s_v_index_text, "ack: $.index: expected an integer");
    s_check_data("ack", s_v_nil, NULL); // masters <= 2.10.2
    s_check_data("spawning_complete", s_v_text,
                 "spawning_complete: $: expected a map");
    s_check_data("spawning_complete", s_v_user_count_neg,
                 "spawning_complete: $.user_count: expected a user count");
    s_check_data("spawning_complete", s_v_counts_bad,
                 "spawning_complete: $.user_classes_count.HealthUser");
    s_check_data("spawn", s_v_nil, "spawn: $: expected a map");
    s_check_data("exception", s_v_int, "exception: $: expected a map");
    s_check_data("exception", s_v_msg_int,
                 "exception: $.msg: expected a string");
    // Data we do not read is not checked.
    s_check_data("spawning", s_v_list, NULL);
    s_check_data("logs", s_v_int, NULL);
    s_check_data("my_custom_msg", s_v_map_str_key, NULL);
}

static void s_pack_frame(s_writer_t *w, size_t items, s_value_fn *type,
                         s_value_fn *node)
{
    msgpack_pack_array(&w->pk, items);
    if (items > 0)
        type(&w->pk);
    if (items > 1)
        msgpack_pack_nil(&w->pk);
    if (items > 2)
        node(&w->pk);
    for (size_t i = 3; i < items; i++)
        msgpack_pack_nil(&w->pk);
}

static void s_v_type_stop(msgpack_packer *pk)
{
    s_str(pk, "stop");
}
static void s_v_node(msgpack_packer *pk)
{
    s_str(pk, S_NODE);
}
static void s_v_empty(msgpack_packer *pk)
{
    s_str(pk, "");
}
static void s_v_long_type(msgpack_packer *pk)
{
    char text[66];
    memset(text, 't', 65);
    text[65] = '\0';
    s_str(pk, text);
}
static void s_v_long_node(msgpack_packer *pk)
{
    char text[1026];
    memset(text, 'n', 1025);
    text[1025] = '\0';
    s_str(pk, text);
}
static void s_v_bin_type(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 4);
    msgpack_pack_bin_body(pk, "stop", 4);
}

static void s_check_envelope(size_t items, s_value_fn *type, s_value_fn *node,
                             const char *expect)
{
    s_writer_t w;
    s_writer_init(&w);
    s_pack_frame(&w, items, type, node);
    if (expect) {
        s_decode_bad(w.sb.data, w.sb.size, expect);
    } else {
        proto_msg_t *msg = s_decode_ok(w.sb.data, w.sb.size);
        proto_msg_destroy(&msg);
    }
    msgpack_sbuffer_destroy(&w.sb);
}

static void s_test_bad_envelope(void)
{
    static const char array[] = "expected an array [type, data, node_id]";
    s_check_envelope(3, s_v_type_stop, s_v_node, NULL);
    s_check_envelope(0, s_v_type_stop, s_v_node, array);
    s_check_envelope(2, s_v_type_stop, s_v_node, array);
    s_check_envelope(4, s_v_type_stop, s_v_node, array);
    s_check_envelope(3, s_v_int, s_v_node,
                     "message type is not a short "
                     "string");
    s_check_envelope(3, s_v_nil, s_v_node, "message type");
    s_check_envelope(3, s_v_bin_type, s_v_node, "message type");
    s_check_envelope(3, s_v_empty, s_v_node, "message type");
    s_check_envelope(3, s_v_long_type, s_v_node, "message type");
    s_check_envelope(3, s_v_type_stop, s_v_int, "node id is not a string");
    s_check_envelope(3, s_v_type_stop, s_v_nil, "node id");
    s_check_envelope(3, s_v_type_stop, s_v_long_node, "node id");
    s_check_envelope(3, s_v_type_stop, s_v_empty, NULL);
    // Not an array at all.
    s_decode_bad("\x80", 1, array);
    s_decode_bad("\xc0", 1, array);
    s_decode_bad("\x05", 1, array);
    s_decode_bad("\xa4stop", 5, array);
}

// Every proper prefix of a valid frame is refused.
static void s_check_truncations(const uint8_t *data, size_t size)
{
    for (size_t len = 0; len < size; len++) {
        apex_error_t err = {""};
        proto_msg_t *msg = proto_decode(data, len, &err);
        if (msg)
            fprintf(stderr, "prefix of %zu of %zu bytes decoded\n", len, size);
        CHECK(msg == NULL);
        CHECK(err.msg[0] != '\0');
    }
}

// Decode junk: no crash, and either a message (destroyed) or an error.
static void s_decode_any(const uint8_t *data, size_t size)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (msg) {
        CHECK(msg->type_name != NULL && msg->node_id != NULL);
        proto_msg_destroy(&msg);
    } else {
        CHECK(err.msg[0] != '\0');
    }
}

static const char *const s_fixture_names[] = {
    "client_ready-2.12.1",
    "client_ready-2.46.3",
    "heartbeat-2.12.1-ready",
    "heartbeat-2.12.1-running",
    "heartbeat-2.46.3-ready",
    "heartbeat-2.46.3-running",
    "spawning-2.12.1",
    "spawning_complete-2.12.1",
    "spawning_complete-2.46.3",
    "client_stopped-2.12.1",
    "quit-2.12.1",
    "pong-2.12.1",
    "ack-2.12.1-master",
    "ack-2.46.3-master",
    "stop-2.12.1-master",
    "reconnect-2.12.1-master",
    "quit-2.12.1-master",
    "heartbeat-2.46.3-master",
    "spawning_complete-2.46.3-master",
    "spawn-2.12.1-master",
    "spawn-2.46.3-master",
    "stats-2.12.1-first",
    "stats-2.12.1",
    "stats-2.46.3",
};
#define S_NFIXTURES (sizeof s_fixture_names / sizeof s_fixture_names[0])

static void s_test_junk(void)
{
    // Truncations of every fixture and of our own frames.
    uint8_t *frames[S_NFIXTURES + 3];
    size_t sizes[S_NFIXTURES + 3];
    for (size_t i = 0; i < S_NFIXTURES; i++)
        frames[i] = s_fixture(s_fixture_names[i], &sizes[i]);
    apex_buf_t buf;
    apex_buf_init(&buf);
    apex_stats_t *stats = apex_stats_new(S_T0);
    apex_stats_entry_t *e = apex_stats_get(stats, "GET", "/", S_T0);
    for (int i = 0; i < 100; i++)
        apex_stats_record(stats, e, (uint64_t)i * 997, 10, S_T0 + i % 5);
    apex_stats_record_failure(stats, e, S_ERR_HEALTH, S_T0);
    proto_count_t pc = {(char *)"HealthUser", 3};
    proto_encode_stats(&buf, stats, &pc, 1, 3, NULL, S_NODE);
    size_t n = S_NFIXTURES;
    sizes[n] = buf.len;
    frames[n++] = (uint8_t *)apex_buf_take(&buf);
    proto_spawn_options_t opts = {"{\"a\":1}", 4, 2, false, 0, 0};
    proto_encode_spawn(&buf, S_T0, &pc, 1, "http://h", 3, &opts, S_NODE);
    sizes[n] = buf.len;
    frames[n++] = (uint8_t *)apex_buf_take(&buf);
    proto_encode_heartbeat(&buf, "ready", 1.5, 1234, "0.3.1", S_NODE);
    sizes[n] = buf.len;
    frames[n++] = (uint8_t *)apex_buf_take(&buf);
    apex_stats_destroy(&stats);
    for (size_t i = 0; i < n; i++) {
        s_decode_any(frames[i], sizes[i]); // whole: valid
        s_check_truncations(frames[i], sizes[i]);
        // One byte too many.
        uint8_t *longer = malloc(sizes[i] + 1);
        CHECK(longer != NULL);
        memcpy(longer, frames[i], sizes[i]);
        longer[sizes[i]] = 0xc0;
        s_decode_bad(longer, sizes[i] + 1, "1 trailing bytes");
        free(longer);
    }

    // Random bytes, some starting like a frame.
    uint64_t rng = apex_rng_seed(1795737094);
    uint8_t junk[S_RANDOM_MAX_LEN];
    for (int round = 0; round < S_RANDOM_FRAMES; round++) {
        size_t len = (size_t)(apex_rng_next(&rng) % S_RANDOM_MAX_LEN);
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)apex_rng_next(&rng);
        if (len > 0 && round % 2)
            junk[0] = 0x93;
        s_decode_any(junk, len);
    }
    // Valid frames with one to four bytes damaged.
    for (int round = 0; round < S_MUTATED_FRAMES; round++) {
        size_t i = (size_t)(apex_rng_next(&rng) % n);
        uint8_t *copy = malloc(sizes[i]);
        CHECK(copy != NULL);
        memcpy(copy, frames[i], sizes[i]);
        int damage = 1 + (int)(apex_rng_next(&rng) % 4);
        for (int d = 0; d < damage; d++)
            copy[apex_rng_next(&rng) % sizes[i]] = (uint8_t)apex_rng_next(&rng);
        s_decode_any(copy, sizes[i]);
        free(copy);
    }
    for (size_t i = 0; i < n; i++)
        free(frames[i]);

    // Size bombs: containers and strings declaring far more than the
    // frame holds, at the top and inside a valid envelope.
    static const struct {
        const char *bytes; // the declaration
        size_t size;       // its length
    } bombs[] = {
        {"\xdd\xff\xff\xff\xff", 5},     // array32
        {"\xdf\xff\xff\xff\xff", 5},     // map32
        {"\xdc\xff\xff", 3},             // array16
        {"\xde\xff\xff", 3},             // map16
        {"\xdb\xff\xff\xff\xff", 5},     // str32
        {"\xda\xff\xff", 3},             // str16
        {"\xc6\xff\xff\xff\xff", 5},     // bin32
        {"\xc9\xff\xff\xff\xff\x01", 6}, // ext32
        {"\xd9\xff", 2},                 // str8
        {"\x9f", 1},                     // fixarray of 15
        {"\x8f", 1},                     // fixmap of 15
        {"\xc1", 1},                     // never used
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        s_decode_bad(bombs[i].bytes, bombs[i].size, "not valid msgpack");
        uint8_t frame[64];
        size_t len = 0;
        frame[len++] = 0x93;
        frame[len++] = 0xa5;
        memcpy(frame + len, "stats", 5);
        len += 5;
        memcpy(frame + len, bombs[i].bytes, bombs[i].size);
        len += bombs[i].size;
        frame[len++] = 0xa1;
        frame[len++] = 'x';
        s_decode_bad(frame, len, "not valid msgpack");
    }

    // Nesting: PROTO_MAX_DEPTH levels of containers (the envelope is the
    // first) are accepted, one more is not, and far more cannot blow the
    // stack.
    uint8_t *deep = malloc(S_DEEP + 16);
    CHECK(deep != NULL);
    static const size_t depths[] = {PROTO_MAX_DEPTH, PROTO_MAX_DEPTH + 1,
                                    S_DEEP};
    for (size_t k = 0; k < 3; k++) {
        size_t len = 0;
        deep[len++] = 0x93;
        deep[len++] = 0xa4;
        memcpy(deep + len, "stop", 4);
        len += 4;
        for (size_t d = 1; d < depths[k]; d++)
            deep[len++] = 0x91; // [ ... ]
        deep[len++] = 0xc0;
        deep[len++] = 0xa1;
        deep[len++] = 'x';
        if (k == 0) {
            proto_msg_t *msg = s_decode_ok(deep, len);
            CHECK_EQ(msg->type, PROTO_STOP);
            proto_msg_destroy(&msg);
        } else {
            s_decode_bad(deep, len, "too deep");
        }
    }
    free(deep);

    // Frame sizes: empty, and one byte more than the largest allowed
    // (refused before it is read).
    s_decode_bad("", 0, "frame of 0 bytes");
    s_decode_bad(NULL, 0, "frame of 0 bytes");
    uint8_t *big = malloc(PROTO_MAX_FRAME + 1u);
    CHECK(big != NULL);
    big[0] = 0x93;
    s_decode_bad(big, PROTO_MAX_FRAME + 1u, "frame of 67108865 bytes");
    free(big);
    // A NULL err is allowed.
    CHECK(proto_decode("\xc1", 1, NULL) == NULL);
    CHECK(proto_decode("\x93\xa1x\xc0\x05", 5, NULL) == NULL);
}

void test_proto(bool verbose)
{
    (void)verbose;
    s_test_simple_round_trips();
    s_test_stats_round_trip();
    s_test_small_fixtures();
    s_test_spawn_fixtures();
    s_test_stats_fixtures();
    s_test_built_frames();
    s_test_bad_stats();
    s_test_bad_heartbeat_spawn();
    s_test_bad_data();
    s_test_bad_envelope();
    s_test_junk();

    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_empty(&buf, "quit", S_NODE);
    proto_msg_t *msg = s_decode_buf(&buf);
    apex_buf_fini(&buf);
    proto_msg_destroy(&msg);
    CHECK(msg == NULL);
    proto_msg_destroy(&msg); // safe twice
    CHECK(msg == NULL);
    proto_msg_destroy(NULL);
}
