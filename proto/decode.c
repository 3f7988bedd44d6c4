// proto/decode.c - proto_decode(), proto_msg_destroy() and
// proto_type_name() of proto.h: a frame's bytes to a proto_msg_t.
//
// Decoding runs in two passes. proto_check_frame() (check.c) walks the
// raw bytes once and refuses anything whose declared sizes exceed the
// bytes present, or that nests deeper than PROTO_MAX_DEPTH, so that
// msgpack-c's unpacker can never be made to allocate more than a small
// multiple of the frame size. Then msgpack-c builds the object tree in a
// zone, and each message type's decoder below picks its fields out with
// the typed getters of field.c, which write "type: path: expected ..."
// errors. Stats entries are stats_entry.c's. Everything the message
// holds is copied out of the zone, which is freed before returning.
#include "proto/proto.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/scenario.h"
#include "common/clock.h"
#include "proto/check.h"
#include "proto/field.h"
#include "proto/stats_entry.h"

#define S_MAX_TYPE_NAME 64          // longest message type accepted
#define S_MAX_NODE_ID 1024          // longest node id accepted
#define S_MAX_MEMORY 0x1p64         // beyond uint64_t: undefined
#define S_MAX_ARRIVAL_RATE 1e9      // iterations per second per worker
#define S_MAX_ARRIVAL_USERS 1e8     // users one worker may allocate
#define S_MAX_CLASS_COUNT INT32_MAX // users of one class
#define S_PATH_ITEM 64              // room for "$.stats[4294967295]"

typedef int(s_decoder_fn)(proto_field_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg);

// Cut text (a string the decoder made, or NULL) to at most max bytes,
// not in the middle of a UTF-8 sequence.
static void s_cut(char *text, size_t max)
{
    if (!text || strlen(text) <= max)
        return;
    size_t n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
        n--; // text[n] continues a sequence: cut before its lead byte
    text[n] = '\0';
}

// ---------------------------------------------------------------------
// Shared parts: user class counts and user_count

static int s_decode_counts(proto_field_ctx_t *ctx, const msgpack_object *o,
                           proto_msg_t *msg, const char *path)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, path,
                                "expected a map of class name to count");
    uint32_t n = o->via.map.size;
    msg->counts = apex_calloc(n ? n : 1, sizeof *msg->counts);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int64_t count;
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return proto_field_fail(ctx, path, "expected class names as keys");
        if (!proto_field_int(&kv->val, &count) || count < 0 ||
            count > S_MAX_CLASS_COUNT) {
            char where[PROTO_MAX_PATH];
            snprintf(where, sizeof where, "%s.%.*s", path,
                     (int)kv->key.via.str.size, kv->key.via.str.ptr);
            return proto_field_fail(ctx, where, "expected a user count");
        }
        msg->counts[i].name = proto_field_strdup(&kv->key);
        msg->counts[i].count = count;
        msg->ncounts++;
    }
    return 0;
}

// "user_classes_count" and "user_count" of data, each optional (nil is
// accepted only when nil_ok: stats allows it, spawning_complete not).
static int s_decode_users(proto_field_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg, bool nil_ok)
{
    const msgpack_object *c = proto_field_get(data, "user_classes_count");
    if (c && !(nil_ok && c->type == MSGPACK_OBJECT_NIL) &&
        s_decode_counts(ctx, c, msg, "$.user_classes_count"))
        return -1;
    const msgpack_object *u = proto_field_get(data, "user_count");
    if (u && !(nil_ok && u->type == MSGPACK_OBJECT_NIL) &&
        (!proto_field_int(u, &msg->user_count) || msg->user_count < 0))
        return proto_field_fail(ctx, "$.user_count", "expected a user count");
    return 0;
}

// ---------------------------------------------------------------------
// stats

