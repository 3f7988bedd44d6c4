// proto/proto.c - see proto.h.
//
// Decoding runs in two passes. s_check() walks the raw bytes once and
// rejects anything whose declared sizes exceed the bytes present, or that
// nests deeper than PROTO_MAX_DEPTH, so msgpack-c's unpacker (which
// allocates a container's slots before reading them) can never be made to
// allocate more than a small multiple of the frame size. Then msgpack-c
// builds the object tree in a zone and the s_get_* helpers pick fields
// out with type checks, writing "path: expected ..." errors.
#include "proto/proto.h"

#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"

#define PROTO_MAX_RESPONSE_MS 1e12 // ~31 years: beyond is nonsense
#define PROTO_MAX_COUNT (1ULL << 53)
#define PROTO_MAX_TIMESTAMP 1e11 // unix seconds (year 5138): beyond is junk

// ---------------------------------------------------------------------
// Pass 1: structural check of the raw bytes

static uint64_t s_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

// Skip one object starting at *p; false if it is malformed, truncated,
// too deep, or declares more elements than bytes remain.
static bool s_skip(const uint8_t **p, const uint8_t *end, int depth)
{
    if (depth > PROTO_MAX_DEPTH || *p >= end)
        return false;
    uint8_t b = *(*p)++;
    size_t avail = (size_t)(end - *p);
    uint64_t len = 0;   // payload bytes to skip
    uint64_t items = 0; // nested objects to skip
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true;
    if ((b & 0xe0) == 0xa0)
        len = b & 0x1f;
    else if ((b & 0xf0) == 0x90)
        items = b & 0x0f;
    else if ((b & 0xf0) == 0x80)
        items = 2 * (uint64_t)(b & 0x0f);
    else {
        static const struct {
            uint8_t byte; // type byte
            uint8_t size; // bytes of length or value that follow
            uint8_t kind; // 0 fixed value, 1 length of bytes, 2 array,
                          // 3 map, 4 ext (length + 1 type byte)
        } types[] = {
            {0xc4, 1, 1},  {0xc5, 2, 1}, {0xc6, 4, 1}, {0xc7, 1, 4},
            {0xc8, 2, 4},  {0xc9, 4, 4}, {0xca, 4, 0}, {0xcb, 8, 0},
            {0xcc, 1, 0},  {0xcd, 2, 0}, {0xce, 4, 0}, {0xcf, 8, 0},
            {0xd0, 1, 0},  {0xd1, 2, 0}, {0xd2, 4, 0}, {0xd3, 8, 0},
            {0xd4, 2, 0},  {0xd5, 3, 0}, {0xd6, 5, 0}, {0xd7, 9, 0},
            {0xd8, 17, 0}, {0xd9, 1, 1}, {0xda, 2, 1}, {0xdb, 4, 1},
            {0xdc, 2, 2},  {0xdd, 4, 2}, {0xde, 2, 3}, {0xdf, 4, 3},
        };
        size_t i = 0;
        size_t n = sizeof types / sizeof types[0];
        while (i < n && types[i].byte != b)
            i++;
        if (i == n || avail < types[i].size)
            return false; // 0xc1 (never used) or truncated
        uint64_t v = s_be(*p, types[i].size);
        switch (types[i].kind) {
        case 0:
            *p += types[i].size;
            return true;
        case 1:
            len = v;
            break;
        case 2:
            items = v;
            break;
        case 3:
            items = 2 * v;
            break;
        default:
            len = v + 1;
            break;
        }
        *p += types[i].size;
        avail -= types[i].size;
    }
    if (len > avail || items > avail)
        return false;
    *p += len;
    for (uint64_t i = 0; i < items; i++)
        if (!s_skip(p, end, depth + 1))
            return false;
    return true;
}

// ---------------------------------------------------------------------
// Pass 2: typed field access

typedef struct {
    apex_error_t *err; // where errors go
    const char *type;  // message type, prefixes every error
} s_ctx_t;

static int s_fail(s_ctx_t *ctx, const char *path, const char *what)
{
    return apex_error_set(ctx->err, "%s: %s: %s", ctx->type, path, what);
}

static bool s_is_str(const msgpack_object *o, const char *text)
{
    size_t n = strlen(text);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, text, n) == 0;
}

static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_is_str(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static bool s_number(const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = o->via.f64;
        return isfinite(*out);
    default:
        return false;
    }
}

// A non-negative integral count (int, or a float with no fraction).
static bool s_count(const msgpack_object *o, uint64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = o->via.u64;
        return *out < PROTO_MAX_COUNT;
    }
    double d;
    if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER && s_number(o, &d) &&
        d >= 0 && d < (double)PROTO_MAX_COUNT && d == floor(d)) {
        *out = (uint64_t)d;
        return true;
    }
    return false;
}

