// master/web.c - see web.h.
//
// Threads. libmicrohttpd runs one internal thread (epoll). For a request
// that needs the master, that thread allocates a job, appends it to the
// queue under the mutex, writes the eventfd and waits on the condition
// variable for at most MASTER_WEB_WAIT_MS. The loop's watcher on the
// eventfd takes the jobs, runs the handler and marks them done. A job
// whose web thread gave up is marked abandoned and freed by the loop.
//
// Requests. Bodies are collected up to MASTER_WEB_MAX_BODY (413 above)
// and parsed as application/x-www-form-urlencoded; query and form fields
// land in the same key/value list. Basic auth (--web-auth) guards every
// route, the built-in files too (master/web_auth.h checks the header).
// The headers that say where a request comes from go with it to the
// loop, where master/routes.c refuses a change of the test from another
// site (master/web_origin.h). No answer allows other origins (no CORS).
//
// Connections (the review's finding 8): at most MASTER_WEB_PER_IP from
// one address and MASTER_WEB_CONNECTIONS in all, each closed after
// MASTER_WEB_TIMEOUT_S without traffic, so idle connections from one
// place cannot lock the UI out for long. With --tls-cert and --tls-key
// libmicrohttpd speaks TLS (GnuTLS): TLS 1.2 and 1.3 only.
#include "master/web.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "master/assets.h"
#include "master/web_auth.h"

#define MASTER_WEB_WAIT_MS 10000
#define MASTER_WEB_CONNECTIONS 256
#define MASTER_WEB_PER_IP 32    // connections from one address
#define MASTER_WEB_TIMEOUT_S 10 // an idle connection is closed after
#define MASTER_WEB_REALM "apex"
#define MASTER_WEB_TLS_MAX (1024 * 1024) // bytes of a PEM file
#define MASTER_WEB_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define S_STARTUP_ERROR 256 // libmicrohttpd's first complaint at start

// The headers a job keeps, in master_web_request_t's order.
static const char *const s_headers[] = {"Host", "Origin", "Referer",
                                        "Sec-Fetch-Site"};
#define S_HEADERS (sizeof s_headers / sizeof s_headers[0])

// Copies a job owns: the method, the path, the form body (split in
// place into its fields), a key and a value per query field, and the
// headers above.
#define S_JOB_OWNED (3 + 2 * MASTER_WEB_MAX_ARGS + S_HEADERS)

typedef struct s_job {
    master_web_request_t req; // the request and its answer
    bool done;                // answered
    bool abandoned;           // the web thread gave up waiting
    bool too_many;            // more than MASTER_WEB_MAX_ARGS fields
    struct s_job *next;       // in the queue
    char *owned[S_JOB_OWNED]; // copies req points into
    size_t nowned;            // their number
} s_job_t;

// A copy of text owned by the job: a job may outlive its connection (its
// web thread gave up waiting), so it keeps nothing of libmicrohttpd's.
// The callers never own more than S_JOB_OWNED copies (see above).
static const char *s_own(s_job_t *job, const char *text)
{
    assert(job->nowned < S_JOB_OWNED);
    char *copy = apex_strdup(text ? text : "");
    job->owned[job->nowned++] = copy;
    return copy;
}

static void s_job_free(s_job_t *job)
{
    for (size_t i = 0; i < job->nowned; i++)
        free(job->owned[i]);
    free(job->req.body);
    free(job->req.disposition);
    free(job);
}

// Per-connection state while a request body arrives.
typedef struct {
    apex_buf_t body; // collected body
    bool too_large;  // exceeded MASTER_WEB_MAX_BODY
} s_conn_t;

struct master_web {
    struct MHD_Daemon *daemon; // the server
    apex_loop_t *loop;         // the master's loop
    master_web_handler_fn *fn; // answers on the loop
    void *arg;                 // its argument
    master_web_auth_t *auth;   // basic auth, or NULL
    int efd;                   // eventfd the web thread writes
    apex_io_t efd_io;          // the loop's watcher on it
    pthread_mutex_t lock;      // guards the queue and job flags
    pthread_cond_t cond;       // signalled when jobs are done
    s_job_t *head;             // queue, oldest first
    s_job_t *tail;             // newest
    bool closing;              // shutting down: refuse new jobs
    int port;                  // port bound
    bool metrics_only;         // headless: GET /metrics and nothing else
    bool tls;                  // https
    char *cert;                // --tls-cert's PEM text (MHD keeps a pointer)
    char *key;                 // --tls-key's
    bool starting;             // in master_web_new(): keep MHD's complaint
    char startup_error[S_STARTUP_ERROR]; // its first complaint
};

