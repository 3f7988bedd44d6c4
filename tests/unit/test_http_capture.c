// tests/unit/test_http_capture.c - what an HTTP step keeps of a response
// (issue 19, finding 16): a part over 16 MiB is cut with a text naming
// the limit (it was kept short and then "not JSON"), the worker's total
// stops at 256 MiB (40 users held 16 MiB each), the budget counts every
// allocation back to zero, and a reset lets a big buffer go.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "worker/http_capture.h"

#define S_CHUNK (1u << 20) // bytes per add: a megabyte

static void s_test_per_response(char *chunk)
{
    worker_http_budget_t budget = {0};
    worker_http_capture_t c;
    worker_http_capture_init(&c);
    for (unsigned i = 0; i < 16; i++)
        worker_http_capture_add(&c, &budget, "body", chunk, S_CHUNK);
    CHECK(c.cut == NULL);
    CHECK_EQ(c.buf.len, 16u << 20);
    CHECK_EQ(budget.held, c.buf.cap);
    worker_http_capture_add(&c, &budget, "body", chunk, 1);
    CHECK_STR(c.cut, "response body over 16 MiB, the most a step keeps");
    CHECK_EQ(c.buf.len, 16u << 20); // nothing more kept
    worker_http_capture_add(&c, &budget, "body", "x", 1);
    CHECK_EQ(c.buf.len, 16u << 20);
    // A reset lets the big buffer go and clears the mark.
    worker_http_capture_reset(&c, &budget);
    CHECK(c.cut == NULL);
    CHECK_EQ(c.buf.cap, 0);
    CHECK_EQ(budget.held, 0);
    // A small one is kept for the next response, and still counted.
    worker_http_capture_add(&c, &budget, "headers", "HTTP/1.1 200 OK\r\n", 17);
    size_t cap = c.buf.cap;
    worker_http_capture_reset(&c, &budget);
    CHECK_EQ(c.buf.cap, cap);
    CHECK_EQ(budget.held, cap);
    worker_http_capture_fini(&c, &budget);
    CHECK_EQ(budget.held, 0);
}

static void s_test_total(char *chunk)
{
    // Sixteen users' 16 MiB bodies fill the worker's 256 MiB (with the
    // buffers' doubling, fewer): the next part is cut, naming the total.
    enum { S_USERS = 17 };
    worker_http_budget_t budget = {0};
    worker_http_capture_t c[S_USERS];
    size_t cut = 0, kept = 0;
    for (size_t u = 0; u < S_USERS; u++) {
        worker_http_capture_init(&c[u]);
        for (unsigned i = 0; i < 15; i++)
            worker_http_capture_add(&c[u], &budget, "body", chunk, S_CHUNK);
        CHECK(budget.held <= WORKER_HTTP_CAPTURE_TOTAL);
        if (c[u].cut) {
            CHECK_STR(c[u].cut, "response body not kept: the worker holds at "
                                "most 256 MiB of responses for all its users "
                                "together");
            cut++;
        } else
            kept++;
    }
    CHECK(cut > 0);
    CHECK(kept >= 7); // 32 MiB buffers at most: eight fit
    worker_http_capture_t h;
    worker_http_capture_init(&h);
    for (unsigned i = 0; i < 64 && !h.cut; i++)
        worker_http_capture_add(&h, &budget, "headers", chunk, S_CHUNK);
    CHECK_STR(h.cut, "response headers not kept: the worker holds at most 256 "
                     "MiB of responses for all its users together");
    worker_http_capture_fini(&h, &budget);
    // Once the others let go, a user gets its whole body again.
    for (size_t u = 1; u < S_USERS; u++)
        worker_http_capture_fini(&c[u], &budget);
    worker_http_capture_reset(&c[0], &budget);
    for (unsigned i = 0; i < 16; i++)
        worker_http_capture_add(&c[0], &budget, "body", chunk, S_CHUNK);
    CHECK(c[0].cut == NULL);
    worker_http_capture_fini(&c[0], &budget);
    CHECK_EQ(budget.held, 0);
}

void test_http_capture(bool verbose)
{
    (void)verbose;
    char *chunk = malloc(S_CHUNK);
    memset(chunk, 'x', S_CHUNK);
    s_test_per_response(chunk);
    s_test_total(chunk);
    free(chunk);
}
