// master/influx.c - see influx.h.
//
// Threads. The master's loop and the writer's thread share one mutex,
// which guards the queue, the stop request and the counts: nothing else
// is shared (the configuration is read-only once the thread runs). The
// loop appends a batch and signals a condition variable; the thread takes
// up to MASTER_INFLUX_BATCH_POINTS points off the queue, lets go of the
// mutex, and POSTs them with a blocking libcurl easy handle (its own
// thread, so blocking is what it is for).
//
// Memory is bounded: the queue holds at most the configured number of
// points (APEX_INFLUXDB_QUEUE_POINTS), plus one batch in flight. Appending
// beyond the bound drops the oldest batches, counted. A write that fails
// for a reason that may pass (no connection, a timeout, 5xx, 429) puts its
// points back at the head of the queue and waits, from 0.5 s doubling up
// to 4 s; one that InfluxDB refuses (400: bad points, 401/403, 413) is
// dropped and counted, as retrying cannot help. A 1.x database is created
// (CREATE DATABASE, as k6 does) before the first write and after a 404.
//
// Stopping: destroy() sets a deadline and wakes the thread, which keeps
// writing (and retrying) until the queue is empty or the deadline passes;
// libcurl's progress callback cuts a request in flight at the deadline.
// What is left is counted as dropped.
#include "master/influx.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"

#define MASTER_INFLUX_BATCH_POINTS                                             \
    5000                              // points per request (InfluxDB's advice)
#define MASTER_INFLUX_TIMEOUT_MS 5000 // one request, connection included
#define MASTER_INFLUX_CONNECT_MS 2000 // connecting
#define MASTER_INFLUX_BACKOFF_MIN_US (500 * APEX_USEC_PER_MSEC)
#define MASTER_INFLUX_BACKOFF_MAX_US (4 * APEX_USEC_PER_SEC)
#define MASTER_INFLUX_REPLY_MAX 200 // bytes of an error answer kept

typedef struct s_batch {
    char *data;           // line protocol, one line per point
    size_t len;           // its length
    size_t points;        // its points
    struct s_batch *next; // the next (newer) batch
} s_batch_t;

struct master_influx {
    master_out_t config;           // read-only while the thread runs
    pthread_t thread;              // the writer
    pthread_mutex_t lock;          // guards everything below
    pthread_cond_t wake;           // a batch was queued, or stop was asked
    s_batch_t *head;               // the oldest batch, or NULL
    s_batch_t *tail;               // the newest batch
    size_t queued;                 // points in the queue
    size_t in_flight;              // points being written
    bool stopping;                 // destroy() was called
    uint64_t deadline_us;          // then: give up (monotonic)
    master_influx_status_t status; // counts (queued filled when read)
};

// How a write ended.
typedef enum {
    S_WRITTEN,     // 2xx
    S_RETRY,       // it may pass: retry after a back-off
    S_REFUSED,     // InfluxDB said no for good: drop the points
    S_NO_DATABASE, // 1.x's 404: create the database, retry at once
} s_outcome_t;

// The answer's first bytes (for the error text).
typedef struct {
    char text[MASTER_INFLUX_REPLY_MAX + 1]; // NUL-terminated
    size_t len;                             // bytes kept
} s_reply_t;

static size_t s_on_body(char *data, size_t size, size_t n, void *arg)
{
    s_reply_t *reply = arg;
    size_t len = size * n;
    size_t room = MASTER_INFLUX_REPLY_MAX - reply->len;
    size_t keep = len < room ? len : room;
    memcpy(reply->text + reply->len, data, keep);
    reply->len += keep;
    reply->text[reply->len] = '\0';
    return len;
}

// libcurl's progress callback: non-zero aborts the transfer once the
// deadline of a stop has passed.
static int s_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                         curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    master_influx_t *self = arg;
    pthread_mutex_lock(&self->lock);
    bool late = self->stopping && apex_now_us() >= self->deadline_us;
    pthread_mutex_unlock(&self->lock);
    return late ? 1 : 0;
}

