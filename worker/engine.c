// worker/engine.c - see engine.h.
//
// Design. Every user is a small struct with its own curl easy handle,
// re-used for all its requests so its options are set once, and its own
// timer embedded for think time. A user is always in exactly one of three
// places: waiting on its timer, with a request added to the multi handle
// (in_flight), or between the two for the instant it takes to pick the
// next step. The multi handle runs on the loop through curl's socket
// interface: curl tells us which sockets to watch (s_curl_socket) and
// when to call it back (s_curl_timer), and we call
// curl_multi_socket_action() when they fire, then collect completed
// transfers (s_check_done). Connections live in the multi handle's pool,
// sized to the number of users so keep-alive connections survive between
// a user's requests.
//
// The scenario is compiled into a "plan" when it is set: per request
// step, its stats entry (so recording a request never hashes a name), a
// parsed URL (CURLU) and a ready header list when they have no per-user
// placeholders. Per request, the hot path then costs a handful of
// curl_easy_setopt() calls, the transfer, and an O(1) stats record.
//
// Stopping. Users stop newest first (Locust pops the most recent). A user
// without a request in flight is freed at once. One with a request in
// flight is moved to the stopping list and finishes that request (its
// whole task when a stop timeout is set); a cut-off timer, stop_timeout
// or APEX_WORKER_STOP_GRACE_US when none is set, aborts what is left, so
// requests a target has served are nearly always counted.
#include "worker/engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/url.h"
#include "common/version.h"

#define APEX_WORKER_STOP_GRACE_US (1 * APEX_USEC_PER_SEC)
#define APEX_WORKER_MAX_CAPTURE_BODY (16u * 1024u * 1024u)
#define APEX_WORKER_USER_AGENT "apex-worker/" APEX_VERSION
#define APEX_WORKER_ERROR_MAX 512
#define APEX_WORKER_MAXCONNECTS_MARGIN 64

typedef struct worker_user worker_user_t;

typedef struct {
    const apex_step_t *req;     // the step in the model
    apex_stats_entry_t *entry;  // its stats entry
    CURLU *curlu;               // parsed URL when constant, else NULL
    char *url;                  // its text (for error messages)
    struct curl_slist *headers; // header list when constant, else NULL
    bool headers_constant;      // headers needs no per-user expansion
    const char *body;           // constant body, or NULL
    size_t body_len;            // its length
    bool custom_method;         // needs CURLOPT_CUSTOMREQUEST
    bool constant;              // URL, headers and body are all constant
} s_step_t;

typedef struct {
    s_step_t *steps; // in order
    size_t nsteps;   // number of steps
} s_task_t;

typedef struct {
    const apex_user_class_t *cls; // the model
    s_task_t on_start;            // on_start steps
    s_task_t *tasks;              // tasks, as in the model
    worker_user_t **users;        // running users, oldest first
    size_t nusers;                // running users
    size_t cap;                   // slots allocated
    worker_user_t **idle;         // open model: users free for an iteration
    size_t nidle;                 // their number
    size_t idle_cap;              // slots allocated
} s_class_t;

typedef struct s_sock {
    apex_io_t io;        // the watcher
    struct s_sock *next; // in the dead list until freed
} s_sock_t;

struct worker_user {
    worker_engine_t *engine;    // owner
    s_class_t *cls;             // user class
    CURL *easy;                 // re-used for every request
    apex_timer_t timer;         // think time
    char **vars;                // capture variables (nvars)
    uint64_t rng;               // PRNG state
    const s_task_t *task;       // task in progress, or NULL
    size_t step;                // step in progress within task
    bool in_flight;             // a request is added to the multi
    bool stopping;              // finish then go
    bool custom_method;         // CURLOPT_CUSTOMREQUEST is set
    bool header_fn;             // CURLOPT_HEADERFUNCTION is set
    bool idle;                  // open model: in its class's idle stack
    bool pending;               // open model: an iteration waits on_start
    uint64_t intended;          // open model: intended start, 0 = none
    uint64_t started;           // loop time the current request was added
    const s_step_t *applied;    // constant step whose options are set
    const CURLU *applied_curlu; // the URL handle set with them
    size_t index;               // position in cls->users while running
    worker_user_t *next;        // in the stopping list
    worker_user_t *prev;        // in the stopping list
    uint64_t pacing_last_run;   // constant_pacing: last wait() time
    uint64_t pacing_last_wait;  // constant_pacing: last wait length
    struct curl_slist *headers; // per-request headers, or NULL
    apex_buf_t url;             // per-request URL
    apex_buf_t body;            // per-request body
    apex_buf_t resp_body;       // response body, when captured
    apex_buf_t resp_headers;    // response headers, when captured
};

