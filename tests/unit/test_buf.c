// tests/unit/test_buf.c - the growable byte buffer: every way of
// appending, binary data with NULs, growth from empty to a megabyte,
// reset (keeps memory), take (hands the bytes over) and fini twice.
#include "tests/unit/tests.h"

#include "common/buf.h"

#define S_BIG (1024 * 1024) // bytes appended one at a time

// The invariants every operation keeps: len < cap once allocated, and the
// data is NUL-terminated at len.
static void s_check_invariants(const apex_buf_t *b)
{
    if (b->data == NULL) {
        CHECK_EQ(b->len, 0);
        CHECK_EQ(b->cap, 0);
        CHECK_STR(apex_buf_str(b), "");
        return;
    }
    CHECK(b->len < b->cap);
    CHECK_EQ(b->data[b->len], '\0');
    CHECK(apex_buf_str(b) == b->data);
}

void test_buf(bool verbose)
{
    (void)verbose;
    apex_buf_t b;
    apex_buf_init(&b);
    s_check_invariants(&b);
    CHECK_STR(apex_buf_str(&b), "");

    // Each kind of append, in order.
    apex_buf_puts(&b, "GET ");
    apex_buf_append(&b, "/health?x", 7);
    apex_buf_putc(&b, ' ');
    apex_buf_printf(&b, "%s/%d.%d", "HTTP", 1, 1);
    CHECK_STR(apex_buf_str(&b), "GET /health HTTP/1.1");
    CHECK_EQ(b.len, 20);
    s_check_invariants(&b);

    // Appending nothing changes nothing (but is allowed).
    apex_buf_append(&b, "", 0);
    apex_buf_puts(&b, "");
    apex_buf_printf(&b, "%s", "");
    CHECK_EQ(b.len, 20);
    s_check_invariants(&b);

    // printf longer than the current capacity grows the buffer once.
    apex_buf_printf(&b, "%0300d", 7);
    CHECK_EQ(b.len, 320);
    CHECK_EQ(b.data[20], '0');
    CHECK_EQ(b.data[319], '7');
    s_check_invariants(&b);

    // reset forgets the contents but keeps the memory.
    size_t cap = b.cap;
    char *data = b.data;
    apex_buf_reset(&b);
    CHECK_EQ(b.len, 0);
    CHECK_EQ(b.cap, cap);
    CHECK(b.data == data);
    CHECK_STR(apex_buf_str(&b), "");
    s_check_invariants(&b);

    // Binary data: embedded NULs count towards len.
    static const char bin[] = {'a', '\0', 'b', '\0', '\xff'};
    apex_buf_append(&b, bin, sizeof bin);
    CHECK_EQ(b.len, sizeof bin);
    CHECK(memcmp(b.data, bin, sizeof bin) == 0);
    s_check_invariants(&b);

    // take hands over the bytes and leaves the buffer empty and usable.
    char *taken = apex_buf_take(&b);
    CHECK(memcmp(taken, bin, sizeof bin) == 0);
    free(taken);
    CHECK(b.data == NULL);
    s_check_invariants(&b);
    taken = apex_buf_take(&b); // empty: a new "" the caller frees
    CHECK(taken != NULL);
    CHECK_STR(taken, "");
    free(taken);

    // Growth from nothing to a megabyte, one byte at a time; the contents
    // survive every reallocation.
    for (size_t i = 0; i < S_BIG; i++)
        apex_buf_putc(&b, (char)('a' + i % 26));
    CHECK_EQ(b.len, S_BIG);
    s_check_invariants(&b);
    for (size_t i = 0; i < S_BIG; i += 4099)
        CHECK_EQ(b.data[i], 'a' + i % 26);
    CHECK(b.cap < 4 * S_BIG); // doubling, not wild over-allocation

    // A buffer reused after fini starts over.
    apex_buf_fini(&b);
    s_check_invariants(&b);
    apex_buf_printf(&b, "%d users at %.1f/s", 10, 2.5);
    CHECK_STR(apex_buf_str(&b), "10 users at 2.5/s");

    apex_buf_fini(&b);
    apex_buf_fini(&b); // safe twice
    CHECK(b.data == NULL);
    CHECK_EQ(b.len, 0);
}
