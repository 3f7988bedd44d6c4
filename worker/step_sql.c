// worker/step_sql.c - the SQL step kind (see step_sql.h).
//
// A step runs in phases on the user's link to its database (one libpq
// connection, worker/pg_conn.h): connect when there is none (after the
// back-off a failed attempt set), SET statement_timeout when the step's
// timeout differs from the one the session has (a connection starts with
// the first step's, in its startup options), prepare the query when the
// connection has not yet (statements are named after the query's index
// in the kind's table, so identical queries share one), then execute it
// with the parameters bound. Each phase sends one command and goes on
// when its results are in; a query's result is the step's.
//
// Timeouts. The server cancels a statement that runs past the step's
// timeout (statement_timeout) and answers 57014, the step's failure. The
// step's own timer is the backstop: at the timeout it waits a grace
// second more for that answer, then fails the step and closes the
// connection, as it does for a connection that does not open in time.
//
// Failures are worded so that every worker words them alike and they
// merge: "SQL 57014 canceling statement due to statement timeout" (the
// SQLSTATE and PostgreSQL's primary message), "SQL connection error:
// connection to server at "127.0.0.1", port 5433 failed: Connection
// refused" (libpq's first line), "SQL expected 1 row, got 0". A
// connection that fails to open makes its user wait before the next
// attempt (0.1 s doubling to 5 s, jittered); one that is lost is
// reopened by the next step at once.
//
// Every step ends through s_done(): from a loop event, or on the user's
// wake timer when it ends within start().
#include "worker/step_sql.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "worker/failure.h"
#include "worker/pg_conn.h"

#define WORKER_SQL_GRACE_US (1 * APEX_USEC_PER_SEC) // for the server's 57014
#define WORKER_SQL_BACKOFF_MIN_US (100 * APEX_USEC_PER_MSEC)
#define WORKER_SQL_BACKOFF_MAX_US (5 * APEX_USEC_PER_SEC)
#define WORKER_SQL_BACKOFF_STEPS 6 // doublings from min to max
#define WORKER_SQL_STMT_NAME_MAX 32
#define WORKER_SQL_SET_MAX 64
#define WORKER_SQL_MS_PER_S 1000.0
// A message quoted in a failure text, leaving room for what precedes it.
#define WORKER_SQL_LINE_MAX (WORKER_FAILURE_MAX - 64)

// A database the scenario names, parsed once.
typedef struct {
    char *conninfo;                  // the connection string
    worker_pg_target_t *target;      // parsed, or NULL
    char error[WORKER_SQL_LINE_MAX]; // why not
} s_db_t;

typedef struct {
    apex_loop_t *loop;              // the loop
    worker_resolver_t *resolver;    // host names
    worker_pg_env_t env;            // what connections share
    s_db_t **dbs;                   // databases by index
    size_t ndbs;                    // their number
    char **queries;                 // statement texts by index
    size_t nqueries;                // their number
    uint64_t rng;                   // back-off jitter
    worker_sql_counters_t counters; // run-wide figures
} s_kind_t;

typedef struct {
    const apex_step_t *step;                  // the step in the model
    size_t db;                                // its database's index
    size_t stmt;                              // its query's index
    char stmt_name[WORKER_SQL_STMT_NAME_MAX]; // "apex_<stmt>"
    long timeout_ms;                          // its statement_timeout
    bool logged;                              // its first failure was
} s_plan_t;

typedef enum {
    S_IDLE,       // no step in flight
    S_WAITING,    // the back-off before connecting
    S_CONNECTING, // the connection is opening
    S_SETTING,    // SET statement_timeout
    S_PREPARING,  // the query's Parse
    S_EXECUTING,  // the query
    S_ENDING      // over; s_done runs on the wake timer
} s_phase_t;

typedef struct s_conn s_conn_t;

// A user's connection to one database.
typedef struct {
    s_conn_t *owner;   // the user's state
    worker_pg_t *pg;   // the connection, or NULL
    bool open;         // it opened
    long timeout_ms;   // its statement_timeout
    bool *prepared;    // statements prepared on it, by index
    size_t nprepared;  // slots
    unsigned failures; // attempts that failed in a row
    uint64_t retry_at; // no attempt before this loop time
} s_link_t;

