// worker/ws_frame.h - the size of a WebSocket frame from its header (RFC
// 6455 section 5.2), so that a connection hands its framing library only
// whole frames. It reads nothing but the 2 to 14 header bytes.
#ifndef WORKER_WS_FRAME_H
#define WORKER_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKER_WS_FRAME_HEADER_MAX 14 // the longest frame header

typedef struct {
    uint64_t size; // header and payload bytes
    bool fin;      // the last frame of its message
    int opcode;    // 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10
                   // pong (others are the framing library's to refuse)
} worker_ws_frame_t;

// The frame starting at p (n bytes available): 1 with *frame filled when
// its header is all there, 0 when more bytes are needed to know, -1 when
// its payload is longer than max.
int worker_ws_frame_size(const uint8_t *p, size_t n, uint64_t max,
                         worker_ws_frame_t *frame);

#endif