static bool s_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->via.u64 <= (uint64_t)INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    double d;
    if (s_number(o, &d) && d == floor(d) && fabs(d) < 9e15) {
        *out = (int64_t)d;
        return true;
    }
    return false;
}

static char *s_strdup_obj(const msgpack_object *o)
{
    return apex_strndup(o->via.str.ptr, o->via.str.size);
}

// A required or optional string field: 0 and *out set (NULL when nil or
// absent and optional), -1 with err set otherwise.
static int s_get_str(s_ctx_t *ctx, const msgpack_object *map, const char *key,
                     bool optional, char **out, const char *path)
{
    const msgpack_object *o = s_get(map, key);
    *out = NULL;
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (optional)
            return 0;
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, o ? "expected a string, got nil" : "missing");
    }
    if (o->type != MSGPACK_OBJECT_STR) {
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "expected a string");
    }
    *out = s_strdup_obj(o);
    return 0;
}

static int s_get_number(s_ctx_t *ctx, const msgpack_object *map,
                        const char *key, bool optional, double *out,
                        const char *path)
{
    const msgpack_object *o = s_get(map, key);
    if (!o || (optional && o->type == MSGPACK_OBJECT_NIL)) {
        if (optional)
            return 0;
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "missing");
    }
    if (!s_number(o, out)) {
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "expected a finite number");
    }
    return 0;
}

static int s_get_count(s_ctx_t *ctx, const msgpack_object *map, const char *key,
                       bool optional, uint64_t *out, const char *path)
{
    const msgpack_object *o = s_get(map, key);
    if (!o) {
        if (optional)
            return 0;
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "missing");
    }
    if (!s_count(o, out)) {
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "expected a non-negative integer");
    }
    return 0;
}

// Milliseconds (int or float) to microseconds, range-checked.
static int s_ms_to_us(s_ctx_t *ctx, double ms, uint64_t *us, const char *path,
                      const char *key)
{
    if (ms < 0 || ms > PROTO_MAX_RESPONSE_MS) {
        char where[256];
        snprintf(where, sizeof where, "%s.%s", path, key);
        return s_fail(ctx, where, "response time out of range");
    }
    *us = (uint64_t)llround(ms * 1000.0);
    return 0;
}

static int s_decode_counts(s_ctx_t *ctx, const msgpack_object *o,
                           proto_msg_t *msg, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(ctx, path, "expected a map of class name to count");
    uint32_t n = o->via.map.size;
    msg->counts = apex_calloc(n ? n : 1, sizeof *msg->counts);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int64_t count;
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return s_fail(ctx, path, "expected class names as keys");
        if (!s_int(&kv->val, &count) || count < 0 || count > INT32_MAX) {
            char where[256];
            snprintf(where, sizeof where, "%s.%.*s", path,
                     (int)kv->key.via.str.size, kv->key.via.str.ptr);
            return s_fail(ctx, where, "expected a user count");
        }
        msg->counts[i].name = s_strdup_obj(&kv->key);
        msg->counts[i].count = count;
        msg->ncounts++;
    }
    return 0;
}

// Per-second maps {unix second: count}: keys int or float.
static int s_decode_seconds(s_ctx_t *ctx, const msgpack_object *o,
                            apex_stats_entry_t *e, bool fails, const char *path)
{
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(ctx, path, "expected a map of second to count");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        double sec;
        uint64_t count;
        if (!s_number(&kv->key, &sec) || sec < 0 || sec > 1e11)
            return s_fail(ctx, path, "expected unix seconds as keys");
        if (!s_count(&kv->val, &count))
            return s_fail(ctx, path, "expected counts as values");
        apex_stats_entry_add_second(e, (int64_t)sec, fails ? 0 : count,
                                    fails ? count : 0);
    }
    return 0;
}

// Locust's {ms bucket: count} histogram (keys int, uint or float).
static int s_decode_response_times(s_ctx_t *ctx, const msgpack_object *o,
                                   apex_histogram_t *hist, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(ctx, path, "expected a map of milliseconds to count");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        double ms;
        uint64_t count;
        if (!s_number(&kv->key, &ms) || ms < 0 || ms > PROTO_MAX_RESPONSE_MS)
            return s_fail(ctx, path, "expected milliseconds as keys");
        if (!s_count(&kv->val, &count))
            return s_fail(ctx, path, "expected counts as values");
        apex_histogram_record_n(hist, (uint64_t)llround(ms * 1000.0), count);
    }
    return 0;
}

