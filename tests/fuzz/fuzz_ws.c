// tests/fuzz/fuzz_ws.c - apex-target's WebSocket input checks on any
// bytes: target_framecheck_feed() on a client's byte stream, checked
// against libwslay itself, and target_handshake_check() on header values.
//
// The frame check must cut a stream at the same place however the stream
// is split into reads (the first input byte picks the read sizes), and
// what it lets through must never make wslay's server context fail
// without a close code: wslay_event_recv() over the accepted bytes
// returns 0, so every error in them is one wslay answers with a code.
// The handshake check gets the input as four header values separated by
// newlines; a request it accepts gets a 28-character accept value.
#include <string.h>
#include <wslay/wslay.h>

#include "target/framecheck.h"
#include "target/handshake.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_WS_READ_SIZES 7 // read sizes picked from the first byte
#define FUZZ_WS_HEADERS 4    // Upgrade, Connection, version, key
#define FUZZ_WS_MAX_MESSAGE (64u * 1024)
#define FUZZ_WS_BAD_REQUEST 400 // the handshake's two refusals
#define FUZZ_WS_UPGRADE_REQUIRED 426

// The bytes wslay reads from, as a socket would give them.
typedef struct {
    const uint8_t *data; // the accepted bytes
    size_t size;         // their number
    size_t off;          // bytes read so far
} fuzz_stream_t;

static ssize_t fuzz_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                         int flags, void *user_data)
{
    (void)flags;
    fuzz_stream_t *s = user_data;
    size_t n = s->size - s->off;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static ssize_t fuzz_send(wslay_event_context_ptr ctx, const uint8_t *data,
                         size_t len, int flags, void *user_data)
{
    (void)ctx;
    (void)data;
    (void)flags;
    (void)user_data;
    return (ssize_t)len; // a socket that takes everything
}

static void fuzz_wslay(const uint8_t *data, size_t accepted);

// Feed data to a fresh check in reads of the sizes sizes[] cycles
// through; returns the bytes accepted and sets *bad.
static size_t fuzz_feed(const uint8_t *data, size_t size, const size_t *sizes,
                        bool *bad)
{
    target_framecheck_t check;
    target_framecheck_init(&check);
    size_t off = 0;
    for (size_t i = 0; off < size; i++) {
        size_t n = sizes[i % FUZZ_WS_READ_SIZES];
        if (n > size - off)
            n = size - off;
        size_t good = target_framecheck_feed(&check, data + off, n);
        FUZZ_CHECK(good <= n, "accepted %zu of %zu", good, n);
        if (check.bad) {
            FUZZ_CHECK(good < n, "bad, yet all %zu accepted", n);
            *bad = true;
            return off + good;
        }
        FUZZ_CHECK(good == n, "accepted %zu of %zu, not bad", good, n);
        off += n;
    }
    *bad = false;
    return size;
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    const size_t whole[FUZZ_WS_READ_SIZES] = {
        SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    size_t split[FUZZ_WS_READ_SIZES];
    for (size_t i = 0; i < FUZZ_WS_READ_SIZES; i++)
        split[i] = 1 + ((data[0] >> i) & 1) * (i + 1);
    data++;
    size--;
    bool bad_whole = false;
    bool bad_split = false;
    size_t accepted = fuzz_feed(data, size, whole, &bad_whole);
    size_t accepted_split = fuzz_feed(data, size, split, &bad_split);
    // Split, the first bytes of a bad header may have gone in an earlier
    // read: the cut is at most a header later.
    FUZZ_CHECK(bad_split == bad_whole && accepted_split >= accepted &&
                   accepted_split - accepted <
                       (bad_whole ? APEX_TARGET_FRAME_HEADER_MAX : 1),
               "cut at %zu whole, %zu split", accepted, accepted_split);
    fuzz_wslay(data, accepted);
    fuzz_wslay(data, accepted_split);
}

// wslay's server context over the accepted bytes must not fail.
static void fuzz_wslay(const uint8_t *data, size_t accepted)
{
    struct wslay_event_callbacks callbacks = {.recv_callback = fuzz_recv,
                                              .send_callback = fuzz_send};
    fuzz_stream_t stream = {data, accepted, 0};
    wslay_event_context_ptr ctx = NULL;
    FUZZ_CHECK(wslay_event_context_server_init(&ctx, &callbacks, &stream) == 0,
               "wslay init");
    wslay_event_config_set_max_recv_msg_length(ctx, FUZZ_WS_MAX_MESSAGE);
    int rv = wslay_event_recv(ctx);
    FUZZ_CHECK(rv == 0, "wslay failed with %d on %zu accepted bytes", rv,
               accepted);
    wslay_event_send(ctx);
    wslay_event_context_free(ctx);
}

static void fuzz_handshake(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    const char *fields[FUZZ_WS_HEADERS] = {NULL, NULL, NULL, NULL};
    char *p = text;
    for (size_t i = 0; i < FUZZ_WS_HEADERS && p; i++) {
        fields[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    target_handshake_t req = {fields[0], fields[1], fields[2], fields[3]};
    const char *message = NULL;
    unsigned status = target_handshake_check(&req, &message);
    if (status == 0) {
        char accept[APEX_TARGET_WS_ACCEPT_SIZE];
        target_handshake_accept(req.key, accept);
        FUZZ_CHECK(strlen(accept) == APEX_TARGET_WS_ACCEPT_SIZE - 1,
                   "accept '%s'", accept);
    } else {
        FUZZ_CHECK((status == FUZZ_WS_BAD_REQUEST ||
                    status == FUZZ_WS_UPGRADE_REQUIRED) &&
                       message,
                   "status %u", status);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_frames(data, size);
    fuzz_handshake(data, size);
    return 0;
}
