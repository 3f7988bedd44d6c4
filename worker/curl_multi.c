// worker/curl_multi.c - see curl_multi.h.
//
// curl tells us which sockets to watch (s_curl_socket) and when to call
// it back (s_curl_timer); when they fire we call
// curl_multi_socket_action() and then collect completed transfers
// (s_check_done). A socket's watcher is freed only at the end of the
// loop iteration: an event for it may still be queued in the batch being
// dispatched when curl closes it.
#include "worker/curl_multi.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define WORKER_CURLM_MAXCONNECTS_MARGIN 64 // pooled beyond the handles

typedef struct s_sock {
    apex_io_t io;        // the watcher
    struct s_sock *next; // in the dead list until freed
} s_sock_t;

struct worker_curlm {
    apex_loop_t *loop;          // the loop we run on
    CURLM *multi;               // all transfers
    apex_timer_t timer;         // curl's timeout
    s_sock_t *dead;             // sockets to free after the iteration
    long maxconnects;           // CURLMOPT_MAXCONNECTS in force
    worker_curlm_done_fn *done; // completed transfers go here
    void *arg;                  // its argument
};

static void s_check_done(worker_curlm_t *self)
{
    for (;;) {
        int left = 0;
        CURLMsg *m = curl_multi_info_read(self->multi, &left);
        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        self->done(self->arg, m->easy_handle, priv, m->data.result);
    }
}

static void s_on_socket(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    worker_curlm_t *self = io->arg;
    int flags = 0;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(self->multi, io->fd, flags, &running);
    s_check_done(self);
}

static int s_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                         void *socketp)
{
    (void)easy;
    worker_curlm_t *self = userp;
    s_sock_t *sock = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sock) {
            apex_io_stop(self->loop, &sock->io);
            curl_multi_assign(self->multi, fd, NULL);
            sock->next = self->dead;
            self->dead = sock;
        }
        return 0;
    }
    if (!sock) {
        sock = apex_calloc(1, sizeof *sock);
        apex_io_init(&sock->io, s_on_socket, self);
        curl_multi_assign(self->multi, fd, sock);
    }
    uint32_t events = 0;
    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    apex_error_t err = {""};
    if (apex_io_start(self->loop, &sock->io, fd, events, &err) != 0) {
        apex_err("%s", err.msg);
        return -1;
    }
    return 0;
}

static void s_on_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_curlm_t *self = timer->arg;
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(self);
}

static int s_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    worker_curlm_t *self = userp;
    if (timeout_ms < 0)
        apex_timer_stop(self->loop, &self->timer);
    else
        apex_timer_start(self->loop, &self->timer,
                         (uint64_t)timeout_ms * APEX_USEC_PER_MSEC);
    return 0;
}

worker_curlm_t *worker_curlm_new(apex_loop_t *loop, worker_curlm_done_fn *done,
                                 void *arg, apex_error_t *err)
{
    CURLM *multi = curl_multi_init();
    if (!multi) {
        apex_error_set(err, "curl_multi_init failed");
        return NULL;
    }
    worker_curlm_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->multi = multi;
    self->done = done;
    self->arg = arg;
    apex_timer_init(&self->timer, s_on_timer, self);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, s_curl_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, s_curl_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, self);
    self->maxconnects = WORKER_CURLM_MAXCONNECTS_MARGIN;
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, self->maxconnects);
    return self;
}

void worker_curlm_destroy(worker_curlm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_curlm_t *self = *self_p;
    apex_timer_stop(self->loop, &self->timer);
    // Closing the multi handle closes pooled connections, which removes
    // their sockets through the socket callback.
    curl_multi_cleanup(self->multi);
    worker_curlm_after_iteration(self);
    free(self);
    *self_p = NULL;
}

int worker_curlm_add(worker_curlm_t *self, CURL *easy)
{
    CURLMcode rc = curl_multi_add_handle(self->multi, easy);
    if (rc != CURLM_OK) {
        apex_err("curl_multi_add_handle: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void worker_curlm_remove(worker_curlm_t *self, CURL *easy)
{
    curl_multi_remove_handle(self->multi, easy);
}

void worker_curlm_reserve(worker_curlm_t *self, size_t handles)
{
    long want = (long)handles + WORKER_CURLM_MAXCONNECTS_MARGIN;
    if (want > self->maxconnects) {
        self->maxconnects = want + want / 2;
        curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, self->maxconnects);
    }
}

void worker_curlm_after_iteration(worker_curlm_t *self)
{
    while (self->dead) {
        s_sock_t *sock = self->dead;
        self->dead = sock->next;
        free(sock);
    }
}
