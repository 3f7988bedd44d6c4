// tests/unit/test_proto_stats.c - the stats message and its entries
// (proto/stats_entry.c). Random traffic makes a round trip with every
// field and histogram exact and Locust's keys in Locust's order on the
// wire; the reports of real Locust 2.12.1 and 2.46.3 workers decode to
// what they sent (docs/protocol.md, "Captures and fixtures"), and a
// master merges both.
#include "tests/unit/tests.h"

#include <msgpack.h>

#include "common/rng.h"
#include "proto/proto.h"
#include "tests/unit/proto_util.h"

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

// The user classes the round trip reports.
static const char *const s_rt_names[] = {"HealthUser", "SyntheticUser"};
static const int64_t s_rt_counts[] = {3, 1};

// Six entries: random traffic over 20 seconds on the first four, with
// response times from 0 to 20 s; "/idle" stays empty; "refused" only
// fails (no response time), like a refused connection.
static apex_stats_t *s_traffic(void)
{
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    uint64_t rng = apex_rng_seed(42);
    static const char *const paths[][2] = {
        {"GET", "/health"},      {"POST", "/"},    {"GET", "/item?id=[id]"},
        {"CUSTOM", "synthetic"}, {"GET", "/idle"}, {"GET", "refused"},
    };
    for (size_t i = 0; i < 6; i++)
        apex_stats_get(stats, paths[i][0], paths[i][1],
                       PROTO_TEST_T0 + (double)i);
    for (int i = 0; i < 5000; i++) {
        apex_stats_entry_t *e = apex_stats_at(stats, (size_t)i % 4);
        double now =
            PROTO_TEST_T0 + (double)(apex_rng_next(&rng) % 20000) / 1000.0;
        uint64_t us = apex_rng_next(&rng) % (i % 10 ? 200000 : 20000000);
        apex_stats_record(stats, e, us, apex_rng_next(&rng) % 5000, now);
        if (apex_rng_next(&rng) % 9 == 0)
            apex_stats_record_failure(stats, e, PROTO_TEST_ERR_HEALTH, now);
    }
    apex_stats_entry_t *refused = apex_stats_at(stats, 5);
    for (int i = 0; i < 3; i++)
        apex_stats_record_failure(stats, refused, PROTO_TEST_ERR_REFUSED,
                                  PROTO_TEST_T0 + i);
    apex_stats_at(stats, 1)->num_none_requests = 7; // decoded reports do it
    return stats;
}

// What we read back: every entry, the total and the errors, exactly.
static void s_check_decoded(const apex_buf_t *buf, const apex_stats_t *stats)
{
    proto_msg_t *msg = proto_test_decode_buf(buf);
    CHECK_EQ(msg->type, PROTO_STATS);
    CHECK_STR(msg->node_id, PROTO_TEST_NODE);
    proto_test_check_counts(msg, s_rt_names, s_rt_counts, 2);
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
        proto_test_check_same_entry(apex_stats_at(got, j++), src);
    }
    proto_test_check_same_entry(apex_stats_total_const(got),
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
}

// What Locust reads: the keys in order and its rounded histogram.
static void s_check_wire(const apex_buf_t *buf, const apex_stats_t *stats)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&up, buf->data, buf->len, &off) ==
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
}

static void s_test_stats_round_trip(void)
{
    apex_stats_t *stats = s_traffic();
    proto_count_t pc[2] = {{(char *)s_rt_names[0], 3},
                           {(char *)s_rt_names[1], 1}};
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, pc, 2, 4, NULL, PROTO_TEST_NODE);
    s_check_decoded(&buf, stats);
    s_check_wire(&buf, stats);

    // An empty set (a worker's first report): no entries, a total with
    // None for the last request and min, and no errors.
    apex_stats_clear(stats, PROTO_TEST_T0);
    proto_encode_stats(&buf, stats, NULL, 0, 0, NULL, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    CHECK_EQ(apex_stats_size(msg->stats), 0);
    CHECK_EQ(apex_stats_error_count(msg->stats), 0);
    proto_test_check_same_entry(apex_stats_total_const(msg->stats),
                                apex_stats_total_const(stats));
    CHECK_EQ(msg->ncounts, 0);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);
    apex_stats_destroy(&stats);
    apex_buf_fini(&buf);
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
    proto_test_check_buckets(e, c->keys, c->key_counts, c->nkeys);
    uint64_t reqs = 0, fails = 0;
    for (size_t i = 0; i < c->nreq_secs; i++) {
        CHECK_EQ(proto_test_sec(e, c->req_secs[i], false), c->req_counts[i]);
        reqs += c->req_counts[i];
    }
    for (size_t i = 0; i < c->nfail_secs; i++) {
        CHECK_EQ(proto_test_sec(e, c->fail_secs[i], true), c->fail_counts[i]);
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

// The 2.12.1 worker's report (docs/protocol.md, "Captures and
// fixtures": capture B at 7.045 s):
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
    proto_test_check_counts(msg, classes, counts, 3);
    CHECK_EQ(msg->user_count, 4);
}