// ---------------------------------------------------------------------
// Answers

const char *master_web_arg(const master_web_request_t *req, const char *key)
{
    for (size_t i = 0; i < req->nargs; i++)
        if (strcmp(req->keys[i], key) == 0)
            return req->values[i];
    return NULL;
}

void master_web_reply(master_web_request_t *req, int status,
                      const char *content_type, const char *text)
{
    free(req->body);
    req->status = status;
    req->content_type = content_type;
    req->body_len = strlen(text);
    req->body = apex_strndup(text, req->body_len);
}

static enum MHD_Result s_queue(struct MHD_Connection *conn, int status,
                               const char *type, const void *data, size_t len,
                               const char *disposition)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    // No page of another site may frame the UI (and click for the user).
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_json_error(struct MHD_Connection *conn, int status,
                                    const char *message)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"success\": false, \"error\": \"%s\", "
             "\"message\": \"%s\"}",
             message, message);
    return s_queue(conn, status, "application/json", body, strlen(body), NULL);
}

// ---------------------------------------------------------------------
// The loop side

static void s_on_event(apex_loop_t *loop, apex_io_t *io, uint32_t events)
{
    (void)loop;
    (void)events;
    master_web_t *self = io->arg;
    uint64_t n;
    while (read(self->efd, &n, sizeof n) == sizeof n)
        ;
    pthread_mutex_lock(&self->lock);
    s_job_t *jobs = self->head;
    self->head = self->tail = NULL;
    pthread_mutex_unlock(&self->lock);
    while (jobs) {
        s_job_t *job = jobs;
        jobs = job->next;
        // The handler runs without the lock: only this thread touches
        // the request until done is set.
        job->req.status = 500;
        self->fn(self->arg, &job->req);
        pthread_mutex_lock(&self->lock);
        bool abandoned = job->abandoned;
        job->done = true;
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->lock);
        if (abandoned)
            s_job_free(job);
    }
}

// ---------------------------------------------------------------------
// The web thread side

// Split a urlencoded form into the job's fields.
static void s_parse_form(s_job_t *job, const char *body)
{
    master_web_request_t *req = &job->req;
    char *text = (char *)s_own(job, body);
    char *save = NULL;
    for (char *pair = strtok_r(text, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        if (req->nargs >= MASTER_WEB_MAX_ARGS) {
            job->too_many = true;
            return;
        }
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = '\0';
        for (char *p = pair; *p; p++)
            if (*p == '+')
                *p = ' ';
        MHD_http_unescape(pair);
        const char *value = "";
        if (eq) {
            for (char *p = eq + 1; *p; p++)
                if (*p == '+')
                    *p = ' ';
            MHD_http_unescape(eq + 1);
            value = eq + 1;
        }
        req->keys[req->nargs] = pair;
        req->values[req->nargs] = value;
        req->nargs++;
    }
}

static enum MHD_Result s_collect_arg(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    (void)kind;
    s_job_t *job = cls;
    master_web_request_t *req = &job->req;
    if (req->nargs >= MASTER_WEB_MAX_ARGS) {
        job->too_many = true;
        return MHD_NO;
    }
    req->keys[req->nargs] = s_own(job, key);
    req->values[req->nargs] = s_own(job, value);
    req->nargs++;
    return MHD_YES;
}

static bool s_authorized(master_web_t *self, struct MHD_Connection *conn)
{
    if (!self->auth)
        return true;
    return master_web_auth_check(
        self->auth, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION));
}

// The headers that say where the request comes from, copied into job.
static void s_collect_headers(master_web_t *self, s_job_t *job,
                              struct MHD_Connection *conn)
{
    const char **into[S_HEADERS] = {&job->req.host, &job->req.origin,
                                    &job->req.referer, &job->req.fetch_site};
    for (size_t i = 0; i < S_HEADERS; i++) {
        const char *v =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, s_headers[i]);
        *into[i] = v ? s_own(job, v) : NULL;
    }
    job->req.tls = self->tls;
}