struct worker_engine {
    apex_loop_t *loop;              // the loop we run on
    CURLM *multi;                   // all transfers
    apex_timer_t curl_timer;        // curl's timeout
    s_sock_t *dead;                 // sockets to free after the iteration
    apex_scenario_t *scenario;      // the model, or NULL
    s_class_t *classes;             // plan, one per user class
    size_t nclasses;                // number of classes
    char *host;                     // base URL from the master, or NULL
    CURLU **old_urls;               // URLs of earlier hosts (in use?)
    size_t nold_urls;               // their number
    double stop_timeout;            // seconds; < 0 none
    apex_stats_t *stats;            // what we measured
    worker_user_t *stopping;        // users finishing before they go
    size_t nstopping;               // their number
    size_t nusers;                  // running users
    apex_timer_t cutoff;            // ends a graceful stop
    worker_engine_stopped_fn *done; // pending stop callback
    void *done_arg;                 // its argument
    double wall_now;                // wall clock of this batch
    uint64_t rng;                   // seeds users
    long maxconnects;               // CURLMOPT_MAXCONNECTS in force
    bool arrival;                   // open model: iterations on schedule
    double arrival_rate;            // iterations per second
    int64_t arrival_max;            // users allocated at most
    uint64_t arrival_next;          // loop time of the next iteration
    apex_timer_t arrival_timer;     // fires at arrival_next
    uint64_t iterations;            // tasks completed (reported deltas)
    uint64_t dropped;               // iterations with no free user
    uint64_t *queue;                // intended starts waiting for a user
    size_t queue_head;              // oldest entry
    size_t queue_len;               // entries waiting
    size_t queue_cap;               // ring size (= arrival_max)
};

static void s_start_task(worker_user_t *u);
static void s_start_step(worker_user_t *u);
static void s_push_idle(worker_user_t *u);
static void s_remove_idle(worker_user_t *u);
static void s_user_free(worker_user_t *u);
static void s_check_stopped(worker_engine_t *self);
static void s_on_cutoff(apex_loop_t *loop, apex_timer_t *timer);
static void s_on_arrival(apex_loop_t *loop, apex_timer_t *timer);

// ---------------------------------------------------------------------
// curl's socket interface on our loop

static void s_check_done(worker_engine_t *self);

static void s_on_socket(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    worker_engine_t *self = io->arg;
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
    worker_engine_t *self = userp;
    s_sock_t *sock = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sock) {
            apex_io_stop(self->loop, &sock->io);
            curl_multi_assign(self->multi, fd, NULL);
            // Freed after this iteration: an event for it may still be
            // queued in the batch being dispatched.
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

static void s_on_curl_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_engine_t *self = timer->arg;
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(self);
}

static int s_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    worker_engine_t *self = userp;
    if (timeout_ms < 0)
        apex_timer_stop(self->loop, &self->curl_timer);
    else
        apex_timer_start(self->loop, &self->curl_timer,
                         (uint64_t)timeout_ms * APEX_USEC_PER_MSEC);
    return 0;
}

void worker_engine_after_iteration(worker_engine_t *self)
{
    while (self->dead) {
        s_sock_t *sock = self->dead;
        self->dead = sock->next;
        free(sock);
    }
}

// ---------------------------------------------------------------------
// Plan: the scenario compiled for this engine

static bool s_headers_constant(const apex_http_step_t *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!apex_template_constant(req->headers[i].value))
            return false;
    return true;
}

// curl_slist_append(), aborting on out of memory as apex_calloc() does
// (curl returns NULL and the list would leak).
static struct curl_slist *s_slist_add(struct curl_slist *list, const char *line)
{
    struct curl_slist *more = curl_slist_append(list, line);
    if (!more)
        abort();
    return more;
}

// "Name: value" for each header whose value is not empty, our
// User-Agent unless the scenario names one (an empty value then sends
// none), and "Expect:" when the request has a body, so curl never waits
// for 100-continue. The User-Agent goes in the list rather than in
// CURLOPT_USERAGENT, which curl 7.88 formats twice per request (an
// aprintf, then into the request): callgrind counted 6,800 instructions
// per request for the option, and the list entry saved 2,400 of them.
static struct curl_slist *s_header_list(const apex_http_step_t *req,
                                        const apex_template_ctx_t *ctx,
                                        apex_buf_t *scratch)
{
    struct curl_slist *list = NULL;
    bool user_agent = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, "User-Agent") == 0)
            user_agent = true;
        apex_buf_reset(scratch);
        apex_template_expand(req->headers[i].value, ctx, scratch);
        if (scratch->len == 0)
            continue;
        char *line =
            apex_sprintf("%s: %s", req->headers[i].name, apex_buf_str(scratch));
        list = s_slist_add(list, line);
        free(line);
    }
    if (!user_agent)
        list = s_slist_add(list, "User-Agent: " APEX_WORKER_USER_AGENT);
    if (req->body)
        list = s_slist_add(list, "Expect:");
    return list;
}

static const char *s_base(const worker_engine_t *self)
{
    if (self->host && self->host[0])
        return self->host;
    return self->scenario && self->scenario->host ? self->scenario->host : NULL;
}

// The full URL of a request for one user (or constant when ctx has no
// variables and the templates are constant).
static void s_build_url(const worker_engine_t *self,
                        const apex_http_step_t *req,
                        const apex_template_ctx_t *ctx, apex_buf_t *out,
                        apex_buf_t *scratch)
{
    apex_buf_reset(out);
    apex_buf_reset(scratch);
    apex_template_expand(req->path, ctx, scratch);
    apex_url_join(out, s_base(self), apex_buf_str(scratch));
    for (size_t i = 0; i < req->nquery; i++) {
        apex_buf_putc(out, i == 0 && !strchr(apex_buf_str(scratch), '?') ? '?'
                                                                         : '&');
        apex_url_encode(out, req->query[i].name, strlen(req->query[i].name));
        apex_buf_putc(out, '=');
        apex_buf_reset(scratch);
        apex_template_expand(req->query[i].value, ctx, scratch);
        apex_url_encode(out, scratch->data ? scratch->data : "", scratch->len);
    }
}