// One StatsEntryDict into a scratch entry e (fields reset beforehand).
static int s_decode_entry(s_ctx_t *ctx, const msgpack_object *o,
                          apex_stats_entry_t *e, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(ctx, path, "expected a map");
    double start = 0, last = 0, total = 0, max = 0, min = NAN; // NaN: None
    if (s_get_number(ctx, o, "start_time", true, &start, path) ||
        s_get_number(ctx, o, "last_request_timestamp", true, &last, path) ||
        s_get_count(ctx, o, "num_requests", false, &e->num_requests, path) ||
        s_get_count(ctx, o, "num_none_requests", true, &e->num_none_requests,
                    path) ||
        s_get_count(ctx, o, "num_failures", false, &e->num_failures, path) ||
        s_get_number(ctx, o, "total_response_time", false, &total, path) ||
        s_get_number(ctx, o, "max_response_time", false, &max, path) ||
        s_get_number(ctx, o, "min_response_time", true, &min, path) ||
        s_get_count(ctx, o, "total_content_length", true,
                    &e->total_content_length, path))
        return -1;
    if (start < 0 || last < 0 || start > PROTO_MAX_TIMESTAMP ||
        last > PROTO_MAX_TIMESTAMP)
        return s_fail(ctx, path, "timestamp out of range");
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
        return s_fail(ctx, path, "num_none_requests > num_requests");

    char where[256];
    const msgpack_object *hist = s_get(o, PROTO_HIST_KEY);
    if (hist && hist->type == MSGPACK_OBJECT_BIN) {
        apex_error_t herr = {""};
        apex_histogram_t *h =
            apex_histogram_decode(hist->via.bin.ptr, hist->via.bin.size, &herr);
        if (!h) {
            snprintf(where, sizeof where, "%s.%s", path, PROTO_HIST_KEY);
            return s_fail(ctx, where, herr.msg);
        }
        apex_histogram_merge(e->hist, h);
        apex_histogram_destroy(&h);
    } else if (hist && hist->type != MSGPACK_OBJECT_NIL) {
        snprintf(where, sizeof where, "%s.%s", path, PROTO_HIST_KEY);
        return s_fail(ctx, where, "expected bytes");
    } else {
        const msgpack_object *rt = s_get(o, "response_times");
        snprintf(where, sizeof where, "%s.response_times", path);
        if (!rt)
            return s_fail(ctx, where, "missing");
        if (s_decode_response_times(ctx, rt, e->hist, where))
            return -1;
    }
    const msgpack_object *service = s_get(o, PROTO_SERVICE_HIST_KEY);
    if (service && service->type != MSGPACK_OBJECT_NIL) {
        snprintf(where, sizeof where, "%s.%s", path, PROTO_SERVICE_HIST_KEY);
        if (service->type != MSGPACK_OBJECT_BIN)
            return s_fail(ctx, where, "expected bytes");
        apex_error_t herr = {""};
        apex_histogram_t *h = apex_histogram_decode(
            service->via.bin.ptr, service->via.bin.size, &herr);
        if (!h)
            return s_fail(ctx, where, herr.msg);
        if (!e->service)
            e->service = apex_histogram_new();
        apex_histogram_merge(e->service, h);
        apex_histogram_destroy(&h);
    }
    const msgpack_object *reqs = s_get(o, "num_reqs_per_sec");
    snprintf(where, sizeof where, "%s.num_reqs_per_sec", path);
    if (reqs && s_decode_seconds(ctx, reqs, e, false, where))
        return -1;
    const msgpack_object *fails = s_get(o, "num_fail_per_sec");
    snprintf(where, sizeof where, "%s.num_fail_per_sec", path);
    if (fails && s_decode_seconds(ctx, fails, e, true, where))
        return -1;
    return 0;
}

static void s_scratch_init(apex_stats_entry_t *e)
{
    memset(e, 0, sizeof *e);
    e->hist = apex_histogram_new();
    apex_stats_entry_reset(e, 0);
}