// The first report of a fresh 2.12.1 worker.
static void s_test_first_report(void)
{
    // The first report of a fresh 2.12.1 worker: nothing yet, and the
    // total's method is None.
    proto_msg_t *msg = proto_test_decode_fixture("stats-2.12.1-first");
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
    proto_test_check_counts(msg, classes, zeros, 3);
    CHECK_EQ(msg->user_count, 0);
    proto_msg_destroy(&msg);
}

// A decoded report comes from node and holds the entries and the total.
static void s_check_report(const proto_msg_t *msg, const char *node,
                           const s_entry_case_t *entries, size_t n,
                           const s_entry_case_t *total)
{
    CHECK_STR(msg->node_id, node);
    CHECK_EQ(apex_stats_size(msg->stats), n);
    for (size_t i = 0; i < n; i++)
        s_check_entry_case(apex_stats_at(msg->stats, i), &entries[i]);
    s_check_entry_case(apex_stats_total_const(msg->stats), total);
}

// The 2.12.1 report of capture B (docs/protocol.md, "Captures and
// fixtures"), and figures derived from it.
static void s_test_report_2121(void)
{
    proto_msg_t *msg = proto_test_decode_fixture("stats-2.12.1");
    s_check_report(msg, PROTO_TEST_NODE, s_b_entries,
                   sizeof s_b_entries / sizeof s_b_entries[0], &s_b_total);
    CHECK_EQ(apex_stats_error_count(msg->stats), 1);
    const apex_stats_error_t *e = apex_stats_error_at(msg->stats, 0);
    CHECK_STR(e->key, PROTO_TEST_KEY_HEALTH);
    CHECK_STR(e->method, "GET");
    CHECK_STR(e->name, "/health");
    CHECK_STR(e->error, PROTO_TEST_ERR_HEALTH);
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
}

// The 2.46.3 report: int keys, errors with first and last seen.
static void s_test_report_2463(void)
{
    proto_msg_t *msg = proto_test_decode_fixture("stats-2.46.3");
    s_check_report(msg, PROTO_TEST_NODE_2463, s_d_entries,
                   sizeof s_d_entries / sizeof s_d_entries[0], &s_d_total);
    CHECK_EQ(apex_stats_error_count(msg->stats), 2);
    const apex_stats_error_t *e = apex_stats_error_at(msg->stats, 0);
    CHECK_STR(e->key, PROTO_TEST_KEY_HEALTH);
    CHECK_EQ(e->occurrences, 4);
    CHECK(e->first_seen == 1795737230.849736);
    CHECK(e->last_seen == 1795737233.292491);
    e = apex_stats_error_at(msg->stats, 1);
    CHECK_STR(e->key, PROTO_TEST_KEY_REFUSED);
    CHECK_STR(e->name, "refused");
    CHECK_STR(e->error, PROTO_TEST_ERR_REFUSED);
    CHECK_EQ(e->occurrences, 3);
    CHECK(e->first_seen == 1795737232.8703754);
    CHECK(e->last_seen == 1795737233.088464);
    s_check_user_classes(msg);
    proto_msg_destroy(&msg);
}