struct s_conn {
    s_kind_t *kind;                   // the kind
    worker_user_t *user;              // its user
    s_link_t **links;                 // by database index (NULL: none)
    size_t nlinks;                    // slots
    s_link_t *link;                   // the step's
    const apex_step_t *step;          // the step in flight, or NULL
    s_plan_t *plan;                   // its plan
    s_phase_t phase;                  // where it is
    uint64_t started;                 // loop time it started
    apex_timer_t deadline;            // its timeout
    apex_timer_t wake;                // back-off, or its end
    bool grace;                       // the timeout passed once
    PGresult *result;                 // the command's result, or NULL
    uint64_t bytes;                   // the result's bytes
    char failure[WORKER_FAILURE_MAX]; // why the step failed, "" if not
    apex_buf_t *bufs;                 // parameter values
    const char **values;              // their texts (NULL: SQL NULL)
    size_t nbufs;                     // slots
};

static const worker_pg_events_t s_events;

// ---------------------------------------------------------------------
// Failures and the end of a step

// A result's error: "SQL SQLSTATE primary message", or libpq's own
// ("SQL error: server closed the connection unexpectedly").
static void s_result_error(const PGresult *res, char *out, size_t size)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char line[WORKER_SQL_LINE_MAX];
    if (state && primary) {
        worker_pg_first_line(primary, line, sizeof line);
        snprintf(out, size, "SQL %.5s %s", state, line);
        return;
    }
    worker_pg_first_line(PQresultErrorMessage(res), line, sizeof line);
    snprintf(out, size, "SQL error: %s", line[0] ? line : "no result");
}

static bool s_is_error(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR ||
           st == PGRES_BAD_RESPONSE;
}

// Column captures read the result through this.
static int s_row_get(const void *arg, size_t row, const char *name,
                     const char **value)
{
    const PGresult *res = arg;
    for (int i = 0; i < PQnfields(res); i++) {
        if (strcmp(PQfname(res, i), name) != 0)
            continue;
        if (PQgetisnull(res, (int)row, i))
            return -1;
        *value = PQgetvalue(res, (int)row, i);
        return 1;
    }
    return 0;
}

// A scripted user's rows read the result through this.
static const char *s_column(const void *arg, size_t row, size_t col,
                            const char **value)
{
    const PGresult *res = arg;
    *value = PQgetisnull(res, (int)row, (int)col)
                 ? NULL
                 : PQgetvalue(res, (int)row, (int)col);
    return PQfname(res, (int)col);
}

static void s_done(s_conn_t *c)
{
    s_kind_t *kind = c->kind;
    apex_timer_stop(kind->loop, &c->deadline);
    apex_timer_stop(kind->loop, &c->wake);
    PGresult *res = c->result;
    c->result = NULL;
    bool failed = c->failure[0] != '\0';
    if (failed && !c->plan->logged) {
        c->plan->logged = true;
        apex_warn("sql step '%s': %s (later failures of the step are "
                  "counted, not logged)",
                  c->step->name, c->failure);
    }
    apex_capture_rows_t rows = {0, s_row_get, res, 0, s_column};
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        rows.nrows = (size_t)PQntuples(res);
        rows.ncolumns = (size_t)PQnfields(res);
    }
    uint64_t now = apex_loop_now(kind->loop);
    worker_result_t result = {
        .elapsed_us = now > c->started ? now - c->started : 0,
        .bytes = c->bytes,
        .failure = failed ? c->failure : NULL,
        .rows = !failed && (c->step->ncaptures || c->step->needs_body) ? &rows
                                                                       : NULL,
    };
    c->step = NULL;
    c->phase = S_IDLE;
    worker_user_step_done(c->user, &result); // c may be freed
    PQclear(res);
}

// End the step from the loop, on the next iteration.
static void s_fail_soon(s_conn_t *c, const char *text)
{
    snprintf(c->failure, sizeof c->failure, "%s", text);
    c->phase = S_ENDING;
    apex_timer_start(c->kind->loop, &c->wake, 0);
}

// ---------------------------------------------------------------------
// Links

static s_link_t *s_link_get(s_conn_t *c, size_t db)
{
    if (db >= c->nlinks) {
        c->links = apex_realloc(c->links, db + 1, sizeof *c->links);
        memset(c->links + c->nlinks, 0,
               (db + 1 - c->nlinks) * sizeof *c->links);
        c->nlinks = db + 1;
    }
    if (!c->links[db]) {
        c->links[db] = apex_calloc(1, sizeof **c->links);
        c->links[db]->owner = c;
    }
    return c->links[db];
}

