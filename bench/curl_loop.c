// bench/curl_loop.c - the least a libcurl multi client can do: N easy
// handles repeating one GET with keep-alive, nothing else. make bench
// runs it next to apex-worker to separate our overhead from libcurl's.
//
//   curl-loop MODE URL CONNECTIONS SECONDS
//
// MODE "socket": the multi socket interface on epoll, as apex-worker
// drives libcurl. MODE "perform": curl_multi_perform + curl_multi_poll,
// the simplest loop. Prints "requests N cpu SECONDS" (user+sys).
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

#define CURL_LOOP_MAX_EVENTS 64
#define CURL_LOOP_IDLE_MS 100

typedef struct {
    CURLM *multi;
    int epfd;
    long timeout_ms; // from curl's timer callback; -1: none
    long requests;
} s_loop_t;

static size_t s_discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                       void *socketp)
{
    (void)easy;
    s_loop_t *self = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(self->multi, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {.data.fd = fd};
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(self->epfd, op, fd, &ev) != 0) {
        fprintf(stderr, "curl-loop: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    curl_multi_assign(self->multi, fd, self);
    return 0;
}

static int s_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    s_loop_t *self = userp;
    self->timeout_ms = timeout_ms;
    return 0;
}

// Count finished transfers and start each handle again at once.
static void s_restart_done(s_loop_t *self)
{
    CURLMsg *msg;
    int queued;
    while ((msg = curl_multi_info_read(self->multi, &queued))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (msg->data.result == CURLE_OK && status == 200)
            self->requests++;
        curl_multi_remove_handle(self->multi, easy);
        curl_multi_add_handle(self->multi, easy);
    }
}

static void s_run_socket(s_loop_t *self, double seconds)
{
    struct epoll_event events[CURL_LOOP_MAX_EVENTS];
    int running = 0;
    double end = s_now() + seconds;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    while (s_now() < end) {
        int wait =
            self->timeout_ms < 0 ? CURL_LOOP_IDLE_MS : (int)self->timeout_ms;
        int n = epoll_wait(self->epfd, events, CURL_LOOP_MAX_EVENTS, wait);
        for (int i = 0; i < n; i++) {
            int mask = 0;
            if (events[i].events & EPOLLIN)
                mask |= CURL_CSELECT_IN;
            if (events[i].events & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
            if (events[i].events & (EPOLLERR | EPOLLHUP))
                mask |= CURL_CSELECT_ERR;
            curl_multi_socket_action(self->multi, events[i].data.fd, mask,
                                     &running);
        }
        if (n <= 0 || self->timeout_ms == 0)
            curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0,
                                     &running);
        s_restart_done(self);
    }
}

static void s_run_perform(s_loop_t *self, double seconds)
{
    int running = 0;
    double end = s_now() + seconds;
    while (s_now() < end) {
        curl_multi_perform(self->multi, &running);
        s_restart_done(self);
        curl_multi_poll(self->multi, NULL, 0, CURL_LOOP_IDLE_MS, NULL);
    }
}

static double s_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: curl-loop socket|perform URL CONNECTIONS "
                        "SECONDS\n");
        return 2;
    }
    bool socket_mode = strcmp(argv[1], "socket") == 0;
    if (!socket_mode && strcmp(argv[1], "perform") != 0) {
        fprintf(stderr, "curl-loop: unknown mode '%s'\n", argv[1]);
        return 2;
    }
    long conns = strtol(argv[3], NULL, 10);
    double seconds = strtod(argv[4], NULL);
    if (conns <= 0 || seconds <= 0) {
        fprintf(stderr, "curl-loop: CONNECTIONS and SECONDS must be > 0\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_loop_t loop = {.multi = curl_multi_init(), .timeout_ms = -1};
    loop.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop.epfd < 0) {
        fprintf(stderr, "curl-loop: epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    curl_multi_setopt(loop.multi, CURLMOPT_MAXCONNECTS, conns);
    if (socket_mode) {
        curl_multi_setopt(loop.multi, CURLMOPT_SOCKETFUNCTION, s_on_socket);
        curl_multi_setopt(loop.multi, CURLMOPT_SOCKETDATA, &loop);
        curl_multi_setopt(loop.multi, CURLMOPT_TIMERFUNCTION, s_on_timer);
        curl_multi_setopt(loop.multi, CURLMOPT_TIMERDATA, &loop);
    }
    // The URL parsed once and no proxy lookups: the cheapest request.
    CURLU *url = curl_url();
    if (curl_url_set(url, CURLUPART_URL, argv[2], 0) != CURLUE_OK) {
        fprintf(stderr, "curl-loop: bad URL '%s'\n", argv[2]);
        return 2;
    }
    CURL **easy = calloc((size_t)conns, sizeof *easy);
    if (!easy)
        abort();
    for (long i = 0; i < conns; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_CURLU, url);
        curl_easy_setopt(easy[i], CURLOPT_PROXY, "");
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, s_discard);
        curl_multi_add_handle(loop.multi, easy[i]);
    }
    double cpu0 = s_cpu_seconds();
    if (socket_mode)
        s_run_socket(&loop, seconds);
    else
        s_run_perform(&loop, seconds);
    printf("requests %ld cpu %.3f\n", loop.requests, s_cpu_seconds() - cpu0);

    for (long i = 0; i < conns; i++) {
        curl_multi_remove_handle(loop.multi, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_url_cleanup(url);
    curl_multi_cleanup(loop.multi);
    curl_global_cleanup();
    return 0;
}