// A master merging both reports.
static void s_test_merge_reports(void)
{
    // A master merging both reports, as Locust's worker_report does.
    proto_msg_t *old = proto_test_decode_fixture("stats-2.12.1");
    proto_msg_t *msg = proto_test_decode_fixture("stats-2.46.3");
    apex_stats_t *master = apex_stats_new(PROTO_TEST_T0 + 1000);
    proto_msg_t *reports[] = {old, msg};
    for (size_t r = 0; r < 2; r++) {
        const apex_stats_t *s = reports[r]->stats;
        for (size_t i = 0; i < apex_stats_size(s); i++) {
            const apex_stats_entry_t *src = apex_stats_at(s, i);
            apex_stats_entry_merge(apex_stats_get(master, src->method,
                                                  src->name,
                                                  PROTO_TEST_T0 + 1000),
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
    proto_test_check_buckets(syn, syn_keys, syn_counts, 7);
    CHECK_EQ(apex_stats_error_count(master), 2);
    const apex_stats_error_t *e = apex_stats_error_at(master, 0);
    CHECK_EQ(e->occurrences, 7);
    CHECK(e->first_seen == 1795737230.849736);
    proto_msg_destroy(&old);
    proto_msg_destroy(&msg);
    apex_stats_destroy(&master);
}

// Encode a report with these metrics (the encoder checks nothing) and
// expect the decoder to refuse it with `bad`.
static void s_decode_bad_metrics(const proto_metric_t *counters, size_t nc,
                                 const proto_metric_t *gauges, size_t ng,
                                 const char *bad)
{
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    proto_stats_extra_t extra = {
        .counters = counters, .ncounters = nc, .gauges = gauges, .ngauges = ng};
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    proto_test_decode_bad(buf.data, buf.len, bad);
    apex_buf_fini(&buf);
    apex_stats_destroy(&stats);
}

// Run-wide counters and gauges ride next to the stats (apex extension):
// round trip, absent is empty, and hostile maps are refused.
static void s_test_metrics(void)
{
    apex_stats_t *stats = s_traffic();
    const proto_metric_t counters[] = {{"ws_sessions", 3},
                                       {"ws_msgs_sent", 12345678901LL}};
    const proto_metric_t gauges[] = {{"ws_connections", 42}, {"lua_queue", -7}};
    proto_stats_extra_t extra = {.iterations = 5,
                                 .counters = counters,
                                 .ncounters = 2,
                                 .gauges = gauges,
                                 .ngauges = 2};
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, NULL, 0, 4, &extra, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->iterations, 5);
    CHECK_EQ(msg->ncounters, 2);
    CHECK_STR(msg->counters[1].name, "ws_msgs_sent");
    CHECK_EQ(msg->counters[1].value, 12345678901LL);
    CHECK_EQ(msg->ngauges, 2);
    CHECK_STR(msg->gauges[0].name, "ws_connections");
    CHECK_EQ(msg->gauges[1].value, -7);
    proto_msg_destroy(&msg);
    extra.ncounters = extra.ngauges = 0; // none: no keys at all
    proto_encode_stats(&buf, stats, NULL, 0, 4, &extra, PROTO_TEST_NODE);
    CHECK(!memmem(buf.data, buf.len, PROTO_COUNTERS_KEY, 13));
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->ncounters + msg->ngauges, 0);
    proto_msg_destroy(&msg);
    // Heartbeats carry the gauges too (every second, not every report).
    proto_encode_heartbeat_gauges(&buf, "running", 1.5, 1000, "0.1", gauges, 2,
                                  PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->type, PROTO_HEARTBEAT);
    CHECK_EQ(msg->ngauges, 2);
    CHECK_STR(msg->gauges[0].name, "ws_connections");
    CHECK_EQ(msg->gauges[0].value, 42);
    proto_msg_destroy(&msg);
    apex_stats_destroy(&stats);
    apex_buf_fini(&buf);
    const proto_metric_t negative[] = {{"ws_sessions", -1}};
    s_decode_bad_metrics(negative, 1, NULL, 0,
                         "stats: $.apex_counters.ws_sessions: expected a "
                         "count");
    const proto_metric_t spaced[] = {{"WS Connections", 1}};
    s_decode_bad_metrics(NULL, 0, spaced, 1,
                         "stats: $.apex_gauges: expected metric names");
    proto_metric_t many[PROTO_MAX_METRICS + 1];
    char names[PROTO_MAX_METRICS + 1][16];
    for (int i = 0; i <= PROTO_MAX_METRICS; i++) {
        snprintf(names[i], sizeof names[i], "g%d", i);
        many[i] = (proto_metric_t){names[i], i};
    }
    s_decode_bad_metrics(NULL, 0, many, PROTO_MAX_METRICS + 1,
                         "stats: $.apex_gauges: expected a map of at most "
                         "64 metrics");
}

// Checks' counts ride next to the stats (apex_checks): round trip, and
// hostile maps refused.
static void s_test_checks(void)
{
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    proto_check_t checks[] = {{"status is done", 7, 1},
                              {"h\xc3\xa9 \"quoted\"", 0, 3}};
    proto_stats_extra_t extra = {.checks = checks, .nchecks = 2};
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->nchecks, 2);
    CHECK_STR(msg->checks[0].name, "status is done");
    CHECK_EQ(msg->checks[0].passes, 7);
    CHECK_EQ(msg->checks[1].fails, 3);
    CHECK_STR(msg->checks[1].name, checks[1].name);
    proto_msg_destroy(&msg);
    proto_check_t empty[] = {{"", 1, 1}};
    extra.checks = empty;
    extra.nchecks = 1;
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    proto_test_decode_bad(buf.data, buf.len,
                          "stats: $.apex_checks: expected check names");
    apex_buf_fini(&buf);
    apex_stats_destroy(&stats);
}