// Close a link's connection; lost: the server's doing, not ours.
static void s_link_close(s_kind_t *kind, s_link_t *link, bool lost)
{
    if (link->open) {
        kind->counters.open--;
        if (lost)
            kind->counters.dropped++;
        else
            kind->counters.closed++;
    }
    link->open = false;
    worker_pg_destroy(&link->pg);
    if (link->nprepared)
        memset(link->prepared, 0, link->nprepared * sizeof *link->prepared);
}

// An attempt to connect failed: close it and set the back-off.
static void s_link_failed(s_kind_t *kind, s_link_t *link)
{
    kind->counters.connect_failures++;
    worker_pg_destroy(&link->pg);
    link->open = false;
    unsigned steps = link->failures < WORKER_SQL_BACKOFF_STEPS
                         ? link->failures
                         : WORKER_SQL_BACKOFF_STEPS;
    uint64_t delay = WORKER_SQL_BACKOFF_MIN_US << steps;
    if (delay > WORKER_SQL_BACKOFF_MAX_US)
        delay = WORKER_SQL_BACKOFF_MAX_US;
    delay = delay / 2 + apex_rng_below(&kind->rng, delay / 2 + 1);
    link->failures++;
    link->retry_at = apex_loop_now(kind->loop) + delay;
}

static bool s_is_prepared(const s_link_t *link, size_t stmt)
{
    return stmt < link->nprepared && link->prepared[stmt];
}

static void s_set_prepared(s_link_t *link, size_t stmt)
{
    if (stmt >= link->nprepared) {
        link->prepared =
            apex_realloc(link->prepared, stmt + 1, sizeof *link->prepared);
        memset(link->prepared + link->nprepared, 0,
               (stmt + 1 - link->nprepared) * sizeof *link->prepared);
        link->nprepared = stmt + 1;
    }
    link->prepared[stmt] = true;
}

// ---------------------------------------------------------------------
// Phases

// The step's parameters expanded into c->values.
static void s_expand_params(s_conn_t *c, const apex_sql_step_t *q)
{
    if (q->nparams > c->nbufs) {
        c->bufs = apex_realloc(c->bufs, q->nparams, sizeof *c->bufs);
        c->values = apex_realloc(c->values, q->nparams, sizeof *c->values);
        for (size_t i = c->nbufs; i < q->nparams; i++)
            apex_buf_init(&c->bufs[i]);
        c->nbufs = q->nparams;
    }
    apex_template_ctx_t ctx = worker_user_template_ctx(c->user);
    for (size_t i = 0; i < q->nparams; i++) {
        c->values[i] = NULL;
        if (!q->params[i])
            continue;
        apex_buf_reset(&c->bufs[i]);
        apex_template_expand(q->params[i], &ctx, &c->bufs[i]);
        c->values[i] = apex_buf_str(&c->bufs[i]);
    }
}

// Send the next command of the step on its open link.
static void s_next(s_conn_t *c)
{
    s_link_t *link = c->link;
    const s_plan_t *plan = c->plan;
    PGconn *conn = worker_pg_conn(link->pg);
    int sent;
    if (link->timeout_ms != plan->timeout_ms) {
        char sql[WORKER_SQL_SET_MAX];
        snprintf(sql, sizeof sql, "SET statement_timeout = %ld",
                 plan->timeout_ms);
        c->phase = S_SETTING;
        sent = PQsendQuery(conn, sql);
    } else if (!s_is_prepared(link, plan->stmt)) {
        c->phase = S_PREPARING;
        sent = PQsendPrepare(conn, plan->stmt_name,
                             c->kind->queries[plan->stmt], 0, NULL);
    } else {
        const apex_sql_step_t *q = c->step->sql;
        s_expand_params(c, q);
        c->phase = S_EXECUTING;
        sent = PQsendQueryPrepared(conn, plan->stmt_name, (int)q->nparams,
                                   c->values, NULL, NULL, 0);
    }
    apex_error_t err; // set only on failure (nothing to clear per query)
    if (!sent) {
        char line[WORKER_SQL_LINE_MAX];
        worker_pg_first_line(PQerrorMessage(conn), line, sizeof line);
        apex_error_set(&err, "%s", line);
    }
    if (!sent || worker_pg_sent(link->pg, &err) != 0) {
        char text[WORKER_FAILURE_MAX];
        snprintf(text, sizeof text, "SQL error: %.*s", WORKER_SQL_LINE_MAX,
                 err.msg);
        s_link_close(c->kind, link, true);
        s_fail_soon(c, text);
    }
}