static int s_decode_stats(s_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg)
{
    if (data->type != MSGPACK_OBJECT_MAP)
        return s_fail(ctx, "$", "expected a map");
    msg->stats = apex_stats_new(apex_wall_time());
    apex_stats_entry_t scratch;
    s_scratch_init(&scratch);
    int rc = 0;

    const msgpack_object *list = s_get(data, "stats");
    if (!list || list->type != MSGPACK_OBJECT_ARRAY) {
        rc = s_fail(ctx, "$.stats", "expected a list");
        goto done;
    }
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *o = &list->via.array.ptr[i];
        char path[64];
        snprintf(path, sizeof path, "$.stats[%u]", i);
        char *name = NULL, *method = NULL;
        apex_stats_entry_reset(&scratch, 0);
        if (s_get_str(ctx, o, "name", false, &name, path) ||
            s_get_str(ctx, o, "method", true, &method, path) ||
            s_decode_entry(ctx, o, &scratch, path)) {
            free(name);
            free(method);
            rc = -1;
            goto done;
        }
        apex_stats_entry_t *e = apex_stats_get(msg->stats, method ? method : "",
                                               name, scratch.start_time);
        apex_stats_entry_merge(e, &scratch);
        free(name);
        free(method);
    }

    const msgpack_object *total = s_get(data, "stats_total");
    if (!total) {
        rc = s_fail(ctx, "$.stats_total", "missing");
        goto done;
    }
    apex_stats_entry_reset(&scratch, 0);
    if (s_decode_entry(ctx, total, &scratch, "$.stats_total")) {
        rc = -1;
        goto done;
    }
    apex_stats_entry_t *t = apex_stats_total(msg->stats);
    apex_stats_entry_reset(t, scratch.start_time);
    apex_stats_entry_merge(t, &scratch);

    const msgpack_object *errors = s_get(data, "errors");
    if (errors && errors->type != MSGPACK_OBJECT_NIL) {
        if (errors->type != MSGPACK_OBJECT_MAP) {
            rc = s_fail(ctx, "$.errors", "expected a map");
            goto done;
        }
        for (uint32_t i = 0; i < errors->via.map.size; i++) {
            const msgpack_object_kv *kv = &errors->via.map.ptr[i];
            char path[96];
            snprintf(path, sizeof path, "$.errors[%u]", i);
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                kv->key.via.str.size >= APEX_SHA256_HEX) {
                rc = s_fail(ctx, path, "expected a key of at most 64 chars");
                goto done;
            }
            if (kv->val.type != MSGPACK_OBJECT_MAP) {
                rc = s_fail(ctx, path, "expected a map");
                goto done;
            }
            apex_stats_error_t e = {.occurrences = 0};
            memcpy(e.key, kv->key.via.str.ptr, kv->key.via.str.size);
            e.key[kv->key.via.str.size] = '\0';
            if (s_get_str(ctx, &kv->val, "name", true, &e.name, path) ||
                s_get_str(ctx, &kv->val, "method", true, &e.method, path) ||
                s_get_str(ctx, &kv->val, "error", true, &e.error, path) ||
                s_get_count(ctx, &kv->val, "occurrences", false, &e.occurrences,
                            path) ||
                s_get_number(ctx, &kv->val, "first_seen", true, &e.first_seen,
                             path) ||
                s_get_number(ctx, &kv->val, "last_seen", true, &e.last_seen,
                             path)) {
                rc = -1;
            } else if (e.first_seen < 0 || e.last_seen < 0 ||
                       e.first_seen > PROTO_MAX_TIMESTAMP ||
                       e.last_seen > PROTO_MAX_TIMESTAMP) {
                rc = s_fail(ctx, path, "first_seen or last_seen out of range");
            } else {
                apex_stats_merge_error(msg->stats, &e);
            }
            free(e.name);
            free(e.method);
            free(e.error);
            if (rc)
                goto done;
        }
    }

    const msgpack_object *counts = s_get(data, "user_classes_count");
    if (counts && counts->type != MSGPACK_OBJECT_NIL &&
        s_decode_counts(ctx, counts, msg, "$.user_classes_count")) {
        rc = -1;
        goto done;
    }
    const msgpack_object *users = s_get(data, "user_count");
    if (users && users->type != MSGPACK_OBJECT_NIL &&
        (!s_int(users, &msg->user_count) || msg->user_count < 0)) {
        rc = s_fail(ctx, "$.user_count", "expected a user count");
        goto done;
    }
    uint64_t n = 0;
    if (s_get_count(ctx, data, PROTO_ITERATIONS_KEY, true, &n, "$")) {
        rc = -1;
        goto done;
    }
    msg->iterations = n;
    n = 0;
    if (s_get_count(ctx, data, PROTO_DROPPED_KEY, true, &n, "$")) {
        rc = -1;
        goto done;
    }
    msg->dropped_iterations = n;
done:
    apex_histogram_destroy(&scratch.hist);
    apex_histogram_destroy(&scratch.service);
    return rc;
}

