// target/framecheck.c - see framecheck.h.
//
// A small state machine over RFC 6455 section 5.2's layout: header bytes
// are collected into header[] until `need` are in, then looked at: after
// the first two, the opcode, FIN and 7-bit length tell whether a 2- or
// 8-byte length and a mask key follow; after the length, its form is
// checked; once the whole header is in, its payload is skipped without
// being looked at. The checks are exactly those of wslay's frame layer
// (wslay_frame_recv() returns WSLAY_ERR_PROTO for them), so whatever
// passes here never makes wslay fail without a close code; the rest (the
// mask, opcodes, reserved bits, UTF-8, sizes) wslay checks and answers
// with the right code itself. 32 bytes of state per connection.
#include "target/framecheck.h"

#include <assert.h>
#include <string.h>

#define APEX_TARGET_FRAME_FIN 0x80u        // byte 0: last frame of a message
#define APEX_TARGET_FRAME_OPCODE 0x0fu     // byte 0: the opcode
#define APEX_TARGET_FRAME_CONTROL 0x08u    // opcode bit of control frames
#define APEX_TARGET_FRAME_MASKED 0x80u     // byte 1: a mask key follows
#define APEX_TARGET_FRAME_LENGTH7 0x7fu    // byte 1: the 7-bit length
#define APEX_TARGET_FRAME_LENGTH16 126u    // 7-bit length: 2 bytes follow
#define APEX_TARGET_FRAME_LENGTH64 127u    // 7-bit length: 8 bytes follow
#define APEX_TARGET_FRAME_CONTROL_MAX 125u // longest control payload
#define APEX_TARGET_FRAME_BASE 2u          // the two fixed header bytes
#define APEX_TARGET_FRAME_EXT16 2u         // bytes of a 16-bit length
#define APEX_TARGET_FRAME_EXT64 8u         // bytes of a 64-bit length
#define APEX_TARGET_FRAME_MASK_KEY 4u      // bytes of the mask key
#define APEX_TARGET_FRAME_MIN64 65536u     // shortest 64-bit length
#define APEX_TARGET_FRAME_TOP_BIT 63       // must be 0 in a 64-bit length
#define APEX_TARGET_BITS_PER_BYTE 8

void target_framecheck_init(target_framecheck_t *self)
{
    assert(self);
    memset(self, 0, sizeof *self);
    self->need = APEX_TARGET_FRAME_BASE;
}

// Look at the header bytes collected so far (have == need). Returns false
// for a malformed header; otherwise sets how many bytes are needed next,
// or, when the header is complete, the payload to skip.
static bool s_look(target_framecheck_t *self)
{
    const uint8_t *h = self->header;
    bool fin = (h[0] & APEX_TARGET_FRAME_FIN) != 0;
    bool control =
        (h[0] & APEX_TARGET_FRAME_OPCODE & APEX_TARGET_FRAME_CONTROL) != 0;
    bool masked = (h[1] & APEX_TARGET_FRAME_MASKED) != 0;
    unsigned length7 = h[1] & APEX_TARGET_FRAME_LENGTH7;
    unsigned ext =
        length7 == APEX_TARGET_FRAME_LENGTH16   ? APEX_TARGET_FRAME_EXT16
        : length7 == APEX_TARGET_FRAME_LENGTH64 ? APEX_TARGET_FRAME_EXT64
                                                : 0;
    unsigned full = APEX_TARGET_FRAME_BASE + ext +
                    (masked ? APEX_TARGET_FRAME_MASK_KEY : 0);
    if (self->have == APEX_TARGET_FRAME_BASE && control &&
        (length7 > APEX_TARGET_FRAME_CONTROL_MAX || !fin))
        return false;
    uint64_t length = length7;
    if (ext > 0 && self->have >= APEX_TARGET_FRAME_BASE + ext) {
        length = 0;
        for (unsigned i = 0; i < ext; i++)
            length = length << APEX_TARGET_BITS_PER_BYTE |
                     h[APEX_TARGET_FRAME_BASE + i];
        if (self->have == APEX_TARGET_FRAME_BASE + ext) {
            if (ext == APEX_TARGET_FRAME_EXT16 &&
                length < APEX_TARGET_FRAME_LENGTH16)
                return false;
            if (ext == APEX_TARGET_FRAME_EXT64 &&
                (length < APEX_TARGET_FRAME_MIN64 ||
                 length >> APEX_TARGET_FRAME_TOP_BIT != 0))
                return false;
        }
    }
    if (self->have < full) {
        // The length first when there is one, then the mask key.
        self->need = (uint8_t)(self->have < APEX_TARGET_FRAME_BASE + ext
                                   ? APEX_TARGET_FRAME_BASE + ext
                                   : full);
        return true;
    }
    self->payload_left = length;
    self->have = 0;
    self->need = APEX_TARGET_FRAME_BASE;
    return true;
}

size_t target_framecheck_feed(target_framecheck_t *self, const uint8_t *data,
                              size_t size)
{
    assert(self);
    assert(data || size == 0);
    if (self->bad)
        return 0;
    size_t i = 0;
    size_t start = 0; // where the header being collected began in data
    while (i < size) {
        if (self->payload_left > 0) {
            size_t skip = size - i;
            if (skip > self->payload_left)
                skip = (size_t)self->payload_left;
            i += skip;
            self->payload_left -= skip;
            continue;
        }
        if (self->have == 0)
            start = i;
        self->header[self->have++] = data[i++];
        if (self->have == self->need && !s_look(self)) {
            self->bad = true;
            return start;
        }
    }
    return size;
}