// Open the step's link, unless its back-off says to wait.
static void s_connect(s_conn_t *c)
{
    s_kind_t *kind = c->kind;
    s_link_t *link = c->link;
    if (apex_loop_now(kind->loop) < link->retry_at) {
        c->phase = S_WAITING;
        apex_timer_start_at(kind->loop, &c->wake, link->retry_at);
        return;
    }
    apex_error_t err = {""};
    link->pg = worker_pg_open(&kind->env, kind->dbs[c->plan->db]->target,
                              c->plan->timeout_ms, &s_events, link, &err);
    if (!link->pg) {
        char text[WORKER_FAILURE_MAX];
        snprintf(text, sizeof text, "SQL connection error: %.*s",
                 WORKER_SQL_LINE_MAX, err.msg);
        s_link_failed(kind, link);
        s_fail_soon(c, text);
        return;
    }
    link->timeout_ms = c->plan->timeout_ms; // in the startup options
    c->phase = S_CONNECTING;
}

// The query's result: its size, its row count against expect_rows.
static void s_evaluate(s_conn_t *c)
{
    const PGresult *res = c->result;
    const apex_sql_step_t *q = c->step->sql;
    uint64_t rows = 0;
    c->bytes = 0;
    if (!res || s_is_error(res)) {
        if (res)
            s_result_error(res, c->failure, sizeof c->failure);
        else
            snprintf(c->failure, sizeof c->failure, "SQL error: %s",
                     "no result (the connection was lost)");
        return;
    }
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        int nrows = PQntuples(res), nfields = PQnfields(res);
        rows = (uint64_t)nrows;
        for (int r = 0; r < nrows; r++)
            for (int f = 0; f < nfields; f++)
                c->bytes += (uint64_t)PQgetlength(res, r, f);
    } else {
        rows = strtoull(PQcmdTuples((PGresult *)res), NULL, 10);
    }
    if (!q->has_expect || (rows >= q->min_rows && rows <= q->max_rows))
        return;
    if (q->min_rows == q->max_rows)
        snprintf(c->failure, sizeof c->failure,
                 "SQL expected %" PRIu64 " row%s, got %" PRIu64, q->min_rows,
                 q->min_rows == 1 ? "" : "s", rows);
    else
        snprintf(c->failure, sizeof c->failure,
                 "SQL expected %" PRIu64 " to %" PRIu64 " rows, got %" PRIu64,
                 q->min_rows, q->max_rows, rows);
}

// ---------------------------------------------------------------------
// The connection's events

static void s_on_open(void *arg)
{
    s_link_t *link = arg;
    s_conn_t *c = link->owner;
    c->kind->counters.opened++;
    c->kind->counters.open++;
    link->open = true;
    link->failures = 0;
    link->retry_at = 0;
    if (c->link == link && c->phase == S_CONNECTING)
        s_next(c);
}