// The "stats" list: entries with the same (method, name) merge.
// The entries of the list under key into *out (made when the key is
// there), at most max of them (0: no bound).
static int s_decode_list(proto_field_ctx_t *ctx, const msgpack_object *data,
                         const char *key, bool optional, size_t max,
                         apex_stats_t **out, apex_stats_entry_t *scratch)
{
    char where[S_PATH_ITEM / 2];
    snprintf(where, sizeof where, "$.%s", key);
    const msgpack_object *list = proto_field_get(data, key);
    if (!list && optional)
        return 0;
    if (!list || list->type != MSGPACK_OBJECT_ARRAY)
        return proto_field_fail(ctx, where, "expected a list");
    if (max && list->via.array.size > max)
        return proto_field_fail(ctx, where, "more entries than allowed");
    if (!*out)
        *out = apex_stats_new(apex_wall_time());
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *o = &list->via.array.ptr[i];
        char path[S_PATH_ITEM];
        snprintf(path, sizeof path, "%s[%u]", where, i);
        char *name = NULL, *method = NULL;
        apex_stats_entry_reset(scratch, 0);
        int rc = proto_field_get_str(ctx, o, "name", false, &name, path) ||
                         proto_field_get_str(ctx, o, "method", true, &method,
                                             path) ||
                         proto_stats_entry_decode(ctx, o, scratch, path)
                     ? -1
                     : 0;
        s_cut(name, PROTO_MAX_NAME);
        s_cut(method, PROTO_MAX_NAME);
        if (rc == 0)
            apex_stats_entry_merge(apex_stats_get(*out, method ? method : "",
                                                  name, scratch->start_time),
                                   scratch);
        free(name);
        free(method);
        if (rc)
            return -1;
    }
    return 0;
}

static int s_decode_total(proto_field_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg, apex_stats_entry_t *scratch)
{
    const msgpack_object *total = proto_field_get(data, "stats_total");
    if (!total)
        return proto_field_fail(ctx, "$.stats_total", "missing");
    apex_stats_entry_reset(scratch, 0);
    if (proto_stats_entry_decode(ctx, total, scratch, "$.stats_total"))
        return -1;
    apex_stats_entry_t *t = apex_stats_total(msg->stats);
    apex_stats_entry_reset(t, scratch->start_time);
    apex_stats_entry_merge(t, scratch);
    return 0;
}

// One StatsErrorDict under its sha256 key.
static int s_decode_error(proto_field_ctx_t *ctx, const msgpack_object_kv *kv,
                          proto_msg_t *msg, const char *path)
{
    if (kv->key.type != MSGPACK_OBJECT_STR ||
        kv->key.via.str.size >= APEX_SHA256_HEX)
        return proto_field_fail(ctx, path,
                                "expected a key of at most 64 chars");
    if (kv->val.type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, path, "expected a map");
    const msgpack_object *o = &kv->val;
    apex_stats_error_t e = {.occurrences = 0};
    memcpy(e.key, kv->key.via.str.ptr, kv->key.via.str.size);
    e.key[kv->key.via.str.size] = '\0';
    int rc = 0;
    if (proto_field_get_str(ctx, o, "name", true, &e.name, path) ||
        proto_field_get_str(ctx, o, "method", true, &e.method, path) ||
        proto_field_get_str(ctx, o, "error", true, &e.error, path) ||
        proto_field_get_count(ctx, o, "occurrences", false, &e.occurrences,
                              path) ||
        proto_field_get_number(ctx, o, "first_seen", true, &e.first_seen,
                               path) ||
        proto_field_get_number(ctx, o, "last_seen", true, &e.last_seen, path))
        rc = -1;
    else if (e.first_seen < 0 || e.last_seen < 0 ||
             e.first_seen > PROTO_MAX_TIMESTAMP ||
             e.last_seen > PROTO_MAX_TIMESTAMP)
        rc =
            proto_field_fail(ctx, path, "first_seen or last_seen out of range");
    if (rc == 0) {
        s_cut(e.name, PROTO_MAX_NAME);
        s_cut(e.method, PROTO_MAX_NAME);
        s_cut(e.error, PROTO_MAX_ERROR_TEXT);
        apex_stats_merge_error(msg->stats, &e);
    }
    free(e.name);
    free(e.method);
    free(e.error);
    return rc;
}