static bool s_url_constant(const apex_http_step_t *req)
{
    if (!apex_template_constant(req->path))
        return false;
    for (size_t i = 0; i < req->nquery; i++)
        if (!apex_template_constant(req->query[i].value))
            return false;
    return true;
}

// (Re)build the parsed URLs of constant steps for the current host. Old
// ones are kept until the plan is freed: a transfer may still use them.
static void s_plan_urls(worker_engine_t *self)
{
    apex_buf_t url, scratch;
    apex_buf_init(&url);
    apex_buf_init(&scratch);
    apex_template_ctx_t ctx = {NULL, &self->rng};
    for (size_t c = 0; c < self->nclasses; c++) {
        s_class_t *cls = &self->classes[c];
        for (size_t t = 0; t <= cls->cls->ntasks; t++) {
            s_task_t *task =
                t < cls->cls->ntasks ? &cls->tasks[t] : &cls->on_start;
            for (size_t s = 0; s < task->nsteps; s++) {
                s_step_t *step = &task->steps[s];
                if (step->curlu) {
                    self->old_urls =
                        apex_realloc(self->old_urls, self->nold_urls + 1,
                                     sizeof *self->old_urls);
                    self->old_urls[self->nold_urls++] = step->curlu;
                    step->curlu = NULL;
                }
                free(step->url);
                step->url = NULL;
                if (!s_url_constant(step->req->http))
                    continue;
                s_build_url(self, step->req->http, &ctx, &url, &scratch);
                step->url = apex_strdup(apex_buf_str(&url));
                CURLU *h = curl_url();
                if (h && curl_url_set(h, CURLUPART_URL, apex_buf_str(&url),
                                      0) == CURLUE_OK)
                    step->curlu = h;
                else if (h)
                    curl_url_cleanup(h); // curl reports it per request
                step->constant = step->curlu && step->headers_constant &&
                                 (!step->req->http->body || step->body);
            }
        }
    }
    apex_buf_fini(&url);
    apex_buf_fini(&scratch);
}

static void s_plan_task(worker_engine_t *self, s_task_t *task,
                        const apex_step_t *reqs, size_t n)
{
    task->nsteps = n;
    task->steps = apex_calloc(n ? n : 1, sizeof *task->steps);
    apex_buf_t scratch;
    apex_buf_init(&scratch);
    apex_template_ctx_t ctx = {NULL, &self->rng};
    for (size_t i = 0; i < n; i++) {
        s_step_t *step = &task->steps[i];
        step->req = &reqs[i];
        const apex_http_step_t *req = reqs[i].http;
        step->entry = apex_stats_get(self->stats, reqs[i].type, reqs[i].name,
                                     apex_wall_time());
        step->headers_constant = s_headers_constant(req);
        if (step->headers_constant)
            step->headers = s_header_list(req, &ctx, &scratch);
        if (req->body && apex_template_constant(req->body)) {
            step->body = apex_template_constant(req->body);
            step->body_len = strlen(step->body);
        }
        step->custom_method = strcmp(req->method, "GET") != 0 &&
                              strcmp(req->method, "POST") != 0 &&
                              strcmp(req->method, "HEAD") != 0;
    }
    apex_buf_fini(&scratch);
}

static void s_free_task(s_task_t *task)
{
    for (size_t i = 0; i < task->nsteps; i++) {
        curl_url_cleanup(task->steps[i].curlu);
        free(task->steps[i].url);
        curl_slist_free_all(task->steps[i].headers);
    }
    free(task->steps);
    task->steps = NULL;
    task->nsteps = 0;
}

static void s_free_plan(worker_engine_t *self)
{
    for (size_t c = 0; c < self->nclasses; c++) {
        s_class_t *cls = &self->classes[c];
        for (size_t t = 0; t < cls->cls->ntasks; t++)
            s_free_task(&cls->tasks[t]);
        s_free_task(&cls->on_start);
        free(cls->tasks);
        free(cls->users);
        free(cls->idle);
    }
    free(self->classes);
    self->classes = NULL;
    self->nclasses = 0;
    for (size_t i = 0; i < self->nold_urls; i++)
        curl_url_cleanup(self->old_urls[i]);
    free(self->old_urls);
    self->old_urls = NULL;
    self->nold_urls = 0;
}

// ---------------------------------------------------------------------
// Engine

worker_engine_t *worker_engine_new(apex_loop_t *loop, apex_error_t *err)
{
    CURLM *multi = curl_multi_init();
    if (!multi) {
        apex_error_set(err, "curl_multi_init failed");
        return NULL;
    }
    worker_engine_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->multi = multi;
    self->stop_timeout = -1;
    self->stats = apex_stats_new(apex_wall_time());
    self->rng = apex_rng_seed(apex_now_us() ^ (uint64_t)(uintptr_t)self);
    apex_timer_init(&self->curl_timer, s_on_curl_timer, self);
    apex_timer_init(&self->cutoff, s_on_cutoff, self);
    apex_timer_init(&self->arrival_timer, s_on_arrival, self);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, s_curl_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, s_curl_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, self);
    self->maxconnects = APEX_WORKER_MAXCONNECTS_MARGIN;
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, self->maxconnects);
    return self;
}

void worker_engine_destroy(worker_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_engine_t *self = *self_p;
    worker_engine_stop(self, false, NULL, NULL);
    apex_timer_stop(self->loop, &self->curl_timer);
    apex_timer_stop(self->loop, &self->cutoff);
    apex_timer_stop(self->loop, &self->arrival_timer);
    free(self->queue);
    s_free_plan(self);
    // Closing the multi handle closes pooled connections, which removes
    // their sockets through the socket callback.
    curl_multi_cleanup(self->multi);
    worker_engine_after_iteration(self);
    apex_scenario_destroy(&self->scenario);
    apex_stats_destroy(&self->stats);
    free(self->host);
    free(self);
    *self_p = NULL;
}