static bool s_is_copy(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

static void s_on_result(void *arg, PGresult *res)
{
    s_link_t *link = arg;
    s_conn_t *c = link->owner;
    bool wanted =
        c->link == link && (c->phase == S_SETTING || c->phase == S_PREPARING ||
                            c->phase == S_EXECUTING);
    if (wanted && s_is_copy(res)) {
        // The server waits for COPY data or sends it: a protocol the
        // kind does not speak. The connection goes with the step.
        PQclear(res);
        snprintf(c->failure, sizeof c->failure,
                 "SQL COPY is not supported in sql steps");
        s_link_close(c->kind, link, false);
        PQclear(c->result);
        c->result = NULL;
        s_done(c);
        return;
    }
    if (wanted && !c->result) {
        c->result = res;
    } else if (wanted && s_is_error(res) && !s_is_error(c->result)) {
        PQclear(c->result); // an error after a result wins
        c->result = res;
    } else {
        PQclear(res);
    }
}

static void s_on_done(void *arg)
{
    s_link_t *link = arg;
    s_conn_t *c = link->owner;
    if (c->link != link || c->phase < S_SETTING || c->phase > S_EXECUTING)
        return;
    bool ok = worker_pg_ok(link->pg);
    if (c->phase == S_EXECUTING) {
        s_evaluate(c);
    } else if (c->result && s_is_error(c->result)) {
        s_result_error(c->result, c->failure, sizeof c->failure);
    } else if (c->phase == S_SETTING) {
        link->timeout_ms = c->plan->timeout_ms;
    } else {
        s_set_prepared(link, c->plan->stmt);
    }
    if (!ok)
        s_link_close(c->kind, link, true);
    if (!ok && !c->failure[0])
        snprintf(c->failure, sizeof c->failure, "SQL error: %s",
                 "the connection was lost");
    if (c->phase == S_EXECUTING || c->failure[0]) {
        s_done(c);
        return;
    }
    PQclear(c->result);
    c->result = NULL;
    s_next(c);
}

static void s_on_close(void *arg, const char *error)
{
    s_link_t *link = arg;
    s_conn_t *c = link->owner;
    bool waited = c->link == link && c->phase == S_CONNECTING;
    if (link->open)
        s_link_close(c->kind, link, true);
    else
        s_link_failed(c->kind, link);
    if (!waited)
        return;
    snprintf(c->failure, sizeof c->failure, "SQL connection error: %s", error);
    s_done(c);
}

static const worker_pg_events_t s_events = {
    .on_open = s_on_open,
    .on_result = s_on_result,
    .on_done = s_on_done,
    .on_close = s_on_close,
};

// ---------------------------------------------------------------------
// Timers

static void s_on_deadline(apex_loop_t *loop, apex_timer_t *timer)
{
    s_conn_t *c = timer->arg;
    const apex_step_t *step = c->step;
    if (c->phase == S_ENDING) {
        s_done(c); // its failure is set
        return;
    }
    if (c->phase >= S_SETTING && c->phase <= S_EXECUTING && !c->grace) {
        c->grace = true; // the server's statement_timeout answers first
        apex_timer_start(loop, &c->deadline, WORKER_SQL_GRACE_US);
        return;
    }
    if (c->phase == S_WAITING || c->phase == S_CONNECTING) {
        snprintf(c->failure, sizeof c->failure,
                 "SQL connection error: no connection within %g s",
                 step->timeout);
        if (c->phase == S_CONNECTING)
            s_link_failed(c->kind, c->link);
    } else {
        snprintf(c->failure, sizeof c->failure,
                 "SQL timeout: no answer within %g s", step->timeout);
        s_link_close(c->kind, c->link, false);
    }
    PQclear(c->result);
    c->result = NULL;
    s_done(c);
}

static void s_on_wake(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_conn_t *c = timer->arg;
    if (c->phase == S_WAITING)
        s_connect(c);
    else if (c->phase == S_ENDING)
        s_done(c);
}

// ---------------------------------------------------------------------
// The kind

static int s_start(worker_kind_t *kind, void *plan, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    s_kind_t *self = kind;
    s_conn_t *c = *conn_p;
    if (!c) {
        c = *conn_p = apex_calloc(1, sizeof *c);
        c->kind = self;
        c->user = u;
        apex_timer_init(&c->deadline, s_on_deadline, c);
        apex_timer_init(&c->wake, s_on_wake, c);
    }
    c->step = step;
    c->plan = plan;
    c->started = apex_loop_now(self->loop);
    c->failure[0] = '\0';
    c->bytes = 0;
    c->grace = false;
    c->link = s_link_get(c, c->plan->db);
    apex_timer_start(self->loop, &c->deadline, apex_us_from_s(step->timeout));
    const s_db_t *db = self->dbs[c->plan->db];
    if (!db->target) {
        char text[WORKER_FAILURE_MAX];
        snprintf(text, sizeof text, "SQL connection error: %s", db->error);
        s_fail_soon(c, text);
    } else if (c->link->pg && c->link->open) {
        s_next(c);
    } else {
        worker_pg_destroy(&c->link->pg); // none is opening between steps
        s_connect(c);
    }
    return 0;
}

static void s_conn_free(worker_kind_t *kind, void *conn)
{
    s_kind_t *self = kind;
    s_conn_t *c = conn;
    apex_timer_stop(self->loop, &c->deadline);
    apex_timer_stop(self->loop, &c->wake);
    for (size_t i = 0; i < c->nlinks; i++) {
        if (!c->links[i])
            continue;
        s_link_close(self, c->links[i], false);
        free(c->links[i]->prepared);
        free(c->links[i]);
    }
    free(c->links);
    PQclear(c->result);
    for (size_t i = 0; i < c->nbufs; i++)
        apex_buf_fini(&c->bufs[i]);
    free(c->bufs);
    free(c->values);
    free(c);
}

// The index of text in a table of strings, added when new.
static size_t s_intern(char ***table, size_t *n, const char *text)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*table)[i], text) == 0)
            return i;
    *table = apex_realloc(*table, *n + 1, sizeof **table);
    (*table)[*n] = apex_strdup(text);
    return (*n)++;
}