static const struct {
    proto_type_t type; // enum value
    const char *name;  // wire name
} s_types[] = {
    {PROTO_CLIENT_READY, "client_ready"},
    {PROTO_HEARTBEAT, "heartbeat"},
    {PROTO_STATS, "stats"},
    {PROTO_SPAWNING, "spawning"},
    {PROTO_SPAWNING_COMPLETE, "spawning_complete"},
    {PROTO_CLIENT_STOPPED, "client_stopped"},
    {PROTO_QUIT, "quit"},
    {PROTO_EXCEPTION, "exception"},
    {PROTO_LOGS, "logs"},
    {PROTO_ACK, "ack"},
    {PROTO_SPAWN, "spawn"},
    {PROTO_STOP, "stop"},
    {PROTO_RECONNECT, "reconnect"},
};

const char *proto_type_name(proto_type_t type)
{
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (s_types[i].type == type)
            return s_types[i].name;
    return "unknown";
}

static int s_decode_data(s_ctx_t *ctx, const msgpack_object *data,
                         proto_msg_t *msg)
{
    switch (msg->type) {
    case PROTO_CLIENT_READY:
        if (data->type == MSGPACK_OBJECT_STR)
            msg->version = s_strdup_obj(data);
        else if (!s_int(data, &msg->version_int))
            return s_fail(ctx, "$", "expected a version string or -1");
        return 0;
    case PROTO_HEARTBEAT:
        if (data->type == MSGPACK_OBJECT_NIL)
            return 0; // the master's reply
        if (data->type != MSGPACK_OBJECT_MAP)
            return s_fail(ctx, "$", "expected a map");
        {
            double mem = 0;
            if (s_get_str(ctx, data, "state", false, &msg->state, "$") ||
                s_get_number(ctx, data, "current_cpu_usage", false,
                             &msg->cpu_usage, "$") ||
                s_get_number(ctx, data, "current_memory_usage", true, &mem,
                             "$") ||
                s_get_str(ctx, data, PROTO_APEX_VERSION_KEY, true,
                          &msg->apex_version, "$"))
                return -1;
            if (mem < 0 || mem >= 0x1p64) // beyond uint64_t: undefined
                return s_fail(ctx, "$.current_memory_usage",
                              "expected a size in bytes");
            msg->memory_usage = (uint64_t)mem;
        }
        return 0;
    case PROTO_STATS:
        return s_decode_stats(ctx, data, msg);
    case PROTO_SPAWNING_COMPLETE:
        if (data->type != MSGPACK_OBJECT_MAP)
            return s_fail(ctx, "$", "expected a map");
        {
            const msgpack_object *c = s_get(data, "user_classes_count");
            if (c && s_decode_counts(ctx, c, msg, "$.user_classes_count"))
                return -1;
            const msgpack_object *u = s_get(data, "user_count");
            if (u && (!s_int(u, &msg->user_count) || msg->user_count < 0))
                return s_fail(ctx, "$.user_count", "expected a user count");
        }
        return 0;
    case PROTO_EXCEPTION:
        if (data->type != MSGPACK_OBJECT_MAP)
            return s_fail(ctx, "$", "expected a map");
        return s_get_str(ctx, data, "msg", true, &msg->msg, "$") ||
                       s_get_str(ctx, data, "traceback", true, &msg->traceback,
                                 "$")
                   ? -1
                   : 0;
    case PROTO_ACK:
        if (data->type == MSGPACK_OBJECT_MAP) {
            const msgpack_object *i = s_get(data, "index");
            if (i && !s_int(i, &msg->index))
                return s_fail(ctx, "$.index", "expected an integer");
        }
        return 0;
    case PROTO_SPAWN:
        if (data->type != MSGPACK_OBJECT_MAP)
            return s_fail(ctx, "$", "expected a map");
        {
            const msgpack_object *c = s_get(data, "user_classes_count");
            if (!c)
                return s_fail(ctx, "$.user_classes_count", "missing");
            if (s_decode_counts(ctx, c, msg, "$.user_classes_count") ||
                s_get_number(ctx, data, "timestamp", false, &msg->timestamp,
                             "$") ||
                s_get_str(ctx, data, "host", true, &msg->host, "$"))
                return -1;
            double stop = -1;
            if (s_get_number(ctx, data, "stop_timeout", true, &stop, "$"))
                return -1;
            msg->stop_timeout = stop < 0 ? -1 : stop;
            const msgpack_object *opts = s_get(data, "parsed_options");
            if (opts && opts->type == MSGPACK_OBJECT_MAP &&
                s_get_str(ctx, opts, PROTO_SCENARIO_KEY, true, &msg->scenario,
                          "$.parsed_options"))
                return -1;
            const msgpack_object *arr = s_get(opts, PROTO_ARRIVAL_KEY);
            if (arr && arr->type != MSGPACK_OBJECT_NIL) {
                const char *ap = "$.parsed_options.apex_arrival";
                double rate = -1, max = 0;
                if (arr->type != MSGPACK_OBJECT_MAP)
                    return s_fail(ctx, ap, "expected a map");
                if (s_get_number(ctx, arr, "rate", false, &rate, ap) ||
                    s_get_number(ctx, arr, "max_users", false, &max, ap))
                    return -1;
                if (rate < 0 || rate > 1e9 || max < 0 || max > 1e8)
                    return s_fail(ctx, ap, "rate or max_users out of range");
                msg->arrival_rate = rate;
                msg->arrival_max_users = (int64_t)max;
            }
        }
        return 0;
    default:
        return 0; // no data we use
    }
}