int worker_engine_set_scenario(worker_engine_t *self,
                               apex_scenario_t **scenario_p, apex_error_t *err)
{
    if (self->nusers || self->nstopping)
        return apex_error_set(err,
                              "cannot change the scenario while %zu "
                              "users run",
                              self->nusers + self->nstopping);
    s_free_plan(self);
    apex_scenario_destroy(&self->scenario);
    self->scenario = *scenario_p;
    *scenario_p = NULL;
    apex_stats_clear(self->stats, apex_wall_time());

    const apex_scenario_t *scn = self->scenario;
    self->nclasses = scn->nusers;
    self->classes =
        apex_calloc(scn->nusers ? scn->nusers : 1, sizeof *self->classes);
    for (size_t c = 0; c < scn->nusers; c++) {
        s_class_t *cls = &self->classes[c];
        cls->cls = &scn->users[c];
        s_plan_task(self, &cls->on_start, cls->cls->on_start,
                    cls->cls->non_start);
        cls->tasks = apex_calloc(cls->cls->ntasks ? cls->cls->ntasks : 1,
                                 sizeof *cls->tasks);
        for (size_t t = 0; t < cls->cls->ntasks; t++)
            s_plan_task(self, &cls->tasks[t], cls->cls->tasks[t].steps,
                        cls->cls->tasks[t].nsteps);
    }
    s_plan_urls(self);
    return 0;
}

const apex_scenario_t *worker_engine_scenario(const worker_engine_t *self)
{
    return self->scenario;
}

void worker_engine_set_host(worker_engine_t *self, const char *host)
{
    const char *old = self->host ? self->host : "";
    const char *new = host ? host : "";
    if (strcmp(old, new) == 0)
        return;
    free(self->host);
    self->host = host && host[0] ? apex_strdup(host) : NULL;
    s_plan_urls(self);
}

void worker_engine_set_stop_timeout(worker_engine_t *self, double seconds)
{
    self->stop_timeout = seconds;
}

apex_stats_t *worker_engine_stats(worker_engine_t *self)
{
    return self->stats;
}

size_t worker_engine_user_count(const worker_engine_t *self)
{
    return self->nusers;
}

proto_count_t *worker_engine_counts(const worker_engine_t *self,
                                    size_t *ncounts)
{
    proto_count_t *counts =
        apex_calloc(self->nclasses ? self->nclasses : 1, sizeof *counts);
    for (size_t c = 0; c < self->nclasses; c++) {
        counts[c].name = self->classes[c].cls->name;
        counts[c].count = (int64_t)self->classes[c].nusers;
    }
    *ncounts = self->nclasses;
    return counts;
}

// ---------------------------------------------------------------------
// Users

static size_t s_write_body(char *data, size_t size, size_t nmemb, void *arg)
{
    worker_user_t *u = arg;
    size_t n = size * nmemb;
    if (u->task && u->task->steps[u->step].req->needs_body &&
        u->resp_body.len + n <= APEX_WORKER_MAX_CAPTURE_BODY)
        apex_buf_append(&u->resp_body, data, n);
    return n;
}

static size_t s_write_header(char *data, size_t size, size_t nmemb, void *arg)
{
    worker_user_t *u = arg;
    size_t n = size * nmemb;
    if (u->resp_headers.len + n <= APEX_WORKER_MAX_CAPTURE_BODY)
        apex_buf_append(&u->resp_headers, data, n);
    return n;
}

static void s_on_user_timer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_start_task(timer->arg);
}

static worker_user_t *s_user_new(worker_engine_t *self, s_class_t *cls)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return NULL;
    worker_user_t *u = apex_calloc(1, sizeof *u);
    u->engine = self;
    u->cls = cls;
    u->easy = easy;
    u->rng = apex_rng_seed(apex_rng_next(&self->rng));
    u->vars = apex_calloc(self->scenario->nvars ? self->scenario->nvars : 1,
                          sizeof *u->vars);
    u->pacing_last_run = apex_loop_now(self->loop);
    apex_timer_init(&u->timer, s_on_user_timer, u);
    apex_buf_init(&u->url);
    apex_buf_init(&u->body);
    apex_buf_init(&u->resp_body);
    apex_buf_init(&u->resp_headers);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, u);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_write_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, ""); // no proxy lookups
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
    return u;
}

static void s_user_free(worker_user_t *u)
{
    worker_engine_t *self = u->engine;
    apex_timer_stop(self->loop, &u->timer);
    if (u->in_flight)
        curl_multi_remove_handle(self->multi, u->easy);
    curl_easy_cleanup(u->easy);
    curl_slist_free_all(u->headers);
    for (size_t i = 0; i < self->scenario->nvars; i++)
        free(u->vars[i]);
    free(u->vars);
    apex_buf_fini(&u->url);
    apex_buf_fini(&u->body);
    apex_buf_fini(&u->resp_body);
    apex_buf_fini(&u->resp_headers);
    free(u);
}

static void s_update_maxconnects(worker_engine_t *self)
{
    long want =
        (long)(self->nusers + self->nstopping) + APEX_WORKER_MAXCONNECTS_MARGIN;
    if (want > self->maxconnects) {
        // Grow generously so large ramps do not set it user by user.
        self->maxconnects = want + want / 2;
        curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, self->maxconnects);
    }
}

