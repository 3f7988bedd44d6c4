// proto/stats_entry.c - one StatsEntryDict, encoded and decoded (see
// stats_entry.h).
//
// Locust's fields are milliseconds (floats) and unix seconds; ours are
// microseconds and exact histograms. Encoding writes what Locust reads
// (response_times rounded as Locust rounds its keys, per-second maps of
// the non-zero seconds) and adds our exact histogram as bytes under
// PROTO_HIST_KEY; decoding prefers that histogram and falls back to
// response_times for Locust's workers. Each encoder below has its
// decoder next to it.
#include "proto/stats_entry.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "proto/proto.h"

#define S_US_PER_MS 1000.0
#define S_ENTRY_KEYS 15 // Locust's 14 keys and apex_hist

// ---------------------------------------------------------------------
// Times: milliseconds on the wire, microseconds in memory

static void s_pack_ms(msgpack_packer *pk, uint64_t us)
{
    msgpack_pack_double(pk, (double)us / S_US_PER_MS);
}

// Milliseconds (int or float) to microseconds, range-checked.
static int s_ms_to_us(proto_field_ctx_t *ctx, double ms, uint64_t *us,
                      const char *path, const char *key)
{
    if (ms < 0 || ms > PROTO_MAX_RESPONSE_MS)
        return proto_field_fail_at(ctx, path, key,
                                   "response time out of range");
    *us = (uint64_t)llround(ms * S_US_PER_MS);
    return 0;
}

// ---------------------------------------------------------------------
// Per-second maps {unix second: count}: num_reqs_per_sec and
// num_fail_per_sec

static void s_pack_seconds(msgpack_packer *pk, const apex_stats_entry_t *e,
                           bool fails)
{
    size_t n = 0;
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++)
        if (e->seconds[i].sec &&
            (fails ? e->seconds[i].fails : e->seconds[i].reqs))
            n++;
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < APEX_STATS_SECONDS; i++) {
        const apex_stats_second_t *s = &e->seconds[i];
        uint64_t v = fails ? s->fails : s->reqs;
        if (s->sec && v) {
            msgpack_pack_int64(pk, s->sec);
            msgpack_pack_uint64(pk, v);
        }
    }
}

// Keys int or float; nil is an empty map.
static int s_decode_seconds(proto_field_ctx_t *ctx, const msgpack_object *o,
                            apex_stats_entry_t *e, bool fails, const char *path)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, path, "expected a map of second to count");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        double sec;
        uint64_t count;
        if (!proto_field_number(&kv->key, &sec) || sec < 0 ||
            sec > PROTO_MAX_TIMESTAMP)
            return proto_field_fail(ctx, path, "expected unix seconds as keys");
        if (!proto_field_count(&kv->val, &count))
            return proto_field_fail(ctx, path, "expected counts as values");
        apex_stats_entry_add_second(e, (int64_t)sec, fails ? 0 : count,
                                    fails ? count : 0);
    }
    return 0;
}

// ---------------------------------------------------------------------
// Histograms: Locust's {ms bucket: count} and our exact bytes

static void s_pack_response_times(msgpack_packer *pk,
                                  const apex_histogram_t *hist,
                                  apex_locust_bucket_t *buckets)
{
    size_t n = apex_histogram_to_locust(hist, buckets, APEX_HISTOGRAM_BUCKETS);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_int64(pk, buckets[i].ms);
        msgpack_pack_uint64(pk, buckets[i].count);
    }
}

// Keys int, uint or float.
static int s_decode_response_times(proto_field_ctx_t *ctx,
                                   const msgpack_object *o,
                                   apex_histogram_t *hist, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, path,
                                "expected a map of milliseconds to count");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        double ms;
        uint64_t count;
        if (!proto_field_number(&kv->key, &ms) || ms < 0 ||
            ms > PROTO_MAX_RESPONSE_MS)
            return proto_field_fail(ctx, path, "expected milliseconds as keys");
        if (!proto_field_count(&kv->val, &count))
            return proto_field_fail(ctx, path, "expected counts as values");
        apex_histogram_record_n(hist, (uint64_t)llround(ms * S_US_PER_MS),
                                count);
    }
    return 0;
}

static void s_pack_hist(msgpack_packer *pk, const char *key,
                        const apex_histogram_t *hist, uint8_t *hist_buf)
{
    proto_field_pack_str(pk, key);
    size_t size = apex_histogram_encode(hist, hist_buf);
    msgpack_pack_bin(pk, size);
    msgpack_pack_bin_body(pk, hist_buf, size);
}

// Merge the encoded histogram o (bytes) into *into, created if NULL.
static int s_merge_hist(proto_field_ctx_t *ctx, const msgpack_object *o,
                        apex_histogram_t **into, const char *path,
                        const char *key)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return proto_field_fail_at(ctx, path, key, "expected bytes");
    apex_error_t herr = {""};
    apex_histogram_t *h =
        apex_histogram_decode(o->via.bin.ptr, o->via.bin.size, &herr);
    if (!h)
        return proto_field_fail_at(ctx, path, key, herr.msg);
    if (!*into)
        *into = apex_histogram_new();
    apex_histogram_merge(*into, h);
    apex_histogram_destroy(&h);
    return 0;
}

