// tests/fuzz/fuzz_ws_client.c - what a hostile WebSocket server can send a
// worker before and after the upgrade: the response to our upgrade
// request (worker/ws_upgrade.c, http-parser underneath) fed in the pieces
// the input's first byte chooses, then, when the server "switched
// protocols", the bytes after the headers split into frames by
// worker/ws_frame.c as worker/ws_conn.c does.
//
// Checked: a response is accepted only with status 101; the bytes handed
// on after the headers are a suffix of the input; every frame the
// scanner finds lies inside the bytes and is at least 2 bytes long, and
// a frame is never announced over the limit.
#include "tests/fuzz/fuzz.h"

#include "common/buf.h"
#include "common/rng.h"
#include "worker/ws_frame.h"
#include "worker/ws_upgrade.h"

#define S_MAX_MESSAGE 4096 // the frame limit the scanner is given

static void s_frames(const uint8_t *p, size_t n)
{
    size_t at = 0;
    while (at < n) {
        worker_ws_frame_t f;
        int rc = worker_ws_frame_size(p + at, n - at, S_MAX_MESSAGE, &f);
        if (rc <= 0)
            return; // more bytes needed, or over the limit: the end
        FUZZ_CHECK(f.size >= 2 && f.size <= S_MAX_MESSAGE + 14,
                   "frame of %llu bytes", (unsigned long long)f.size);
        FUZZ_CHECK(f.opcode >= 0 && f.opcode <= 15, "opcode %d", f.opcode);
        if (f.size > n - at)
            return; // a partial frame: kept for the next read
        at += (size_t)f.size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = 1 + data[0] % 64; // the server's writes
    data++;
    size--;
    uint64_t rng = apex_rng_seed(size);
    worker_ws_upgrade_t *u = worker_ws_upgrade_new(
        "127.0.0.1", 8080, false, "/ws/echo", NULL, "chat", &rng);
    apex_buf_t early;
    apex_buf_init(&early);
    worker_ws_upgrade_status_t st = WORKER_WS_UPGRADE_MORE;
    size_t at = 0;
    while (at < size && st == WORKER_WS_UPGRADE_MORE) {
        size_t n = size - at < piece ? size - at : piece;
        st = worker_ws_upgrade_feed(u, (const char *)data + at, n, &early);
        at += n;
    }
    if (st == WORKER_WS_UPGRADE_DONE) {
        FUZZ_CHECK(early.len <= size, "early %zu of %zu", early.len, size);
        FUZZ_CHECK(early.len == 0 || memcmp(early.data, data + at - early.len,
                                            early.len) == 0,
                   "early bytes are not the input's");
        apex_buf_append(&early, data + at, size - at);
        s_frames((const uint8_t *)early.data, early.len);
        (void)worker_ws_upgrade_protocol(u);
    } else if (st == WORKER_WS_UPGRADE_FAILED) {
        FUZZ_CHECK(worker_ws_upgrade_error(u)[0], "failed without a text");
    }
    apex_buf_fini(&early);
    worker_ws_upgrade_destroy(&u);
    return 0;
}