proto_msg_t *proto_decode(const void *data, size_t size, apex_error_t *err)
{
    if (size == 0 || size > PROTO_MAX_FRAME) {
        apex_error_set(err, "frame of %zu bytes: expected 1 to %u", size,
                       PROTO_MAX_FRAME);
        return NULL;
    }
    const uint8_t *p = data;
    if (!s_skip(&p, p + size, 0)) {
        apex_error_set(err,
                       "frame of %zu bytes: not valid msgpack "
                       "(truncated, too deep or oversized)",
                       size);
        return NULL;
    }
    if ((size_t)(p - (const uint8_t *)data) != size) {
        apex_error_set(err, "frame of %zu bytes: %zu trailing bytes", size,
                       size - (size_t)(p - (const uint8_t *)data));
        return NULL;
    }
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t off = 0;
    proto_msg_t *msg = NULL;
    int rc = msgpack_unpack_next(&result, data, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        apex_error_set(err, "frame of %zu bytes: msgpack error %d", size, rc);
        goto done;
    }
    const msgpack_object *root = &result.data;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 3) {
        apex_error_set(err,
                       "frame of %zu bytes: expected an array "
                       "[type, data, node_id]",
                       size);
        goto done;
    }
    const msgpack_object *type = &root->via.array.ptr[0];
    const msgpack_object *body = &root->via.array.ptr[1];
    const msgpack_object *node = &root->via.array.ptr[2];
    if (type->type != MSGPACK_OBJECT_STR || type->via.str.size == 0 ||
        type->via.str.size > 64) {
        apex_error_set(err,
                       "frame of %zu bytes: message type is not a "
                       "short string",
                       size);
        goto done;
    }
    if (node->type != MSGPACK_OBJECT_STR || node->via.str.size > 1024) {
        apex_error_set(err, "frame of %zu bytes: node id is not a string",
                       size);
        goto done;
    }
    msg = apex_calloc(1, sizeof *msg);
    msg->type_name = s_strdup_obj(type);
    msg->node_id = s_strdup_obj(node);
    msg->index = -1;
    msg->user_count = -1;
    msg->stop_timeout = -1;
    msg->arrival_rate = -1;
    msg->has_data = body->type != MSGPACK_OBJECT_NIL;
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (strcmp(s_types[i].name, msg->type_name) == 0)
            msg->type = s_types[i].type;
    s_ctx_t ctx = {err, msg->type_name};
    if (msg->type != PROTO_UNKNOWN && s_decode_data(&ctx, body, msg) != 0)
        proto_msg_destroy(&msg);
done:
    msgpack_unpacked_destroy(&result);
    return msg;
}

void proto_msg_destroy(proto_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proto_msg_t *self = *self_p;
    free(self->type_name);
    free(self->node_id);
    free(self->version);
    free(self->state);
    free(self->apex_version);
    free(self->host);
    free(self->scenario);
    for (size_t i = 0; i < self->ncounts; i++)
        free(self->counts[i].name);
    free(self->counts);
    apex_stats_destroy(&self->stats);
    free(self->msg);
    free(self->traceback);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------
// Encoding

static int s_write(void *data, const char *buf, size_t len)
{
    apex_buf_append(data, buf, len);
    return 0;
}

static void s_str(msgpack_packer *pk, const char *text)
{
    size_t n = strlen(text);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, text, n);
}

static void s_str_or_nil(msgpack_packer *pk, const char *text)
{
    if (text)
        s_str(pk, text);
    else
        msgpack_pack_nil(pk);
}

static void s_begin(msgpack_packer *pk, apex_buf_t *out, const char *type)
{
    apex_buf_reset(out);
    msgpack_packer_init(pk, out, s_write);
    msgpack_pack_array(pk, 3);
    s_str(pk, type);
}

void proto_encode_empty(apex_buf_t *out, const char *type, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, type);
    msgpack_pack_nil(&pk);
    s_str(&pk, node_id);
}

void proto_encode_client_ready(apex_buf_t *out, const char *version,
                               const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "client_ready");
    if (version)
        s_str(&pk, version);
    else
        msgpack_pack_int64(&pk, -1);
    s_str(&pk, node_id);
}

