// proto/field.h - typed access to the fields of a decoded msgpack tree
// (pass 2 of decoding), internal to proto/: decode.c and stats_entry.c
// pick fields out of maps with these, and encode.c and stats_entry.c
// write strings with proto_field_pack_str().
#ifndef APEX_PROTO_FIELD_H
#define APEX_PROTO_FIELD_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define PROTO_MAX_RESPONSE_MS 1e12 // ~31 years: beyond is nonsense
#define PROTO_MAX_COUNT (1ULL << 53)
#define PROTO_MAX_TIMESTAMP 1e11 // unix seconds (year 5138): beyond is junk
#define PROTO_MAX_EXACT_INT 9e15 // a float integer held exactly by a double
#define PROTO_MAX_PATH 256       // room for "$.stats[12].key.subkey"

// Where the errors of one message's decoding go.
typedef struct {
    apex_error_t *err; // where errors go
    const char *type;  // message type, prefixes every error
} proto_field_ctx_t;

// Set "type: path: what" in ctx's error. Returns -1.
int proto_field_fail(proto_field_ctx_t *ctx, const char *path,
                     const char *what);

// Set "type: path.key: what" in ctx's error. Returns -1.
int proto_field_fail_at(proto_field_ctx_t *ctx, const char *path,
                        const char *key, const char *what);

// The value of the string key `key` in map, or NULL when map is not a
// map (or NULL) or has no such key.
const msgpack_object *proto_field_get(const msgpack_object *map,
                                      const char *key);

// A finite number, int or float, into *out; false otherwise.
bool proto_field_number(const msgpack_object *o, double *out);

// A non-negative integral count below PROTO_MAX_COUNT (an int, or a
// float with no fraction) into *out; false otherwise.
bool proto_field_count(const msgpack_object *o, uint64_t *out);

// A signed integer (an int that fits int64_t, or a float with no
// fraction below PROTO_MAX_EXACT_INT) into *out; false otherwise.
bool proto_field_int(const msgpack_object *o, int64_t *out);

// A copy of a string object, which the caller frees.
char *proto_field_strdup(const msgpack_object *o);

// The string map[key] as a new string in *out (NULL when nil or absent
// and optional). Returns 0, or -1 with ctx's error set.
int proto_field_get_str(proto_field_ctx_t *ctx, const msgpack_object *map,
                        const char *key, bool optional, char **out,
                        const char *path);

// The number map[key] into *out (untouched when nil or absent and
// optional). Returns 0, or -1 with ctx's error set.
int proto_field_get_number(proto_field_ctx_t *ctx, const msgpack_object *map,
                           const char *key, bool optional, double *out,
                           const char *path);

// The count map[key] into *out (untouched when absent and optional).
// Returns 0, or -1 with ctx's error set.
int proto_field_get_count(proto_field_ctx_t *ctx, const msgpack_object *map,
                          const char *key, bool optional, uint64_t *out,
                          const char *path);

// Write text as a msgpack str.
void proto_field_pack_str(msgpack_packer *pk, const char *text);

#endif