static int s_decode_errors(proto_field_ctx_t *ctx, const msgpack_object *data,
                           proto_msg_t *msg)
{
    const msgpack_object *errors = proto_field_get(data, "errors");
    if (!errors || errors->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (errors->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$.errors", "expected a map");
    for (uint32_t i = 0; i < errors->via.map.size; i++) {
        char path[S_PATH_ITEM];
        snprintf(path, sizeof path, "$.errors[%u]", i);
        if (s_decode_error(ctx, &errors->via.map.ptr[i], msg, path))
            return -1;
    }
    return 0;
}

// True for a metric name: [a-z0-9_], 1 to PROTO_METRIC_NAME_MAX bytes.
static bool s_metric_name(const msgpack_object *key)
{
    if (key->type != MSGPACK_OBJECT_STR || key->via.str.size == 0 ||
        key->via.str.size > PROTO_METRIC_NAME_MAX)
        return false;
    for (uint32_t i = 0; i < key->via.str.size; i++) {
        char c = key->via.str.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

// An apex_counters or apex_gauges map (absent is empty): names checked,
// values integers (counters >= 0), at most PROTO_MAX_METRICS of them.
static int s_decode_metrics(proto_field_ctx_t *ctx, const msgpack_object *data,
                            const char *key, bool counters,
                            proto_metric_t **out, size_t *nout)
{
    const msgpack_object *o = proto_field_get(data, key);
    char path[PROTO_MAX_PATH];
    snprintf(path, sizeof path, "$.%s", key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size > PROTO_MAX_METRICS)
        return proto_field_fail(ctx, path,
                                "expected a map of at most 64 metrics");
    uint32_t n = o->via.map.size;
    *out = apex_calloc(n ? n : 1, sizeof **out);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        int64_t value;
        if (!s_metric_name(&kv->key))
            return proto_field_fail(ctx, path,
                                    "expected metric names ([a-z0-9_], at "
                                    "most 64 bytes) as keys");
        if (!proto_field_int(&kv->val, &value) || (counters && value < 0)) {
            char name[PROTO_METRIC_NAME_MAX + 1];
            memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
            name[kv->key.via.str.size] = '\0';
            char where[PROTO_MAX_PATH + sizeof name + 1];
            snprintf(where, sizeof where, "%s.%s", path, name);
            return proto_field_fail(ctx, where,
                                    counters ? "expected a count"
                                             : "expected an integer");
        }
        (*out)[i].name = proto_field_strdup(&kv->key);
        (*out)[i].value = value;
        (*nout)++;
    }
    return 0;
}

// apex_checks: {name: [passes, fails]}, names of 1 to
// PROTO_CHECK_NAME_MAX bytes without NUL.
static int s_decode_checks(proto_field_ctx_t *ctx, const msgpack_object *data,
                           proto_msg_t *msg)
{
    const msgpack_object *o = proto_field_get(data, PROTO_CHECKS_KEY);
    const char *path = "$." PROTO_CHECKS_KEY;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size > PROTO_MAX_CHECKS)
        return proto_field_fail(ctx, path,
                                "expected a map of at most 1024 checks");
    uint32_t n = o->via.map.size;
    msg->checks = apex_calloc(n ? n : 1, sizeof *msg->checks);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        const msgpack_object *v = &kv->val;
        int64_t passes, fails;
        if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size == 0 ||
            kv->key.via.str.size > PROTO_CHECK_NAME_MAX ||
            memchr(kv->key.via.str.ptr, '\0', kv->key.via.str.size))
            return proto_field_fail(ctx, path,
                                    "expected check names of 1 to 256 bytes "
                                    "as keys");
        if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 2 ||
            !proto_field_int(&v->via.array.ptr[0], &passes) ||
            !proto_field_int(&v->via.array.ptr[1], &fails) || passes < 0 ||
            fails < 0)
            return proto_field_fail(ctx, path,
                                    "expected [passes, fails] counts");
        msg->checks[i].name = proto_field_strdup(&kv->key);
        msg->checks[i].passes = (uint64_t)passes;
        msg->checks[i].fails = (uint64_t)fails;
        msg->nchecks++;
    }
    return 0;
}