void proto_encode_heartbeat(apex_buf_t *out, const char *state,
                            double cpu_usage, uint64_t memory_usage,
                            const char *apex_version, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "heartbeat");
    msgpack_pack_map(&pk, apex_version ? 4 : 3);
    s_str(&pk, "state");
    s_str(&pk, state);
    s_str(&pk, "current_cpu_usage");
    msgpack_pack_double(&pk, cpu_usage);
    s_str(&pk, "current_memory_usage");
    msgpack_pack_uint64(&pk, memory_usage);
    if (apex_version) {
        s_str(&pk, PROTO_APEX_VERSION_KEY);
        s_str(&pk, apex_version);
    }
    s_str(&pk, node_id);
}

static void s_pack_counts(msgpack_packer *pk, const proto_count_t *counts,
                          size_t n)
{
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        s_str(pk, counts[i].name);
        msgpack_pack_int64(pk, counts[i].count);
    }
}

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

static void s_pack_entry(msgpack_packer *pk, const apex_stats_entry_t *e,
                         apex_locust_bucket_t *buckets, uint8_t *hist_buf)
{
    bool service = e->service && apex_histogram_count(e->service) > 0;
    msgpack_pack_map(pk, service ? 16 : 15);
    s_str(pk, "name");
    s_str(pk, e->name);
    s_str(pk, "method");
    s_str(pk, e->method);
    s_str(pk, "last_request_timestamp");
    if (e->last_request_timestamp > 0)
        msgpack_pack_double(pk, e->last_request_timestamp);
    else
        msgpack_pack_nil(pk);
    s_str(pk, "start_time");
    msgpack_pack_double(pk, e->start_time);
    s_str(pk, "num_requests");
    msgpack_pack_uint64(pk, e->num_requests);
    s_str(pk, "num_none_requests");
    msgpack_pack_uint64(pk, e->num_none_requests);
    s_str(pk, "num_failures");
    msgpack_pack_uint64(pk, e->num_failures);
    s_str(pk, "total_response_time");
    msgpack_pack_double(pk, (double)e->total_response_us / 1000.0);
    s_str(pk, "max_response_time");
    msgpack_pack_double(pk, (double)e->max_response_us / 1000.0);
    s_str(pk, "min_response_time");
    if (e->min_response_us != APEX_STATS_NO_MIN)
        msgpack_pack_double(pk, (double)e->min_response_us / 1000.0);
    else
        msgpack_pack_nil(pk);
    s_str(pk, "total_content_length");
    msgpack_pack_uint64(pk, e->total_content_length);
    s_str(pk, "response_times");
    size_t n =
        apex_histogram_to_locust(e->hist, buckets, APEX_HISTOGRAM_BUCKETS);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        msgpack_pack_int64(pk, buckets[i].ms);
        msgpack_pack_uint64(pk, buckets[i].count);
    }
    s_str(pk, "num_reqs_per_sec");
    s_pack_seconds(pk, e, false);
    s_str(pk, "num_fail_per_sec");
    s_pack_seconds(pk, e, true);
    s_str(pk, PROTO_HIST_KEY);
    size_t size = apex_histogram_encode(e->hist, hist_buf);
    msgpack_pack_bin(pk, size);
    msgpack_pack_bin_body(pk, hist_buf, size);
    if (service) {
        s_str(pk, PROTO_SERVICE_HIST_KEY);
        size = apex_histogram_encode(e->service, hist_buf);
        msgpack_pack_bin(pk, size);
        msgpack_pack_bin_body(pk, hist_buf, size);
    }
}

