// target/framecheck.h - a watch on the frame headers in a client's
// WebSocket byte stream, run before the bytes reach libwslay. It finds the
// malformed headers that wslay's frame layer refuses without a close code
// (a control frame longer than 125 bytes or fragmented, a length not in
// its shortest form or with its top bit set), so that the server can
// close those connections with 1002 like every other protocol error.
#ifndef APEX_TARGET_FRAMECHECK_H
#define APEX_TARGET_FRAMECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The longest header: 2 bytes, an 8-byte length and a 4-byte mask key.
#define APEX_TARGET_FRAME_HEADER_MAX 14

typedef struct {
    uint64_t payload_left; // payload bytes of this frame still to pass
    uint8_t header[APEX_TARGET_FRAME_HEADER_MAX]; // header bytes so far
    uint8_t have;                                 // bytes in header
    uint8_t need; // header bytes needed before the next look
    bool bad;     // a malformed header was found; stays set
} target_framecheck_t;

// Start watching a stream at a frame boundary.
void target_framecheck_init(target_framecheck_t *self);

// Watch the next size bytes of the stream. Returns how many of them may
// be given to the frame parser: all of them, or, when a malformed header
// turns up, the offset in data where that header began (0 when it began
// in an earlier call), and bad is set. Once bad, returns 0.
size_t target_framecheck_feed(target_framecheck_t *self, const uint8_t *data,
                              size_t size);

#endif