static size_t s_intern_db(s_kind_t *self, const char *conninfo)
{
    for (size_t i = 0; i < self->ndbs; i++)
        if (strcmp(self->dbs[i]->conninfo, conninfo) == 0)
            return i;
    s_db_t *db = apex_calloc(1, sizeof *db);
    db->conninfo = apex_strdup(conninfo);
    apex_error_t err = {""};
    db->target = worker_pg_target_new(conninfo, &err);
    if (!db->target)
        snprintf(db->error, sizeof db->error, "%.*s", (int)sizeof db->error - 1,
                 err.msg);
    self->dbs = apex_realloc(self->dbs, self->ndbs + 1, sizeof *self->dbs);
    self->dbs[self->ndbs] = db;
    return self->ndbs++;
}

static void *s_plan(worker_kind_t *kind, const apex_step_t *step)
{
    s_kind_t *self = kind;
    s_plan_t *plan = apex_calloc(1, sizeof *plan);
    plan->step = step;
    plan->db = s_intern_db(self, step->sql->database);
    plan->stmt = s_intern(&self->queries, &self->nqueries, step->sql->query);
    snprintf(plan->stmt_name, sizeof plan->stmt_name, "apex_%zu", plan->stmt);
    double ms = step->timeout * WORKER_SQL_MS_PER_S;
    plan->timeout_ms = ms < 1 ? 1 : ms > INT_MAX ? INT_MAX : (long)ms;
    return plan;
}

static void s_plan_free(worker_kind_t *kind, void *plan)
{
    (void)kind;
    free(plan);
}

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    s_kind_t *self = apex_calloc(1, sizeof *self);
    self->loop = loop;
    self->rng = apex_rng_seed(apex_now_us() ^ (uint64_t)(uintptr_t)self);
    self->resolver = worker_resolver_new(loop, err);
    if (!self->resolver) {
        free(self);
        return NULL;
    }
    self->env = (worker_pg_env_t){.loop = loop, .resolver = self->resolver};
    return self;
}

static void s_destroy(worker_kind_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_kind_t *self = *self_p;
    for (size_t i = 0; i < self->ndbs; i++) {
        free(self->dbs[i]->conninfo);
        worker_pg_target_destroy(&self->dbs[i]->target);
        free(self->dbs[i]);
    }
    free(self->dbs);
    for (size_t i = 0; i < self->nqueries; i++)
        free(self->queries[i]);
    free(self->queries);
    worker_resolver_destroy(&self->resolver);
    free(self);
    *self_p = NULL;
}

const worker_sql_counters_t *worker_step_sql_counters(const worker_kind_t *kind)
{
    const s_kind_t *self = kind;
    return &self->counters;
}

static size_t s_metrics(worker_kind_t *kind, worker_metric_t *out, size_t max)
{
    const worker_sql_counters_t *n = worker_step_sql_counters(kind);
    const worker_metric_t all[] = {
        {"sql_connects", false, (int64_t)n->opened},
        {"sql_connect_failures", false, (int64_t)n->connect_failures},
        {"sql_drops", false, (int64_t)n->dropped},
        {"sql_connections", true, n->open},
    };
    return worker_metrics_copy(out, max, all, sizeof all / sizeof all[0]);
}

const worker_kind_ops_t worker_step_sql_ops = {
    .name = "sql",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .start = s_start,
    .conn_free = s_conn_free,
    .metrics = s_metrics,
};
