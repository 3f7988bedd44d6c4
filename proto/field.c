// proto/field.c - typed field access for pass 2 of decoding (see
// field.h).
//
// msgpack-c has built the object tree in a zone by the time these run;
// they only look at it. Every getter checks the type of what it finds,
// and numbers may be ints or floats on the wire (Python packs 120 and
// 120.0 differently), so counts and integers accept floats with no
// fraction. Errors name the field by its JSON-like path from the
// message's data ("$.stats[1].num_requests").
#include "proto/field.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

int proto_field_fail(proto_field_ctx_t *ctx, const char *path, const char *what)
{
    return apex_error_set(ctx->err, "%s: %s: %s", ctx->type, path, what);
}

int proto_field_fail_at(proto_field_ctx_t *ctx, const char *path,
                        const char *key, const char *what)
{
    char where[PROTO_MAX_PATH];
    snprintf(where, sizeof where, "%s.%s", path, key);
    return proto_field_fail(ctx, where, what);
}

static bool s_is_str(const msgpack_object *o, const char *text)
{
    size_t n = strlen(text);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, text, n) == 0;
}

const msgpack_object *proto_field_get(const msgpack_object *map,
                                      const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_is_str(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

bool proto_field_number(const msgpack_object *o, double *out)
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

bool proto_field_count(const msgpack_object *o, uint64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = o->via.u64;
        return *out < PROTO_MAX_COUNT;
    }
    double d;
    if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER &&
        proto_field_number(o, &d) && d >= 0 && d < (double)PROTO_MAX_COUNT &&
        d == floor(d)) {
        *out = (uint64_t)d;
        return true;
    }
    return false;
}

bool proto_field_int(const msgpack_object *o, int64_t *out)
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
    if (proto_field_number(o, &d) && d == floor(d) &&
        fabs(d) < PROTO_MAX_EXACT_INT) {
        *out = (int64_t)d;
        return true;
    }
    return false;
}

char *proto_field_strdup(const msgpack_object *o)
{
    return apex_strndup(o->via.str.ptr, o->via.str.size);
}

int proto_field_get_str(proto_field_ctx_t *ctx, const msgpack_object *map,
                        const char *key, bool optional, char **out,
                        const char *path)
{
    const msgpack_object *o = proto_field_get(map, key);
    *out = NULL;
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (optional)
            return 0;
        return proto_field_fail_at(
            ctx, path, key, o ? "expected a string, got nil" : "missing");
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return proto_field_fail_at(ctx, path, key, "expected a string");
    *out = proto_field_strdup(o);
    return 0;
}

int proto_field_get_number(proto_field_ctx_t *ctx, const msgpack_object *map,
                           const char *key, bool optional, double *out,
                           const char *path)
{
    const msgpack_object *o = proto_field_get(map, key);
    if (!o || (optional && o->type == MSGPACK_OBJECT_NIL)) {
        if (optional)
            return 0;
        return proto_field_fail_at(ctx, path, key, "missing");
    }
    if (!proto_field_number(o, out))
        return proto_field_fail_at(ctx, path, key, "expected a finite number");
    return 0;
}

int proto_field_get_count(proto_field_ctx_t *ctx, const msgpack_object *map,
                          const char *key, bool optional, uint64_t *out,
                          const char *path)
{
    const msgpack_object *o = proto_field_get(map, key);
    if (!o) {
        if (optional)
            return 0;
        return proto_field_fail_at(ctx, path, key, "missing");
    }
    if (!proto_field_count(o, out))
        return proto_field_fail_at(ctx, path, key,
                                   "expected a non-negative integer");
    return 0;
}

void proto_field_pack_str(msgpack_packer *pk, const char *text)
{
    size_t n = strlen(text);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, text, n);
}