void proto_encode_stats(apex_buf_t *out, const apex_stats_t *stats,
                        const proto_count_t *counts, size_t ncounts,
                        int64_t user_count, const proto_stats_extra_t *extra,
                        const char *node_id)
{
    apex_locust_bucket_t *buckets =
        apex_calloc(APEX_HISTOGRAM_BUCKETS, sizeof *buckets);
    uint8_t *hist_buf = apex_calloc(1, APEX_HISTOGRAM_ENCODE_MAX);
    msgpack_packer pk;
    s_begin(&pk, out, "stats");
    msgpack_pack_map(&pk, extra ? 7 : 5);

    s_str(&pk, "stats");
    size_t nonempty = 0;
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (e->num_requests || e->num_failures)
            nonempty++;
    }
    msgpack_pack_array(&pk, nonempty);
    for (size_t i = 0; i < apex_stats_size(stats); i++) {
        const apex_stats_entry_t *e = apex_stats_at(stats, i);
        if (e->num_requests || e->num_failures)
            s_pack_entry(&pk, e, buckets, hist_buf);
    }
    s_str(&pk, "stats_total");
    s_pack_entry(&pk, apex_stats_total_const(stats), buckets, hist_buf);

    s_str(&pk, "errors");
    size_t nerrors = apex_stats_error_count(stats);
    msgpack_pack_map(&pk, nerrors);
    for (size_t i = 0; i < nerrors; i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        s_str(&pk, e->key);
        msgpack_pack_map(&pk, 6);
        s_str(&pk, "name");
        s_str(&pk, e->name);
        s_str(&pk, "method");
        s_str(&pk, e->method);
        s_str(&pk, "error");
        s_str(&pk, e->error);
        s_str(&pk, "occurrences");
        msgpack_pack_uint64(&pk, e->occurrences);
        s_str(&pk, "first_seen");
        msgpack_pack_double(&pk, e->first_seen);
        s_str(&pk, "last_seen");
        msgpack_pack_double(&pk, e->last_seen);
    }
    s_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    s_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    if (extra) {
        s_str(&pk, PROTO_ITERATIONS_KEY);
        msgpack_pack_uint64(&pk, extra->iterations);
        s_str(&pk, PROTO_DROPPED_KEY);
        msgpack_pack_uint64(&pk, extra->dropped_iterations);
    }
    s_str(&pk, node_id);
    free(buckets);
    free(hist_buf);
}

void proto_encode_spawning_complete(apex_buf_t *out,
                                    const proto_count_t *counts, size_t ncounts,
                                    int64_t user_count, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawning_complete");
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    s_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    s_str(&pk, node_id);
}

void proto_encode_master_spawning_complete(apex_buf_t *out, int64_t user_count,
                                           const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawning_complete");
    msgpack_pack_map(&pk, 1);
    s_str(&pk, "user_count");
    msgpack_pack_int64(&pk, user_count);
    s_str(&pk, node_id);
}

void proto_encode_ack(apex_buf_t *out, int64_t index, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "ack");
    msgpack_pack_map(&pk, 1);
    s_str(&pk, "index");
    msgpack_pack_int64(&pk, index);
    s_str(&pk, node_id);
}

void proto_encode_spawn(apex_buf_t *out, double timestamp,
                        const proto_count_t *counts, size_t ncounts,
                        const char *host, double stop_timeout,
                        const proto_spawn_options_t *options,
                        const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "spawn");
    msgpack_pack_map(&pk, 5);
    s_str(&pk, "timestamp");
    msgpack_pack_double(&pk, timestamp);
    s_str(&pk, "user_classes_count");
    s_pack_counts(&pk, counts, ncounts);
    s_str(&pk, "host");
    s_str_or_nil(&pk, host);
    s_str(&pk, "stop_timeout");
    if (stop_timeout >= 0)
        msgpack_pack_double(&pk, stop_timeout);
    else
        msgpack_pack_nil(&pk);
    s_str(&pk, "parsed_options");
    size_t nopts = 5;
    if (options && options->scenario)
        nopts++;
    bool arrival = options && options->arrival;
    if (arrival)
        nopts++;
    msgpack_pack_map(&pk, nopts);
    s_str(&pk, "host");
    s_str_or_nil(&pk, host);
    s_str(&pk, "num_users");
    if (options && options->num_users >= 0)
        msgpack_pack_int64(&pk, options->num_users);
    else
        msgpack_pack_nil(&pk);
    s_str(&pk, "spawn_rate");
    if (options && options->spawn_rate >= 0)
        msgpack_pack_double(&pk, options->spawn_rate);
    else
        msgpack_pack_nil(&pk);
    s_str(&pk, "tags");
    msgpack_pack_nil(&pk);
    s_str(&pk, "exclude_tags");
    msgpack_pack_nil(&pk);
    if (options && options->scenario) {
        s_str(&pk, PROTO_SCENARIO_KEY);
        s_str(&pk, options->scenario);
    }
    if (arrival) {
        s_str(&pk, PROTO_ARRIVAL_KEY);
        msgpack_pack_map(&pk, 2);
        s_str(&pk, "rate");
        msgpack_pack_double(&pk, options->arrival_rate);
        s_str(&pk, "max_users");
        msgpack_pack_int64(&pk, options->arrival_max_users);
    }
    s_str(&pk, node_id);
}

void proto_encode_exception(apex_buf_t *out, const char *msg,
                            const char *traceback, const char *node_id)
{
    msgpack_packer pk;
    s_begin(&pk, out, "exception");
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "msg");
    s_str(&pk, msg);
    s_str(&pk, "traceback");
    s_str(&pk, traceback);
    s_str(&pk, node_id);
}
