// tests/unit/test_influx.c - master/influx.h against a port where nobody
// listens: pushing never blocks, the queue keeps its bound and counts
// what it drops, failed writes are retried and their reason kept, and
// destroy gives up at its deadline with everything counted.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "master/influx.h"
#include "tests/unit/tests.h"

// A loopback port nobody listens on (bound, then closed).
static int s_dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

void test_influx(bool verbose)
{
    (void)verbose;
    char arg[64];
    snprintf(arg, sizeof arg, "influxdb=http://127.0.0.1:%d/k6", s_dead_port());
    master_out_env_t env = {.queue_points = "10"};
    master_out_t config;
    apex_error_t err = {""};
    CHECK_EQ(master_out_parse(arg, &env, &config, &err), 0);
    master_influx_t *w = master_influx_new(&config, &err);
    CHECK(w != NULL);
    CHECK(config.write_url == NULL); // taken
    CHECK(strstr(master_influx_url(w), "/k6"));

    // Three batches of 6 points: never more than 10 kept (+ one batch in
    // flight), the rest dropped.
    uint64_t start = apex_now_us();
    for (int i = 0; i < 3; i++) {
        apex_buf_t lines;
        apex_buf_init(&lines);
        for (int p = 0; p < 6; p++)
            apex_buf_printf(&lines, "m value=%d %d\n", p, i * 10 + p);
        master_influx_push(w, &lines, 6);
        CHECK(lines.data == NULL); // taken
    }
    apex_buf_t empty;
    apex_buf_init(&empty);
    master_influx_push(w, &empty, 0);                 // nothing to queue
    CHECK(apex_now_us() - start < APEX_USEC_PER_SEC); // never waits
    master_influx_status_t st;
    master_influx_status(w, &st);
    CHECK(st.queued <= 10 + 6);
    CHECK(st.dropped >= 6 && st.dropped + st.queued == 18);
    CHECK_EQ(st.written, 0);

    // Failures are retried (with back-off) and their reason kept.
    for (int i = 0; i < 200 && st.failures == 0; i++) {
        usleep(10000);
        master_influx_status(w, &st);
    }
    CHECK(st.failures >= 1 && st.failing);
    CHECK(st.last_error[0] != '\0');

    start = apex_now_us();
    master_influx_destroy(&w, 0.3, &st);
    CHECK(w == NULL);
    CHECK(apex_now_us() - start < 3 * APEX_USEC_PER_SEC);
    CHECK_EQ(st.dropped, 18); // all of it, in the end
    CHECK_EQ(st.queued, 0);
    master_influx_destroy(&w, 0, NULL); // safe twice
}