// Set up easy for one POST of body to url, answer into reply.
static void s_request(master_influx_t *self, CURL *easy,
                      struct curl_slist *headers, const char *url,
                      const char *body, size_t len, s_reply_t *reply)
{
    const master_out_t *c = &self->config;
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)MASTER_INFLUX_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)MASTER_INFLUX_CONNECT_MS);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, self);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
    if (c->username) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, c->username);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, c->password);
    }
    if (c->insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

// POST body to url and sort the outcome; err gets the reason of a
// failure.
static s_outcome_t s_post(master_influx_t *self, CURL *easy,
                          struct curl_slist *headers, const char *url,
                          const char *body, size_t len, char *err)
{
    s_reply_t reply = {.len = 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    s_request(self, easy, headers, url, body, len, &reply);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode res = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK) {
        snprintf(err, MASTER_INFLUX_ERROR_MAX, "%s",
                 curl_err[0] ? curl_err : curl_easy_strerror(res));
        return S_RETRY;
    }
    if (status >= 200 && status < 300)
        return S_WRITTEN;
    for (char *p = reply.text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    snprintf(err, MASTER_INFLUX_ERROR_MAX, "HTTP %ld: %s", status, reply.text);
    if (status == 404 && self->config.create_url)
        return S_NO_DATABASE;
    if (status >= 400 && status < 500 && status != 408 && status != 429)
        return S_REFUSED;
    return S_RETRY;
}

// The batches of chain as one request body (borrowed when there is one).
static const char *s_body(const s_batch_t *chain, apex_buf_t *joined,
                          size_t *len)
{
    if (!chain->next) {
        *len = chain->len;
        return chain->data;
    }
    for (const s_batch_t *b = chain; b; b = b->next)
        apex_buf_append(joined, b->data, b->len);
    *len = joined->len;
    return apex_buf_str(joined);
}

static void s_free_chain(s_batch_t *chain)
{
    while (chain) {
        s_batch_t *next = chain->next;
        free(chain->data);
        free(chain);
        chain = next;
    }
}

// Drop the oldest batches while the queue holds more than its bound.
// Called with the lock held.
static void s_trim(master_influx_t *self)
{
    while (self->head && self->queued > self->config.queue_points) {
        s_batch_t *b = self->head;
        self->head = b->next;
        if (!self->head)
            self->tail = NULL;
        self->queued -= b->points;
        self->status.dropped += b->points;
        b->next = NULL;
        s_free_chain(b);
    }
}

// Take the oldest batches, up to MASTER_INFLUX_BATCH_POINTS points (at
// least one batch), off the queue. Called with the lock held.
static s_batch_t *s_take(master_influx_t *self, size_t *points)
{
    s_batch_t *chain = self->head, *last = self->head;
    *points = last->points;
    while (last->next &&
           *points + last->next->points <= MASTER_INFLUX_BATCH_POINTS) {
        last = last->next;
        *points += last->points;
    }
    self->head = last->next;
    if (!self->head)
        self->tail = NULL;
    last->next = NULL;
    self->queued -= *points;
    return chain;
}

// Put a chain that failed back at the head, then trim. Lock held.
static void s_put_back(master_influx_t *self, s_batch_t *chain, size_t points)
{
    s_batch_t *last = chain;
    while (last->next)
        last = last->next;
    last->next = self->head;
    self->head = chain;
    if (!self->tail)
        self->tail = last;
    self->queued += points;
    s_trim(self);
}

// Wait (lock held) until signalled or until the monotonic time until_us
// (0: no limit).
static void s_wait(master_influx_t *self, uint64_t until_us)
{
    if (!until_us) {
        pthread_cond_wait(&self->wake, &self->lock);
        return;
    }
    struct timespec ts = {
        .tv_sec = (time_t)(until_us / APEX_USEC_PER_SEC),
        .tv_nsec = (long)(until_us % APEX_USEC_PER_SEC) * 1000,
    };
    pthread_cond_timedwait(&self->wake, &self->lock, &ts);
}

// The writer's state between two writes (the thread's own).
typedef struct {
    CURL *easy;                 // reused: keeps the connection alive
    struct curl_slist *lines_h; // headers of a write
    struct curl_slist *form_h;  // headers of CREATE DATABASE
    uint64_t backoff_us;        // the next wait after a failure
    uint64_t retry_at;          // no write before (monotonic), 0 = now
    bool created;               // 1.x: the database was created
} s_writer_t;

static struct curl_slist *s_headers(const master_out_t *c, const char *type)
{
    struct curl_slist *h = curl_slist_append(NULL, type);
    h = curl_slist_append(h, "Expect:"); // no 100-continue round trip
    if (c->auth_header)
        h = curl_slist_append(h, c->auth_header);
    return h;
}

// 1.x: CREATE DATABASE (it exists already: fine; no right to: the
// writes will say so).
static void s_create(master_influx_t *self, s_writer_t *w)
{
    char err[MASTER_INFLUX_ERROR_MAX] = "";
    const master_out_t *c = &self->config;
    s_outcome_t o = s_post(self, w->easy, w->form_h, c->create_url,
                           c->create_body, strlen(c->create_body), err);
    w->created = o == S_WRITTEN;
    if (!w->created)
        apex_debug("InfluxDB %s: CREATE DATABASE: %s", c->shown, err);
}

// Write one chain (lock not held); the outcome and its reason in err.
static s_outcome_t s_write(master_influx_t *self, s_writer_t *w,
                           const s_batch_t *chain, char *err)
{
    if (self->config.create_url && !w->created)
        s_create(self, w);
    apex_buf_t joined;
    apex_buf_init(&joined);
    size_t len = 0;
    const char *body = s_body(chain, &joined, &len);
    s_outcome_t o = s_post(self, w->easy, w->lines_h, self->config.write_url,
                           body, len, err);
    if (o == S_NO_DATABASE) {
        s_create(self, w);
        o = s_post(self, w->easy, w->lines_h, self->config.write_url, body, len,
                   err);
        if (o == S_NO_DATABASE)
            o = S_RETRY;
    }
    apex_buf_fini(&joined);
    return o;
}

// Count a write's outcome and decide what becomes of its chain. Lock held.
static void s_settle(master_influx_t *self, s_writer_t *w, s_batch_t *chain,
                     size_t points, s_outcome_t o, const char *err)
{
    master_influx_status_t *st = &self->status;
    st->failing = o != S_WRITTEN;
    if (o == S_WRITTEN) {
        st->written += points;
        w->backoff_us = MASTER_INFLUX_BACKOFF_MIN_US;
        w->retry_at = 0;
        s_free_chain(chain);
        return;
    }
    st->failures++;
    snprintf(st->last_error, sizeof st->last_error, "%s", err);
    if (o == S_REFUSED) {
        st->dropped += points;
        s_free_chain(chain);
        return;
    }
    s_put_back(self, chain, points);
    w->retry_at = apex_now_us() + w->backoff_us;
    w->backoff_us *= 2;
    if (w->backoff_us > MASTER_INFLUX_BACKOFF_MAX_US)
        w->backoff_us = MASTER_INFLUX_BACKOFF_MAX_US;
}

static void *s_main(void *arg)
{
    master_influx_t *self = arg;
    s_writer_t w = {
        .easy = curl_easy_init(),
        .lines_h =
            s_headers(&self->config, "Content-Type: text/plain; charset=utf-8"),
        .form_h = s_headers(&self->config,
                            "Content-Type: application/x-www-form-urlencoded"),
        .backoff_us = MASTER_INFLUX_BACKOFF_MIN_US,
    };
    pthread_mutex_lock(&self->lock);
    while (w.easy) {
        uint64_t now = apex_now_us();
        if (self->stopping && (!self->head || now >= self->deadline_us))
            break;
        if (!self->head || now < w.retry_at) {
            uint64_t until = self->head ? w.retry_at : 0;
            if (self->stopping && (!until || until > self->deadline_us))
                until = self->deadline_us;
            s_wait(self, until);
            continue;
        }
        size_t points = 0;
        s_batch_t *chain = s_take(self, &points);
        self->in_flight = points;
        pthread_mutex_unlock(&self->lock);
        char err[MASTER_INFLUX_ERROR_MAX] = "";
        s_outcome_t o = s_write(self, &w, chain, err);
        pthread_mutex_lock(&self->lock);
        self->in_flight = 0;
        s_settle(self, &w, chain, points, o, err);
    }
    // Given up (the deadline passed, or no libcurl handle): what is left
    // is dropped.
    self->status.dropped += self->queued;
    self->queued = 0;
    s_free_chain(self->head);
    self->head = self->tail = NULL;
    pthread_mutex_unlock(&self->lock);
    curl_slist_free_all(w.lines_h);
    curl_slist_free_all(w.form_h);
    curl_easy_cleanup(w.easy);
    return NULL;
}

master_influx_t *master_influx_new(master_out_t *config, apex_error_t *err)
{
    master_influx_t *self = apex_calloc(1, sizeof *self);
    self->config = *config;
    memset(config, 0, sizeof *config);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&self->lock, NULL);
    int rc = pthread_create(&self->thread, NULL, s_main, self);
    if (rc != 0) {
        apex_error_set(err, "InfluxDB %s: cannot start the writer: %s",
                       self->config.shown, strerror(rc));
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        master_out_fini(&self->config);
        free(self);
        return NULL;
    }
    return self;
}

void master_influx_push(master_influx_t *self, apex_buf_t *lines,
                        size_t npoints)
{
    if (npoints == 0) {
        apex_buf_reset(lines);
        return;
    }
    s_batch_t *b = apex_calloc(1, sizeof *b);
    b->len = lines->len;
    b->data = apex_buf_take(lines);
    b->points = npoints;
    pthread_mutex_lock(&self->lock);
    if (self->tail)
        self->tail->next = b;
    else
        self->head = b;
    self->tail = b;
    self->queued += npoints;
    s_trim(self);
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

void master_influx_status(master_influx_t *self, master_influx_status_t *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->status;
    out->queued = self->queued + self->in_flight;
    pthread_mutex_unlock(&self->lock);
}

const char *master_influx_url(const master_influx_t *self)
{
    return self->config.shown;
}

void master_influx_stop(master_influx_t *self, double seconds)
{
    pthread_mutex_lock(&self->lock);
    if (!self->stopping) {
        self->stopping = true;
        self->deadline_us = apex_now_us() + apex_us_from_s(seconds);
        pthread_cond_signal(&self->wake);
    }
    pthread_mutex_unlock(&self->lock);
}

void master_influx_destroy(master_influx_t **self_p, double seconds,
                           master_influx_status_t *last)
{
    if (!self_p || !*self_p)
        return;
    master_influx_t *self = *self_p;
    master_influx_stop(self, seconds);
    pthread_join(self->thread, NULL);
    if (last)
        master_influx_status(self, last);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    master_out_fini(&self->config);
    free(self);
    *self_p = NULL;
}