static int s_decode_stats(proto_field_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg)
{
    if (data->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$", "expected a map");
    msg->stats = apex_stats_new(apex_wall_time());
    apex_stats_set_limits(msg->stats, PROTO_MAX_STATS_ENTRIES,
                          PROTO_MAX_STATS_ERRORS);
    // One scratch entry for every entry read (entries merge into it).
    apex_stats_entry_t scratch;
    memset(&scratch, 0, sizeof scratch);
    scratch.hist = apex_histogram_new();
    apex_stats_entry_reset(&scratch, 0);
    uint64_t iterations = 0, dropped = 0;
    int rc =
        s_decode_list(ctx, data, "stats", false, 0, &msg->stats, &scratch) ||
                s_decode_total(ctx, data, msg, &scratch) ||
                s_decode_errors(ctx, data, msg) ||
                s_decode_users(ctx, data, msg, true) ||
                proto_field_get_count(ctx, data, PROTO_ITERATIONS_KEY, true,
                                      &iterations, "$") ||
                proto_field_get_count(ctx, data, PROTO_DROPPED_KEY, true,
                                      &dropped, "$") ||
                s_decode_metrics(ctx, data, PROTO_COUNTERS_KEY, true,
                                 &msg->counters, &msg->ncounters) ||
                s_decode_metrics(ctx, data, PROTO_GAUGES_KEY, false,
                                 &msg->gauges, &msg->ngauges) ||
                s_decode_checks(ctx, data, msg) ||
                s_decode_list(ctx, data, PROTO_TRENDS_KEY, true,
                              PROTO_MAX_TRENDS, &msg->trends, &scratch)
            ? -1
            : 0;
    msg->iterations = iterations;
    msg->dropped_iterations = dropped;
    apex_histogram_destroy(&scratch.hist);
    apex_histogram_destroy(&scratch.service);
    return rc;
}

// ---------------------------------------------------------------------
// The other messages

static int s_decode_client_ready(proto_field_ctx_t *ctx,
                                 const msgpack_object *data, proto_msg_t *msg)
{
    if (data->type == MSGPACK_OBJECT_STR)
        msg->version = proto_field_strdup(data);
    else if (!proto_field_int(data, &msg->version_int))
        return proto_field_fail(ctx, "$", "expected a version string or -1");
    return 0;
}

static int s_decode_heartbeat(proto_field_ctx_t *ctx,
                              const msgpack_object *data, proto_msg_t *msg)
{
    if (data->type == MSGPACK_OBJECT_NIL)
        return 0; // the master's reply
    if (data->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$", "expected a map");
    double mem = 0;
    if (proto_field_get_str(ctx, data, "state", false, &msg->state, "$") ||
        proto_field_get_number(ctx, data, "current_cpu_usage", false,
                               &msg->cpu_usage, "$") ||
        proto_field_get_number(ctx, data, "current_memory_usage", true, &mem,
                               "$") ||
        proto_field_get_str(ctx, data, PROTO_APEX_VERSION_KEY, true,
                            &msg->apex_version, "$") ||
        s_decode_metrics(ctx, data, PROTO_GAUGES_KEY, false, &msg->gauges,
                         &msg->ngauges))
        return -1;
    if (mem < 0 || mem >= S_MAX_MEMORY)
        return proto_field_fail(ctx, "$.current_memory_usage",
                                "expected a size in bytes");
    msg->memory_usage = (uint64_t)mem;
    return 0;
}

static int s_decode_spawning_complete(proto_field_ctx_t *ctx,
                                      const msgpack_object *data,
                                      proto_msg_t *msg)
{
    if (data->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$", "expected a map");
    return s_decode_users(ctx, data, msg, false);
}

static int s_decode_exception(proto_field_ctx_t *ctx,
                              const msgpack_object *data, proto_msg_t *msg)
{
    if (data->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$", "expected a map");
    uint64_t count = 1;
    if (proto_field_get_str(ctx, data, "msg", true, &msg->msg, "$") ||
        proto_field_get_str(ctx, data, "traceback", true, &msg->traceback,
                            "$") ||
        proto_field_get_count(ctx, data, PROTO_EXCEPTION_COUNT_KEY, true,
                              &count, "$"))
        return -1;
    s_cut(msg->msg, PROTO_MAX_EXCEPTION_TEXT);
    s_cut(msg->traceback, PROTO_MAX_EXCEPTION_TEXT);
    msg->exception_count = count ? count : 1;
    return 0;
}

static int s_decode_ack(proto_field_ctx_t *ctx, const msgpack_object *data,
                        proto_msg_t *msg)
{
    // Masters up to 2.10.2 send None.
    const msgpack_object *i = proto_field_get(data, "index");
    if (i && !proto_field_int(i, &msg->index))
        return proto_field_fail(ctx, "$.index", "expected an integer");
    return 0;
}

// parsed_options' apex_worker_index and apex_worker_count: both or
// neither, 0 <= index < count <= PROTO_MAX_WORKERS.
static int s_decode_position(proto_field_ctx_t *ctx, const msgpack_object *opts,
                             proto_msg_t *msg)
{
    const msgpack_object *i = proto_field_get(opts, PROTO_WORKER_INDEX_KEY);
    const msgpack_object *n = proto_field_get(opts, PROTO_WORKER_COUNT_KEY);
    if (!i && !n)
        return 0;
    int64_t index = -1, count = 0;
    if (!i || !n || !proto_field_int(i, &index) ||
        !proto_field_int(n, &count) || count < 1 || count > PROTO_MAX_WORKERS ||
        index < 0 || index >= count)
        return proto_field_fail(ctx, "$.parsed_options." PROTO_WORKER_INDEX_KEY,
                                "expected integers 0 <= " PROTO_WORKER_INDEX_KEY
                                " < " PROTO_WORKER_COUNT_KEY " <= 1000000");
    msg->worker_position = index;
    msg->worker_count = count;
    return 0;
}

// parsed_options' apex_http: {"engine": "auto"|"curl"|"http1"|nil,
// "debug": 0..2}.
static int s_decode_http(proto_field_ctx_t *ctx, const msgpack_object *h,
                         proto_msg_t *msg)
{
    const char *hp = "$.parsed_options." PROTO_HTTP_KEY;
    if (!h || h->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (h->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, hp, "expected a map");
    char *engine = NULL;
    double debug = 0;
    if (proto_field_get_str(ctx, h, "engine", true, &engine, hp) ||
        proto_field_get_number(ctx, h, "debug", true, &debug, hp))
        return -1;
    apex_http_engine_t e = APEX_ENGINE_UNSET;
    int rc = engine && apex_http_engine_parse(engine, &e) != 0 ? -1 : 0;
    free(engine);
    if (rc != 0 || debug < 0 || debug > 2 || debug != (int)debug)
        return proto_field_fail(ctx, hp,
                                "engine or debug out of range (auto, curl, "
                                "http1; 0 to 2)");
    msg->http_engine = (int)e;
    msg->http_debug = (int)debug;
    return 0;
}

// parsed_options: our scenario and the open model's rate (extensions).
static int s_decode_options(proto_field_ctx_t *ctx, const msgpack_object *opts,
                            proto_msg_t *msg)
{
    if (opts && opts->type == MSGPACK_OBJECT_MAP &&
        (proto_field_get_str(ctx, opts, PROTO_SCENARIO_KEY, true,
                             &msg->scenario, "$.parsed_options") ||
         s_decode_position(ctx, opts, msg)))
        return -1;
    // Locust's masters send every option; only a true bool counts.
    const msgpack_object *reset = proto_field_get(opts, "reset_stats");
    msg->reset_stats =
        reset && reset->type == MSGPACK_OBJECT_BOOLEAN && reset->via.boolean;
    if (s_decode_http(ctx, proto_field_get(opts, PROTO_HTTP_KEY), msg) != 0)
        return -1;
    const msgpack_object *arr = proto_field_get(opts, PROTO_ARRIVAL_KEY);
    if (!arr || arr->type == MSGPACK_OBJECT_NIL)
        return 0;
    const char *ap = "$.parsed_options.apex_arrival";
    double rate = -1, max = 0;
    if (arr->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, ap, "expected a map");
    if (proto_field_get_number(ctx, arr, "rate", false, &rate, ap) ||
        proto_field_get_number(ctx, arr, "max_users", false, &max, ap))
        return -1;
    if (rate < 0 || rate > S_MAX_ARRIVAL_RATE || max < 0 ||
        max > S_MAX_ARRIVAL_USERS)
        return proto_field_fail(ctx, ap, "rate or max_users out of range");
    msg->arrival_rate = rate;
    msg->arrival_max_users = (int64_t)max;
    return 0;
}

static int s_decode_spawn(proto_field_ctx_t *ctx, const msgpack_object *data,
                          proto_msg_t *msg)
{
    if (data->type != MSGPACK_OBJECT_MAP)
        return proto_field_fail(ctx, "$", "expected a map");
    const msgpack_object *c = proto_field_get(data, "user_classes_count");
    if (!c)
        return proto_field_fail(ctx, "$.user_classes_count", "missing");
    if (s_decode_counts(ctx, c, msg, "$.user_classes_count") ||
        proto_field_get_number(ctx, data, "timestamp", false, &msg->timestamp,
                               "$") ||
        proto_field_get_str(ctx, data, "host", true, &msg->host, "$"))
        return -1;
    double stop = -1;
    if (proto_field_get_number(ctx, data, "stop_timeout", true, &stop, "$"))
        return -1;
    msg->stop_timeout = stop < 0 ? -1 : stop;
    return s_decode_options(ctx, proto_field_get(data, "parsed_options"), msg);
}

// ---------------------------------------------------------------------
// Types and the envelope [type, data, node_id]

static const struct {
    proto_type_t type;    // enum value
    const char *name;     // wire name
    s_decoder_fn *decode; // reads its data, or NULL: none we use
} s_types[] = {
    {PROTO_CLIENT_READY, "client_ready", s_decode_client_ready},
    {PROTO_HEARTBEAT, "heartbeat", s_decode_heartbeat},
    {PROTO_STATS, "stats", s_decode_stats},
    {PROTO_SPAWNING, "spawning", NULL},
    {PROTO_SPAWNING_COMPLETE, "spawning_complete", s_decode_spawning_complete},
    {PROTO_CLIENT_STOPPED, "client_stopped", NULL},
    {PROTO_QUIT, "quit", NULL},
    {PROTO_EXCEPTION, "exception", s_decode_exception},
    {PROTO_LOGS, "logs", NULL},
    {PROTO_ACK, "ack", s_decode_ack},
    {PROTO_SPAWN, "spawn", s_decode_spawn},
    {PROTO_STOP, "stop", NULL},
    {PROTO_RECONNECT, "reconnect", NULL},
};
#define S_NTYPES (sizeof s_types / sizeof s_types[0])

const char *proto_type_name(proto_type_t type)
{
    for (size_t i = 0; i < S_NTYPES; i++)
        if (s_types[i].type == type)
            return s_types[i].name;
    return "unknown";
}

// The envelope's checks; err says what was wrong.
static bool s_envelope_ok(const msgpack_object *root, size_t size,
                          apex_error_t *err)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 3) {
        apex_error_set(err,
                       "frame of %zu bytes: expected an array "
                       "[type, data, node_id]",
                       size);
        return false;
    }
    const msgpack_object *type = &root->via.array.ptr[0];
    const msgpack_object *node = &root->via.array.ptr[2];
    if (type->type != MSGPACK_OBJECT_STR || type->via.str.size == 0 ||
        type->via.str.size > S_MAX_TYPE_NAME) {
        apex_error_set(err,
                       "frame of %zu bytes: message type is not a "
                       "short string",
                       size);
        return false;
    }
    if (node->type != MSGPACK_OBJECT_STR ||
        node->via.str.size > S_MAX_NODE_ID) {
        apex_error_set(err, "frame of %zu bytes: node id is not a string",
                       size);
        return false;
    }
    return true;
}

static proto_msg_t *s_decode_root(const msgpack_object *root, apex_error_t *err)
{
    const msgpack_object *type = &root->via.array.ptr[0];
    const msgpack_object *body = &root->via.array.ptr[1];
    proto_msg_t *msg = apex_calloc(1, sizeof *msg);
    msg->type_name = proto_field_strdup(type);
    msg->node_id = proto_field_strdup(&root->via.array.ptr[2]);
    msg->index = -1;
    msg->user_count = -1;
    msg->stop_timeout = -1;
    msg->arrival_rate = -1;
    msg->worker_position = -1;
    msg->http_debug = -1;
    msg->has_data = body->type != MSGPACK_OBJECT_NIL;
    s_decoder_fn *decode = NULL;
    for (size_t i = 0; i < S_NTYPES; i++) {
        if (strcmp(s_types[i].name, msg->type_name) == 0) {
            msg->type = s_types[i].type;
            decode = s_types[i].decode;
        }
    }
    proto_field_ctx_t ctx = {err, msg->type_name};
    if (decode && decode(&ctx, body, msg) != 0)
        proto_msg_destroy(&msg);
    return msg;
}

proto_msg_t *proto_decode(const void *data, size_t size, apex_error_t *err)
{
    if (proto_check_frame(data, size, err) != 0)
        return NULL;
    msgpack_unpacked result;
    msgpack_unpacked_init(&result);
    size_t off = 0;
    proto_msg_t *msg = NULL;
    int rc = msgpack_unpack_next(&result, data, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS)
        apex_error_set(err, "frame of %zu bytes: msgpack error %d", size, rc);
    else if (s_envelope_ok(&result.data, size, err))
        msg = s_decode_root(&result.data, err);
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
    free(self->peer_address);
    free(self->version);
    free(self->state);
    free(self->apex_version);
    free(self->host);
    free(self->scenario);
    for (size_t i = 0; i < self->ncounts; i++)
        free(self->counts[i].name);
    free(self->counts);
    for (size_t i = 0; i < self->ncounters; i++)
        free(self->counters[i].name);
    free(self->counters);
    for (size_t i = 0; i < self->ngauges; i++)
        free(self->gauges[i].name);
    free(self->gauges);
    for (size_t i = 0; i < self->nchecks; i++)
        free(self->checks[i].name);
    free(self->checks);
    apex_stats_destroy(&self->stats);
    apex_stats_destroy(&self->trends);
    free(self->msg);
    free(self->traceback);
    free(self);
    *self_p = NULL;
}
