// proto/check.c - pass 1 of decoding: the structural check of raw
// msgpack bytes (see check.h).
//
// msgpack-c's unpacker allocates a container's slots before it reads
// them, so a 5-byte frame declaring an array of 2^32 elements would make
// it allocate gigabytes. s_skip() walks the bytes once, without
// allocating, and refuses any object whose declared length or element
// count exceeds the bytes that remain (each element takes at least one
// byte), or that nests deeper than PROTO_MAX_DEPTH (which also bounds
// the recursion). A frame that passes can only make msgpack-c allocate a
// small multiple of its size.
#include "proto/check.h"

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

// What follows a msgpack type byte that is neither a fixed-size
// "fix" type nor a one-byte value.
typedef enum {
    S_VALUE, // a value of `size` bytes
    S_BYTES, // a length of `size` bytes, then that many bytes
    S_ARRAY, // an element count of `size` bytes, then the elements
    S_MAP,   // a pair count of `size` bytes, then the pairs
    S_EXT,   // a length of `size` bytes, a type byte, then the bytes
} s_kind_t;

static const struct {
    uint8_t byte;  // type byte
    uint8_t size;  // bytes of length or value that follow it
    s_kind_t kind; // what they are
} s_types[] = {
    {0xc4, 1, S_BYTES}, {0xc5, 2, S_BYTES}, {0xc6, 4, S_BYTES},
    {0xc7, 1, S_EXT},   {0xc8, 2, S_EXT},   {0xc9, 4, S_EXT},
    {0xca, 4, S_VALUE}, {0xcb, 8, S_VALUE}, {0xcc, 1, S_VALUE},
    {0xcd, 2, S_VALUE}, {0xce, 4, S_VALUE}, {0xcf, 8, S_VALUE},
    {0xd0, 1, S_VALUE}, {0xd1, 2, S_VALUE}, {0xd2, 4, S_VALUE},
    {0xd3, 8, S_VALUE}, {0xd4, 2, S_VALUE}, {0xd5, 3, S_VALUE},
    {0xd6, 5, S_VALUE}, {0xd7, 9, S_VALUE}, {0xd8, 17, S_VALUE},
    {0xd9, 1, S_BYTES}, {0xda, 2, S_BYTES}, {0xdb, 4, S_BYTES},
    {0xdc, 2, S_ARRAY}, {0xdd, 4, S_ARRAY}, {0xde, 2, S_MAP},
    {0xdf, 4, S_MAP},
};

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
        return true; // fixint, nil, false, true
    if ((b & 0xe0) == 0xa0)
        len = b & 0x1f; // fixstr
    else if ((b & 0xf0) == 0x90)
        items = b & 0x0f; // fixarray
    else if ((b & 0xf0) == 0x80)
        items = 2 * (uint64_t)(b & 0x0f); // fixmap
    else {
        size_t i = 0;
        size_t n = sizeof s_types / sizeof s_types[0];
        while (i < n && s_types[i].byte != b)
            i++;
        if (i == n || avail < s_types[i].size)
            return false; // 0xc1 (never used) or truncated
        uint64_t v = s_be(*p, s_types[i].size);
        switch (s_types[i].kind) {
        case S_VALUE:
            *p += s_types[i].size;
            return true;
        case S_BYTES:
            len = v;
            break;
        case S_ARRAY:
            items = v;
            break;
        case S_MAP:
            items = 2 * v;
            break;
        case S_EXT:
            len = v + 1;
            break;
        }
        *p += s_types[i].size;
        avail -= s_types[i].size;
    }
    if (len > avail || items > avail)
        return false;
    *p += len;
    for (uint64_t i = 0; i < items; i++)
        if (!s_skip(p, end, depth + 1))
            return false;
    return true;
}

int proto_check_frame(const void *data, size_t size, apex_error_t *err)
{
    if (size == 0 || size > PROTO_MAX_FRAME)
        return apex_error_set(err, "frame of %zu bytes: expected 1 to %u", size,
                              PROTO_MAX_FRAME);
    const uint8_t *p = data;
    if (!s_skip(&p, p + size, 0))
        return apex_error_set(err,
                              "frame of %zu bytes: not valid msgpack "
                              "(truncated, too deep or oversized)",
                              size);
    size_t used = (size_t)(p - (const uint8_t *)data);
    if (used != size)
        return apex_error_set(err, "frame of %zu bytes: %zu trailing bytes",
                              size, size - used);
    return 0;
}