// Scripts' trends ride as apex_trends (entries with exact histograms):
// round trip of values x1000, none sent without samples, too many
// refused; an exception's apex_count.
static void s_test_trends(void)
{
    apex_stats_t *stats = apex_stats_new(PROTO_TEST_T0);
    apex_stats_t *trends = apex_stats_new(PROTO_TEST_T0);
    apex_stats_entry_t *e =
        apex_stats_get(trends, "", "cart_size", PROTO_TEST_T0);
    for (uint64_t v = 1; v <= 100; v++)
        apex_stats_record(trends, e, v * 1000, 0, PROTO_TEST_T0);
    apex_stats_get(trends, "", "unused", PROTO_TEST_T0);
    proto_stats_extra_t extra = {.trends = trends};
    apex_buf_t buf;
    apex_buf_init(&buf);
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    proto_msg_t *msg = proto_test_decode_buf(&buf);
    CHECK(msg->trends);
    CHECK_EQ(apex_stats_size(msg->trends), 1);
    const apex_stats_entry_t *got =
        apex_stats_find(msg->trends, "", "cart_size");
    CHECK(got && got->num_requests == 100);
    CHECK_EQ(got->total_response_us, 5050 * 1000);
    uint64_t p50 = apex_histogram_percentile(got->hist, 0.5);
    CHECK(p50 >= 50000 - 50000 / 64 && p50 <= 51000 + 51000 / 64);
    proto_msg_destroy(&msg);
    // No samples: no key.
    apex_stats_reset(trends, PROTO_TEST_T0);
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK(msg->trends == NULL);
    proto_msg_destroy(&msg);
    // More entries than a worker may send.
    for (int i = 0; i <= PROTO_MAX_TRENDS; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        apex_stats_record(trends, apex_stats_get(trends, "", name, 0), 1, 0,
                          PROTO_TEST_T0);
    }
    proto_encode_stats(&buf, stats, NULL, 0, 0, &extra, PROTO_TEST_NODE);
    proto_test_decode_bad(buf.data, buf.len,
                          "stats: $.apex_trends: more entries than allowed");
    // An exception standing for 7.
    proto_encode_exception_count(&buf, "m.lua:3: boom", "stack traceback:", 7,
                                 PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->exception_count, 7);
    CHECK_STR(msg->traceback, "stack traceback:");
    proto_msg_destroy(&msg);
    proto_encode_exception(&buf, "x", "", PROTO_TEST_NODE);
    msg = proto_test_decode_buf(&buf);
    CHECK_EQ(msg->exception_count, 1);
    proto_msg_destroy(&msg);
    apex_buf_fini(&buf);
    apex_stats_destroy(&trends);
    apex_stats_destroy(&stats);
}

void test_proto_stats(bool verbose)
{
    s_test_checks();
    s_test_trends();
    (void)verbose;
    s_test_stats_round_trip();
    s_test_metrics();
    s_test_first_report();
    s_test_report_2121();
    s_test_report_2463();
    s_test_merge_reports();
}