// Hand a request to the loop and wait for its answer.
static enum MHD_Result s_dispatch(master_web_t *self,
                                  struct MHD_Connection *conn,
                                  const char *method, const char *url,
                                  s_conn_t *state)
{
    s_job_t *job = apex_calloc(1, sizeof *job);
    job->req.method = s_own(job, method);
    job->req.path = s_own(job, url);
    s_collect_headers(self, job, conn);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, s_collect_arg, job);
    if (state && state->body.len) {
        const char *type = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!type ||
            strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
            job->req.form_error = true;
        else
            s_parse_form(job, state->body.data);
    }
    if (job->too_many) {
        s_job_free(job);
        char message[128];
        snprintf(message, sizeof message,
                 "too many query and form fields (at most %d)",
                 MASTER_WEB_MAX_ARGS);
        return s_json_error(conn, 400, message);
    }

    pthread_mutex_lock(&self->lock);
    if (self->closing) {
        pthread_mutex_unlock(&self->lock);
        s_job_free(job);
        return s_json_error(conn, 503, "the master is shutting down");
    }
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
    uint64_t one = 1;
    ssize_t w = write(self->efd, &one, sizeof one);
    (void)w; // the counter saturating still wakes the loop
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += MASTER_WEB_WAIT_MS / 1000;
    while (!job->done && !self->closing) {
        if (pthread_cond_timedwait(&self->cond, &self->lock, &deadline) ==
            ETIMEDOUT)
            break;
    }
    if (!job->done) {
        job->abandoned = true; // the loop frees it if it ever runs it
        pthread_mutex_unlock(&self->lock);
        return s_json_error(conn, 503, "the master did not answer in time");
    }
    pthread_mutex_unlock(&self->lock);
    enum MHD_Result rc =
        s_queue(conn, job->req.status,
                job->req.content_type ? job->req.content_type : "text/plain",
                job->req.body ? job->req.body : "", job->req.body_len,
                job->req.disposition);
    s_job_free(job);
    return rc;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    master_web_t *self = cls;
    s_conn_t *state = *con_cls;
    if (!state) {
        // First call: headers only. Allocate the body collector.
        state = apex_calloc(1, sizeof *state);
        apex_buf_init(&state->body);
        *con_cls = state;
        return MHD_YES;
    }
    if (*upload_size) {
        if (state->body.len + *upload_size > MASTER_WEB_MAX_BODY)
            state->too_large = true;
        else
            apex_buf_append(&state->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!s_authorized(self, conn)) {
        const char *body = "{\"error\": \"authentication required\"}";
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json");
        enum MHD_Result rc =
            MHD_queue_basic_auth_fail_response(conn, MASTER_WEB_REALM, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (state->too_large)
        return s_json_error(conn, 413, "request body too large");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (self->metrics_only && (!get || strcmp(url, "/metrics") != 0))
        return s_json_error(conn, 404,
                            "a headless master serves only GET /metrics");
    if (get) {
        const char *path = strcmp(url, "/index.html") == 0 ? "/" : url;
        const master_asset_t *asset =
            path[0] == '/' ? master_asset_find(path) : NULL;
        if (asset)
            return s_queue(conn, 200, asset->content_type, asset->data,
                           asset->size, NULL);
    } else if (strcmp(method, "POST") != 0) {
        return s_json_error(conn, 405, "method not allowed");
    }
    return s_dispatch(self, conn, method, url, state);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    s_conn_t *state = *con_cls;
    if (!state)
        return;
    apex_buf_fini(&state->body);
    free(state);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    master_web_t *self = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    // Only master_web_new() reads this, before the thread runs requests.
    if (self->starting && !self->startup_error[0])
        snprintf(self->startup_error, sizeof self->startup_error, "%.*s",
                 (int)sizeof self->startup_error - 1, line);
    apex_debug("web: %s", line);
}

// Read a PEM file for --tls-cert or --tls-key: a new string, or NULL with
// err set.
static char *s_read_pem(const char *option, const char *path, apex_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        apex_error_set(err, "%s %s: cannot read: %s", option, path,
                       strerror(errno));
        return NULL;
    }
    char *text = apex_calloc(1, MASTER_WEB_TLS_MAX + 1);
    size_t n = fread(text, 1, MASTER_WEB_TLS_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > MASTER_WEB_TLS_MAX || !strstr(text, "-----BEGIN ")) {
        apex_error_set(err,
                       "%s %s: expected a PEM file (-----BEGIN ...) of "
                       "at most %d bytes",
                       option, path, MASTER_WEB_TLS_MAX);
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

// Start libmicrohttpd with or without TLS.
static struct MHD_Daemon *s_start(master_web_t *self,
                                  const struct sockaddr_in *addr)
{
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, self->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, self->key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)MASTER_WEB_TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    if (self->tls)
        flags |= MHD_USE_TLS;
    else
        tls[0].option = MHD_OPTION_END;
    self->starting = true;
    // The logger first, so it hears about every other option.
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, s_handler, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, self, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)MASTER_WEB_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MASTER_WEB_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MASTER_WEB_TIMEOUT_S,
        MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    self->starting = false;
    return daemon;
}

// ---------------------------------------------------------------------
// Life cycle

master_web_t *master_web_new(apex_loop_t *loop,
                             const master_web_options_t *options,
                             master_web_handler_fn *fn, void *arg,
                             apex_error_t *err)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)options->port)};
    const char *host = options->host;
    if (!host || !host[0] || strcmp(host, "*") == 0)
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        apex_error_set(err, "--web-host: expected an IPv4 address, got '%s'",
                       host);
        return NULL;
    }
    master_web_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    self->efd = -1;
    self->metrics_only = options->metrics_only;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (options->auth) {
        apex_error_t e = {""};
        self->auth = master_web_auth_new(options->auth, &e);
        if (!self->auth) {
            apex_error_set(err, "--web-auth: %s", e.msg);
            goto fail;
        }
    }
    if (options->tls_cert || options->tls_key) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            apex_error_set(err, "--tls-cert: this libmicrohttpd was built "
                                "without TLS");
            goto fail;
        }
        self->tls = true;
        self->cert = s_read_pem("--tls-cert", options->tls_cert, err);
        self->key =
            self->cert ? s_read_pem("--tls-key", options->tls_key, err) : NULL;
        if (!self->key)
            goto fail;
    }
    self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->efd < 0) {
        apex_error_set(err, "eventfd: %s", strerror(errno));
        goto fail;
    }
    apex_io_init(&self->efd_io, s_on_event, self);
    if (apex_io_start(loop, &self->efd_io, self->efd, EPOLLIN, err) != 0)
        goto fail;
    self->daemon = s_start(self, &addr);
    if (!self->daemon) {
        if (self->tls && self->startup_error[0])
            apex_error_set(err,
                           "cannot serve the web UI on %s:%d with "
                           "--tls-cert %s and --tls-key %s: %s",
                           host && host[0] ? host : "*", options->port,
                           options->tls_cert, options->tls_key,
                           self->startup_error);
        else
            apex_error_set(err,
                           "cannot serve the web UI on %s:%d (is the port "
                           "busy?)%s%s",
                           host && host[0] ? host : "*", options->port,
                           self->startup_error[0] ? ": " : "",
                           self->startup_error);
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : options->port;
    return self;
fail:
    master_web_destroy(&self);
    return NULL;
}

void master_web_destroy(master_web_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_web_t *self = *self_p;
    // Refuse new jobs and wake any waiting handler, then join the thread.
    pthread_mutex_lock(&self->lock);
    self->closing = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    // Jobs still queued were given up by their (now finished) handlers.
    for (s_job_t *job = self->head; job;) {
        s_job_t *next = job->next;
        s_job_free(job);
        job = next;
    }
    if (self->efd >= 0) {
        apex_io_stop(self->loop, &self->efd_io);
        close(self->efd);
    }
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    master_web_auth_destroy(&self->auth);
    free(self->cert);
    if (self->key)
        explicit_bzero(self->key, strlen(self->key));
    free(self->key);
    free(self);
    *self_p = NULL;
}

int master_web_port(const master_web_t *self)
{
    return self->port;
}

bool master_web_tls(const master_web_t *self)
{
    return self->tls;
}