static int s_decode_hists(proto_field_ctx_t *ctx, const msgpack_object *o,
                          apex_stats_entry_t *e, const char *path)
{
    const msgpack_object *hist = proto_field_get(o, PROTO_HIST_KEY);
    if (hist && hist->type != MSGPACK_OBJECT_NIL) {
        if (s_merge_hist(ctx, hist, &e->hist, path, PROTO_HIST_KEY))
            return -1;
    } else {
        const msgpack_object *rt = proto_field_get(o, "response_times");
        char where[PROTO_MAX_PATH];
        snprintf(where, sizeof where, "%s.response_times", path);
        if (!rt)
            return proto_field_fail(ctx, where, "missing");
        if (s_decode_response_times(ctx, rt, e->hist, where))
            return -1;
    }
    const msgpack_object *service = proto_field_get(o, PROTO_SERVICE_HIST_KEY);
    if (service && service->type != MSGPACK_OBJECT_NIL &&
        s_merge_hist(ctx, service, &e->service, path, PROTO_SERVICE_HIST_KEY))
        return -1;
    return 0;
}

// ---------------------------------------------------------------------
// The entry

void proto_stats_entry_encode(msgpack_packer *pk, const apex_stats_entry_t *e,
                              apex_locust_bucket_t *buckets, uint8_t *hist_buf)
{
    bool service = e->service && apex_histogram_count(e->service) > 0;
    msgpack_pack_map(pk, service ? S_ENTRY_KEYS + 1 : S_ENTRY_KEYS);
    proto_field_pack_str(pk, "name");
    proto_field_pack_str(pk, e->name);
    proto_field_pack_str(pk, "method");
    proto_field_pack_str(pk, e->method);
    proto_field_pack_str(pk, "last_request_timestamp");
    if (e->last_request_timestamp > 0)
        msgpack_pack_double(pk, e->last_request_timestamp);
    else
        msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "start_time");
    msgpack_pack_double(pk, e->start_time);
    proto_field_pack_str(pk, "num_requests");
    msgpack_pack_uint64(pk, e->num_requests);
    proto_field_pack_str(pk, "num_none_requests");
    msgpack_pack_uint64(pk, e->num_none_requests);
    proto_field_pack_str(pk, "num_failures");
    msgpack_pack_uint64(pk, e->num_failures);
    proto_field_pack_str(pk, "total_response_time");
    s_pack_ms(pk, e->total_response_us);
    proto_field_pack_str(pk, "max_response_time");
    s_pack_ms(pk, e->max_response_us);
    proto_field_pack_str(pk, "min_response_time");
    if (e->min_response_us != APEX_STATS_NO_MIN)
        s_pack_ms(pk, e->min_response_us);
    else
        msgpack_pack_nil(pk);
    proto_field_pack_str(pk, "total_content_length");
    msgpack_pack_uint64(pk, e->total_content_length);
    proto_field_pack_str(pk, "response_times");
    s_pack_response_times(pk, e->hist, buckets);
    proto_field_pack_str(pk, "num_reqs_per_sec");
    s_pack_seconds(pk, e, false);
    proto_field_pack_str(pk, "num_fail_per_sec");
    s_pack_seconds(pk, e, true);
    s_pack_hist(pk, PROTO_HIST_KEY, e->hist, hist_buf);
    if (service)
        s_pack_hist(pk, PROTO_SERVICE_HIST_KEY, e->service, hist_buf);
}

// The scalar fields: counts, times (ms to us) and timestamps.
static int s_decode_numbers(proto_field_ctx_t *ctx, const msgpack_object *o,
                            apex_stats_entry_t *e, const char *path)
{
    double start = 0, last = 0, total = 0, max = 0, min = NAN; // NaN: None
    if (proto_field_get_number(ctx, o, "start_time", true, &start, path) ||
        proto_field_get_number(ctx, o, "last_request_timestamp", true, &last,
                               path) ||
        proto_field_get_count(ctx, o, "num_requests", false, &e->num_requests,
                              path) ||
        proto_field_get_count(ctx, o, "num_none_requests", true,
                              &e->num_none_requests, path) ||
        proto_field_get_count(ctx, o, "num_failures", false, &e->num_failures,
                              path) ||
        proto_field_get_number(ctx, o, "total_response_time", false, &total,
                               path) ||
        proto_field_get_number(ctx, o, "max_response_time", false, &max,
                               path) ||
        proto_field_get_number(ctx, o, "min_response_time", true, &min, path) ||
        proto_field_get_count(ctx, o, "total_content_length", true,
                              &e->total_content_length, path))
        return -1;
    if (start < 0 || last < 0 || start > PROTO_MAX_TIMESTAMP ||
        last > PROTO_MAX_TIMESTAMP)
        return proto_field_fail(ctx, path, "timestamp out of range");
    e->start_time = start;
    e->last_request_timestamp = last;
    if (s_ms_to_us(ctx, total, &e->total_response_us, path,
                   "total_response_time") ||
        s_ms_to_us(ctx, max, &e->max_response_us, path, "max_response_time"))
        return -1;
    if (!isnan(min) &&
        s_ms_to_us(ctx, min, &e->min_response_us, path, "min_response_time"))
        return -1;
    if (e->num_none_requests > e->num_requests)
        return proto_field_fail(ctx, path, "num_none_requests > num_requests");
    return 0;
}

int proto_stats_entry_decode(proto_field_ctx_t *ctx, const msgpack_object *o,
                             apex_stats_entry_t *e, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, path, "expected a map");
    if (s_decode_numbers(ctx, o, e, path) || s_decode_hists(ctx, o, e, path))
        return -1;
    char where[PROTO_MAX_PATH];
    const msgpack_object *reqs = proto_field_get(o, "num_reqs_per_sec");
    snprintf(where, sizeof where, "%s.num_reqs_per_sec", path);
    if (reqs && s_decode_seconds(ctx, reqs, e, false, where))
        return -1;
    const msgpack_object *fails = proto_field_get(o, "num_fail_per_sec");
    snprintf(where, sizeof where, "%s.num_fail_per_sec", path);
    if (fails && s_decode_seconds(ctx, fails, e, true, where))
        return -1;
    return 0;
}
