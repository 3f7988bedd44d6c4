// tests/unit/proto_util.c - helpers of the proto tests (see
// proto_util.h). Fixtures are read relative to the top of the tree,
// where the tests run.
#include "tests/unit/proto_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"

#define S_FIXTURES "tests/unit/data/locust/"

proto_msg_t *proto_test_decode_ok(const void *data, size_t size)
{
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(data, size, &err);
    if (!msg)
        fprintf(stderr, "decode of %zu bytes failed: %s\n", size, err.msg);
    CHECK(msg != NULL);
    CHECK_STR(err.msg, "");
    return msg;
}

proto_msg_t *proto_test_decode_buf(const apex_buf_t *buf)
{
    return proto_test_decode_ok(buf->data, buf->len);
}

// Decoding must fail with a message that contains `what`.
void proto_test_decode_bad(const void *data, size_t size, const char *what)
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
uint8_t *proto_test_fixture(const char *name, size_t *size)
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

proto_msg_t *proto_test_decode_fixture(const char *name)
{
    size_t size;
    uint8_t *data = proto_test_fixture(name, &size);
    proto_msg_t *msg = proto_test_decode_ok(data, size);
    free(data);
    return msg;
}

void proto_test_check_counts(const proto_msg_t *msg, const char *const *names,
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

void proto_test_check_same_entry(const apex_stats_entry_t *a,
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
uint64_t proto_test_sec(const apex_stats_entry_t *e, int64_t sec, bool fails)
{
    const apex_stats_second_t *s =
        &e->seconds[(uint64_t)sec % APEX_STATS_SECONDS];
    if (s->sec != sec)
        return 0;
    return fails ? s->fails : s->reqs;
}

// An entry's histogram as Locust's {ms: count} map, compared with the
// expected keys and counts (ascending).
void proto_test_check_buckets(const apex_stats_entry_t *e, const int64_t *keys,
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

void proto_test_writer_init(proto_test_writer_t *w)
{
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

void proto_test_str(msgpack_packer *pk, const char *text)
{
    size_t n = strlen(text);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, text, n);
}

void proto_test_v_text(msgpack_packer *pk)
{
    proto_test_str(pk, "x");
}

void proto_test_v_frac(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
}

void proto_test_v_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}

void proto_test_v_int(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 5);
}

void proto_test_v_list(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
}

void proto_test_v_map_str_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "a");
    msgpack_pack_int(pk, 1);
}

void proto_test_v_class_neg(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_test_str(pk, "HealthUser");
    msgpack_pack_int(pk, -1);
}