// Seconds to wait after a task, by the class's rule.
static uint64_t s_wait_us(worker_user_t *u)
{
    const apex_wait_t *w = &u->cls->cls->wait;
    uint64_t now = apex_loop_now(u->engine->loop);
    double seconds = 0;
    switch (w->kind) {
    case APEX_WAIT_CONSTANT:
        seconds = w->a;
        break;
    case APEX_WAIT_BETWEEN: {
        double r = apex_rng_unit(&u->rng);
        seconds = w->a + r * (w->b - w->a);
        break;
    }
    case APEX_WAIT_CONSTANT_PACING:
    case APEX_WAIT_CONSTANT_THROUGHPUT: {
        // Locust's constant_pacing: the time spent in the task since the
        // previous wait ended is taken off the period.
        double period =
            w->kind == APEX_WAIT_CONSTANT_PACING ? w->a : 1.0 / w->a;
        uint64_t period_us = apex_us_from_s(period);
        uint64_t since = now - u->pacing_last_run;
        uint64_t run =
            since > u->pacing_last_wait ? since - u->pacing_last_wait : 0;
        u->pacing_last_wait = run < period_us ? period_us - run : 0;
        u->pacing_last_run = now;
        return u->pacing_last_wait;
    }
    }
    return seconds > 0 ? apex_us_from_s(seconds) : 0;
}

// The task just finished (or failed): free a stopping user, or wait.
static void s_task_done(worker_user_t *u)
{
    worker_engine_t *self = u->engine;
    bool was_on_start = u->task == &u->cls->on_start;
    u->task = NULL;
    if (!was_on_start)
        self->iterations++;
    if (u->stopping) {
        if (u->prev)
            u->prev->next = u->next;
        else
            self->stopping = u->next;
        if (u->next)
            u->next->prev = u->prev;
        self->nstopping--;
        s_user_free(u);
        s_check_stopped(self);
        return;
    }
    if (self->arrival) {
        // Open model: no think time; the user is free for the next
        // iteration, or runs the one that waited for its on_start.
        if (was_on_start && u->pending) {
            u->pending = false;
            s_start_task(u);
            return;
        }
        if (self->queue_len) {
            // An iteration waited for a free user: it starts now, late,
            // and its latency counts from when it should have started.
            u->intended = self->queue[self->queue_head];
            self->queue_head = (self->queue_head + 1) % self->queue_cap;
            self->queue_len--;
            s_start_task(u);
            return;
        }
        s_push_idle(u);
        return;
    }
    if (was_on_start) {
        s_start_task(u); // Locust runs the first task right after on_start
        return;
    }
    uint64_t wait = s_wait_us(u);
    apex_timer_start(self->loop, &u->timer, wait);
}

static void s_start_task(worker_user_t *u)
{
    const apex_user_class_t *cls = u->cls->cls;
    if (cls->npick == 0) {
        apex_timer_start(u->engine->loop, &u->timer, APEX_USEC_PER_SEC);
        return;
    }
    uint32_t t = cls->pick[apex_rng_next(&u->rng) % cls->npick];
    u->task = &u->cls->tasks[t];
    u->step = 0;
    s_start_step(u);
}

static void s_set_method(worker_user_t *u, const s_step_t *step,
                         const char *body, size_t body_len)
{
    CURL *easy = u->easy;
    const char *method = step->req->http->method;
    // HTTPGET resets the method, clears POST and NOBODY.
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (u->custom_method && !step->custom_method) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, NULL);
        u->custom_method = false;
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body ? body_len : 0));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (step->custom_method) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
        u->custom_method = true;
    }
}

// Set a step's options on the user's handle: URL, headers, method and
// body, timeout. They stay set: a user repeating a constant step (the
// common case) sets nothing again.
static void s_apply_options(worker_user_t *u, const s_step_t *step,
                            const apex_template_ctx_t *ctx)
{
    worker_engine_t *self = u->engine;
    const apex_http_step_t *req = step->req->http;
    CURL *easy = u->easy;
    if (step->curlu) {
        curl_easy_setopt(easy, CURLOPT_CURLU, step->curlu);
    } else {
        apex_buf_t scratch;
        apex_buf_init(&scratch);
        s_build_url(self, req, ctx, &u->url, &scratch);
        apex_buf_fini(&scratch);
        curl_easy_setopt(easy, CURLOPT_CURLU, NULL);
        curl_easy_setopt(easy, CURLOPT_URL, apex_buf_str(&u->url));
    }

    curl_slist_free_all(u->headers);
    u->headers = NULL;
    if (step->headers_constant) {
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, step->headers);
    } else {
        apex_buf_t scratch;
        apex_buf_init(&scratch);
        u->headers = s_header_list(req, ctx, &scratch);
        apex_buf_fini(&scratch);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, u->headers);
    }

    const char *body = NULL;
    size_t body_len = 0;
    if (step->body) {
        body = step->body;
        body_len = step->body_len;
    } else if (req->body) {
        apex_buf_reset(&u->body);
        apex_template_expand(req->body, ctx, &u->body);
        body = apex_buf_str(&u->body);
        body_len = u->body.len;
    }
    s_set_method(u, step, body, body_len);

    double timeout = step->req->timeout;
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     (long)(timeout > 0 ? timeout * 1000 : 0));
    u->applied = step->constant ? step : NULL;
    u->applied_curlu = step->curlu;
}

