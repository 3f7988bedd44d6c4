// tests/unit/test_locate.c - worker/locate.c on names /etc/hosts answers
// (no DNS server is asked): numeric addresses need no lookup, "localhost"
// is answered from the loop (never from within worker_locate_again()) as
// an IPv4 endpoint, every call starts a lookup of its own (nothing
// cached), at most WORKER_LOCATE_MAX_PENDING run at once, and destroy
// cancels what is under way. The retry against a DNS server that does not
// answer is tests/distributed/test_master_dns.py.
#include "tests/unit/tests.h"

#include <string.h>

#include "common/clock.h"
#include "common/loop.h"
#include "worker/locate.h"

#define S_DEADLINE_US (10 * APEX_USEC_PER_SEC) // longest wait for an answer
#define S_PORT 5557

typedef struct {
    apex_loop_t *loop;     // runs the locator
    int answers;           // fn calls so far
    int want;              // stop the loop at this many
    char endpoint[80];     // the last endpoint answered, or ""
    char error[160];       // the last error answered, or ""
    apex_timer_t deadline; // bounds each run
    bool timed_out;        // the deadline fired
} s_ctx_t;

static void s_on_located(void *arg, const char *endpoint, const char *error)
{
    s_ctx_t *ctx = arg;
    ctx->answers++;
    snprintf(ctx->endpoint, sizeof ctx->endpoint, "%s",
             endpoint ? endpoint : "");
    snprintf(ctx->error, sizeof ctx->error, "%s", error ? error : "");
    if (ctx->answers >= ctx->want)
        apex_loop_stop(ctx->loop);
}

static void s_on_deadline(apex_loop_t *loop, apex_timer_t *timer)
{
    s_ctx_t *ctx = timer->arg;
    ctx->timed_out = true;
    apex_loop_stop(loop);
}

static void s_run(s_ctx_t *ctx, int want)
{
    ctx->want = want;
    apex_timer_start(ctx->loop, &ctx->deadline, S_DEADLINE_US);
    apex_error_t err = {""};
    CHECK(apex_loop_run(ctx->loop, &err) == 0);
    apex_timer_stop(ctx->loop, &ctx->deadline);
    CHECK(!ctx->timed_out);
}

void test_locate(bool verbose)
{
    (void)verbose;
    CHECK(worker_locate_numeric("127.0.0.1"));
    CHECK(worker_locate_numeric("::1"));
    CHECK(worker_locate_numeric("fd00::5"));
    CHECK(!worker_locate_numeric("localhost"));
    CHECK(!worker_locate_numeric("10.0.0"));
    CHECK(!worker_locate_numeric("[::1]"));
    CHECK(!worker_locate_numeric(""));

    s_ctx_t ctx = {0};
    apex_error_t err = {""};
    ctx.loop = apex_loop_new(&err);
    CHECK(ctx.loop != NULL);
    apex_timer_init(&ctx.deadline, s_on_deadline, &ctx);
    worker_locate_t *loc =
        worker_locate_new(ctx.loop, "localhost", S_PORT, s_on_located, &ctx);
    CHECK_EQ(worker_locate_lookups(loc), 0);
    worker_locate_again(loc);
    CHECK_EQ(ctx.answers, 0); // never from within the call
    s_run(&ctx, 1);
    CHECK_STR(ctx.endpoint, "tcp://127.0.0.1:5557");
    CHECK_STR(ctx.error, "");

    // Asked again, it looks again: one lookup per call, up to the limit.
    for (int i = 0; i < WORKER_LOCATE_MAX_PENDING + 3; i++)
        worker_locate_again(loc);
    CHECK_EQ(worker_locate_lookups(loc), 1 + WORKER_LOCATE_MAX_PENDING);
    s_run(&ctx, 1 + WORKER_LOCATE_MAX_PENDING);
    CHECK_STR(ctx.endpoint, "tcp://127.0.0.1:5557");
    worker_locate_again(loc);
    CHECK_EQ(worker_locate_lookups(loc), 2 + WORKER_LOCATE_MAX_PENDING);

    // Destroyed with lookups under way (cancelled, or left to glibc).
    worker_locate_again(loc);
    worker_locate_destroy(&loc);
    CHECK(loc == NULL);
    worker_locate_destroy(&loc); // safe twice
    apex_loop_destroy(&ctx.loop);
}
