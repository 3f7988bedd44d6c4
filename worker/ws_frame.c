// worker/ws_frame.c - see ws_frame.h. Byte 0: FIN, RSV1-3, opcode; byte
// 1: MASK and a 7-bit length, 126 meaning a 16-bit length follows and 127
// a 64-bit one; then the 4-byte masking key when MASK is set.
#include "worker/ws_frame.h"

#define WORKER_WS_FRAME_FIN 0x80
#define WORKER_WS_FRAME_OPCODE 0x0f
#define WORKER_WS_FRAME_MASK 0x80
#define WORKER_WS_FRAME_LEN7 0x7f
#define WORKER_WS_FRAME_LEN16 126 // a 16-bit length follows
#define WORKER_WS_FRAME_LEN64 127 // a 64-bit length follows
#define WORKER_WS_FRAME_MASK_KEY 4

int worker_ws_frame_size(const uint8_t *p, size_t n, uint64_t max,
                         worker_ws_frame_t *frame)
{
    if (n < 2)
        return 0;
    uint64_t len = p[1] & WORKER_WS_FRAME_LEN7;
    size_t header = 2;
    if (p[1] & WORKER_WS_FRAME_MASK)
        header += WORKER_WS_FRAME_MASK_KEY;
    size_t extra = len == WORKER_WS_FRAME_LEN16   ? 2
                   : len == WORKER_WS_FRAME_LEN64 ? 8
                                                  : 0;
    header += extra;
    if (n < header)
        return 0;
    if (extra) {
        len = 0;
        for (size_t i = 0; i < extra; i++)
            len = (len << 8) | p[2 + i];
    }
    if (len > max)
        return -1;
    frame->size = header + len;
    frame->fin = p[0] & WORKER_WS_FRAME_FIN;
    frame->opcode = p[0] & WORKER_WS_FRAME_OPCODE;
    return 1;
}