static void s_start_step(worker_user_t *u)
{
    worker_engine_t *self = u->engine;
    const s_step_t *step = &u->task->steps[u->step];
    const apex_step_t *req = step->req;
    CURL *easy = u->easy;
    apex_template_ctx_t ctx = {(const char *const *)u->vars, &u->rng};

    if (!step->constant || u->applied != step ||
        u->applied_curlu != step->curlu)
        s_apply_options(u, step, &ctx);
    if (req->needs_headers != u->header_fn) {
        // With no header function and no header data curl drops headers.
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                         req->needs_headers ? s_write_header : NULL);
        curl_easy_setopt(easy, CURLOPT_HEADERDATA,
                         req->needs_headers ? (void *)u : NULL);
        u->header_fn = req->needs_headers;
    }
    apex_buf_reset(&u->resp_body);
    apex_buf_reset(&u->resp_headers);

    u->started = apex_loop_now(self->loop);
    CURLMcode rc = curl_multi_add_handle(self->multi, easy);
    if (rc != CURLM_OK) {
        apex_err("curl_multi_add_handle: %s", curl_multi_strerror(rc));
        apex_timer_start(self->loop, &u->timer, APEX_USEC_PER_SEC);
        u->task = NULL;
        return;
    }
    u->in_flight = true;
}

// ---------------------------------------------------------------------
// Completed requests

static const char *s_reason(long status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

// The error text for a transfer, as Locust's HttpUser would show it, or
// "" when the request succeeded.
static void s_failure_text(worker_user_t *u, const s_step_t *step, CURLcode res,
                           long status, char *out, size_t size)
{
    const apex_step_t *req = step->req;
    const apex_http_step_t *http = req->http;
    out[0] = '\0';
    if (res != CURLE_OK) {
        long os_errno = 0;
        curl_easy_getinfo(u->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (res == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED)
            snprintf(out, size,
                     "ConnectionRefusedError(%d, 'Connection "
                     "refused')",
                     ECONNREFUSED);
        else if (res == CURLE_OPERATION_TIMEDOUT)
            snprintf(out, size, "Timeout('request timed out after %g s')",
                     req->timeout);
        else
            snprintf(out, size, "CurlError(%d, '%s')", (int)res,
                     curl_easy_strerror(res));
        return;
    }
    if (http->nexpect) {
        for (size_t i = 0; i < http->nexpect; i++)
            if (http->expect[i] == status)
                return;
        apex_buf_t list;
        apex_buf_init(&list);
        for (size_t i = 0; i < http->nexpect; i++)
            apex_buf_printf(&list, "%s%d", i ? ", " : "", http->expect[i]);
        snprintf(out, size,
                 "UnexpectedStatus('%ld for url: %s, expected "
                 "%s')",
                 status, req->name, apex_buf_str(&list));
        apex_buf_fini(&list);
        return;
    }
    if (status >= 400) {
        // Locust's HttpUser (requests' raise_for_status) names the full
        // URL, or the name when one was given: so errors from Python and
        // apex workers merge into one row.
        // (Not CURLINFO_EFFECTIVE_URL: libcurl 7.88 leaves it stale when
        // the URL comes from a CURLU handle on a re-used easy handle.)
        const char *url = req->name;
        if (!req->name_given)
            url = step->url ? step->url : apex_buf_str(&u->url);
        char *text = apex_sprintf("%ld %s Error: %s for url: %s", status,
                                  status < 500 ? "Client" : "Server",
                                  s_reason(status), url);
        char *quoted = apex_py_repr_str(text);
        snprintf(out, size, "HTTPError(%s)", quoted);
        free(quoted);
        free(text);
    }
}

static void s_on_done(worker_user_t *u, CURLcode res)
{
    worker_engine_t *self = u->engine;
    const s_step_t *step = &u->task->steps[u->step];
    curl_multi_remove_handle(self->multi, u->easy);
    u->in_flight = false;

    curl_off_t total_us = 0, bytes = 0;
    long status = 0;
    curl_easy_getinfo(u->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(u->easy, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
    curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
    if (self->wall_now == 0)
        self->wall_now = apex_wall_time();
    uint64_t service = total_us > 0 ? (uint64_t)total_us : 0;
    uint64_t latency = service;
    if (u->intended) {
        // Open model: the first request of an iteration is timed from
        // when it should have started, so time spent queueing for a free
        // user (or behind a stalled server) is not hidden.
        latency += u->started > u->intended ? u->started - u->intended : 0;
        u->intended = 0;
    }
    apex_stats_record(self->stats, step->entry, latency,
                      bytes > 0 ? (uint64_t)bytes : 0, self->wall_now);
    if (self->arrival)
        apex_stats_record_service(step->entry, service);

    char failure[APEX_WORKER_ERROR_MAX];
    s_failure_text(u, step, res, status, failure, sizeof failure);
    if (!failure[0] && step->req->ncaptures) {
        apex_error_t err = {""};
        if (apex_captures_apply(step->req, apex_buf_str(&u->resp_headers),
                                u->resp_headers.len,
                                apex_buf_str(&u->resp_body), u->resp_body.len,
                                u->vars, &u->rng, &err) != 0) {
            char *quoted = apex_py_repr_str(err.msg);
            snprintf(failure, sizeof failure, "CaptureError(%s)", quoted);
            free(quoted);
        }
    }
    if (failure[0]) {
        apex_stats_record_failure(self->stats, step->entry, failure,
                                  self->wall_now);
        s_task_done(u); // a failed step ends its task, like an exception
        return;
    }
    // A user told to stop finishes its task only when a stop timeout
    // lets it; otherwise it goes after this request.
    if (u->step + 1 < u->task->nsteps &&
        (!u->stopping || self->stop_timeout > 0)) {
        u->step++;
        s_start_step(u);
        return;
    }
    s_task_done(u);
}

static void s_check_done(worker_engine_t *self)
{
    self->wall_now = 0;
    for (;;) {
        int left = 0;
        CURLMsg *m = curl_multi_info_read(self->multi, &left);
        if (!m)
            break;
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode res = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        worker_user_t *u = (worker_user_t *)priv;
        if (u && u->in_flight)
            s_on_done(u, res);
    }
}

// ---------------------------------------------------------------------
// Spawning and stopping

static void s_check_stopped(worker_engine_t *self)
{
    if (self->nstopping == 0 && self->nusers == 0) {
        apex_timer_stop(self->loop, &self->cutoff);
        if (self->done) {
            worker_engine_stopped_fn *done = self->done;
            self->done = NULL;
            done(self->done_arg);
        }
    } else if (self->nstopping == 0) {
        apex_timer_stop(self->loop, &self->cutoff);
    }
}

static void s_on_cutoff(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    worker_engine_t *self = timer->arg;
    while (self->stopping) {
        worker_user_t *u = self->stopping;
        self->stopping = u->next;
        self->nstopping--;
        s_user_free(u);
    }
    s_check_stopped(self);
}

// Stop one running user (already removed from its class list).
static void s_stop_user(worker_engine_t *self, worker_user_t *u, bool graceful)
{
    self->nusers--;
    s_remove_idle(u);
    if (!graceful || !u->in_flight) {
        s_user_free(u);
        return;
    }
    u->stopping = true;
    u->prev = NULL;
    u->next = self->stopping;
    if (self->stopping)
        self->stopping->prev = u;
    self->stopping = u;
    self->nstopping++;
    if (!apex_timer_active(&self->cutoff)) {
        uint64_t grace = self->stop_timeout > 0
                             ? apex_us_from_s(self->stop_timeout)
                             : APEX_WORKER_STOP_GRACE_US;
        apex_timer_start(self->loop, &self->cutoff, grace);
    }
}

void worker_engine_apply(worker_engine_t *self, const proto_count_t *counts,
                         size_t ncounts, char **unknown)
{
    apex_buf_t missing;
    apex_buf_init(&missing);
    for (size_t i = 0; i < ncounts; i++) {
        bool known = false;
        for (size_t c = 0; c < self->nclasses; c++)
            if (strcmp(self->classes[c].cls->name, counts[i].name) == 0)
                known = true;
        if (!known && counts[i].count > 0)
            apex_buf_printf(&missing, "%s%s", missing.len ? ", " : "",
                            counts[i].name);
    }
    *unknown = missing.len ? apex_buf_take(&missing) : NULL;
    apex_buf_fini(&missing);

    for (size_t c = 0; c < self->nclasses; c++) {
        s_class_t *cls = &self->classes[c];
        size_t target = 0;
        for (size_t i = 0; i < ncounts; i++)
            if (strcmp(cls->cls->name, counts[i].name) == 0)
                target = (size_t)counts[i].count;
        while (cls->nusers > target) {
            worker_user_t *u = cls->users[--cls->nusers];
            s_stop_user(self, u, true);
        }
        if (target > cls->cap) {
            cls->cap = target;
            cls->users = apex_realloc(cls->users, cls->cap, sizeof *cls->users);
        }
        while (cls->nusers < target) {
            worker_user_t *u = s_user_new(self, cls);
            if (!u) {
                apex_err("curl_easy_init failed: out of memory?");
                break;
            }
            u->index = cls->nusers;
            cls->users[cls->nusers++] = u;
            self->nusers++;
            s_update_maxconnects(self);
            if (cls->on_start.nsteps) {
                u->task = &cls->on_start;
                u->step = 0;
                s_start_step(u);
            } else if (self->arrival) {
                s_push_idle(u); // waits for its first iteration
            } else {
                s_start_task(u);
            }
        }
    }
    s_check_stopped(self);
}

void worker_engine_stop(worker_engine_t *self, bool graceful,
                        worker_engine_stopped_fn *done, void *arg)
{
    self->done = done;
    self->done_arg = arg;
    worker_engine_set_arrival(self, false, 0, 0);
    for (size_t c = 0; c < self->nclasses; c++) {
        s_class_t *cls = &self->classes[c];
        while (cls->nusers > 0)
            s_stop_user(self, cls->users[--cls->nusers], graceful);
    }
    if (!graceful)
        s_on_cutoff(self->loop, &self->cutoff);
    else
        s_check_stopped(self);
}

// ---------------------------------------------------------------------
// The open model

static void s_push_idle(worker_user_t *u)
{
    s_class_t *cls = u->cls;
    if (u->idle)
        return;
    if (cls->nidle == cls->idle_cap) {
        cls->idle_cap = cls->idle_cap ? cls->idle_cap * 2 : 16;
        cls->idle = apex_realloc(cls->idle, cls->idle_cap, sizeof *cls->idle);
    }
    cls->idle[cls->nidle++] = u;
    u->idle = true;
}

static void s_remove_idle(worker_user_t *u)
{
    s_class_t *cls = u->cls;
    if (!u->idle)
        return;
    for (size_t i = cls->nidle; i-- > 0;) {
        if (cls->idle[i] == u) {
            cls->idle[i] = cls->idle[--cls->nidle];
            break;
        }
    }
    u->idle = false;
}

// The class of the next iteration: by weight among the classes this
// worker was given users of.
static s_class_t *s_pick_class(worker_engine_t *self)
{
    // Among the classes this worker has users of; with none yet (the
    // pre-allocated users are still on their way), among all classes.
    bool any = false;
    for (size_t c = 0; c < self->nclasses; c++)
        any = any || self->classes[c].nusers;
    uint64_t total = 0;
    for (size_t c = 0; c < self->nclasses; c++)
        if (self->classes[c].nusers || !any)
            total += self->classes[c].cls->weight;
    if (total == 0)
        return NULL;
    uint64_t r = apex_rng_next(&self->rng) % total;
    for (size_t c = 0; c < self->nclasses; c++) {
        if (!self->classes[c].nusers && any)
            continue;
        if (r < self->classes[c].cls->weight)
            return &self->classes[c];
        r -= self->classes[c].cls->weight;
    }
    return NULL;
}

// Start one iteration meant to begin at loop time `intended`: on a free
// user, on a new one while fewer than max exist, or count it dropped.
static void s_iteration(worker_engine_t *self, uint64_t intended)
{
    s_class_t *cls = s_pick_class(self);
    if (!cls) {
        self->dropped++;
        return;
    }
    if (cls->nidle) {
        worker_user_t *u = cls->idle[--cls->nidle];
        u->idle = false;
        u->intended = intended;
        s_start_task(u);
        return;
    }
    if ((int64_t)(self->nusers + self->nstopping) >= self->arrival_max) {
        // Every user is busy: wait for one (at most one iteration per
        // user may wait), else the iteration is dropped.
        if (self->queue_len < self->queue_cap) {
            self->queue[(self->queue_head + self->queue_len) %
                        self->queue_cap] = intended;
            self->queue_len++;
        } else {
            self->dropped++;
        }
        return;
    }
    worker_user_t *u = s_user_new(self, cls);
    if (!u) {
        self->dropped++;
        return;
    }
    if (cls->nusers == cls->cap) {
        cls->cap = cls->cap ? cls->cap * 2 : 16;
        cls->users = apex_realloc(cls->users, cls->cap, sizeof *cls->users);
    }
    u->index = cls->nusers;
    cls->users[cls->nusers++] = u;
    self->nusers++;
    s_update_maxconnects(self);
    u->intended = intended;
    if (cls->on_start.nsteps) {
        u->pending = true;
        u->task = &cls->on_start;
        u->step = 0;
        s_start_step(u);
    } else {
        s_start_task(u);
    }
}

static void s_on_arrival(apex_loop_t *loop, apex_timer_t *timer)
{
    worker_engine_t *self = timer->arg;
    if (!self->arrival || self->arrival_rate <= 0)
        return;
    uint64_t interval = apex_us_from_s(1.0 / self->arrival_rate);
    if (interval == 0)
        interval = 1;
    uint64_t now = apex_loop_now(loop);
    while (self->arrival_next <= now) {
        s_iteration(self, self->arrival_next);
        self->arrival_next += interval;
    }
    apex_timer_start_at(loop, timer, self->arrival_next);
}

void worker_engine_set_arrival(worker_engine_t *self, bool on, double rate,
                               int64_t max_users)
{
    bool was = self->arrival;
    self->arrival = on;
    self->arrival_rate = rate;
    self->arrival_max = max_users;
    size_t cap = max_users > 0 ? (size_t)max_users : 1;
    if (on && cap != self->queue_cap) {
        // Keep waiting iterations in order in the new ring (drop the
        // newest when it shrinks).
        uint64_t *queue = apex_calloc(cap, sizeof *queue);
        size_t n = 0;
        for (; n < self->queue_len; n++) {
            uint64_t t = self->queue[(self->queue_head + n) % self->queue_cap];
            if (n < cap)
                queue[n] = t;
            else
                self->dropped++;
        }
        free(self->queue);
        self->queue = queue;
        self->queue_head = 0;
        self->queue_len = n < cap ? n : cap;
        self->queue_cap = cap;
    }
    if (!on || rate <= 0) {
        apex_timer_stop(self->loop, &self->arrival_timer);
        if (!on) {
            // Iterations still waiting for a user never start.
            self->dropped += self->queue_len;
            self->queue_len = 0;
            for (size_t c = 0; c < self->nclasses; c++) {
                s_class_t *cls = &self->classes[c];
                for (size_t i = 0; i < cls->nidle; i++)
                    cls->idle[i]->idle = false;
                cls->nidle = 0;
            }
        }
        return;
    }
    if (!was || !apex_timer_active(&self->arrival_timer)) {
        self->arrival_next = apex_loop_now(self->loop);
        apex_timer_start_at(self->loop, &self->arrival_timer,
                            self->arrival_next);
    }
}

void worker_engine_take_counters(worker_engine_t *self, uint64_t *iterations,
                                 uint64_t *dropped)
{
    *iterations = self->iterations;
    *dropped = self->dropped;
    self->iterations = 0;
    self->dropped = 0;
}

void worker_engine_put_back_counters(worker_engine_t *self, uint64_t iterations,
                                     uint64_t dropped)
{
    self->iterations += iterations;
    self->dropped += dropped;
}
