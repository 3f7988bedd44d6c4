// tests/unit/test_user.c - the user life cycle (worker/user.c) through the
// step-kind seam, with a test-only kind instead of libcurl: on_start,
// weighted tasks, sequences, captures feeding later steps, failures that
// end a task, think times, the open model's iterations, graceful and
// immediate stops. The kind answers each step on a zero-delay timer, by
// the path the user expanded, and logs what it was asked; the test then
// checks the log and the engine's stats. No network, no libcurl.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/loop.h"
#include "common/scenario.h"
#include "worker/engine.h"
#include "worker/kind.h"
#include "worker/step_sleep.h"

#define S_LOG_MAX 4096            // steps the fake kind remembers
#define S_PATH_MAX 64             // bytes of a logged path
#define S_USERS 3                 // users of the closed-model runs
#define S_CREATES 60              // /create steps before a run ends
#define S_DEADLINE_US 20000000ULL // a run that takes longer has hung

typedef struct {
    const void *user;      // who asked
    char path[S_PATH_MAX]; // the path as the user expanded it
    long id;               // /create: the id handed out
    uint64_t at;           // loop time the step started
} s_entry_t;

// The fake kind's state: a log of started steps and counters.
typedef struct {
    apex_loop_t *loop;        // the engine's loop
    s_entry_t log[S_LOG_MAX]; // started steps, in order
    size_t nlog;              // their number
    size_t nconns;            // users with a conn now
    size_t nplans;            // plans alive
    long next_id;             // ids /create hands out
} s_fake_t;

static s_fake_t *s_fake; // the one fake kind of the running test

// A user's state in the fake kind: the step to answer on a timer.
typedef struct {
    apex_timer_t timer;    // answers the step in flight
    worker_user_t *user;   // its user
    char path[S_PATH_MAX]; // the step's expanded path
    char body[S_PATH_MAX]; // the answer's body
    size_t entry;          // the step's entry in the log
} s_conn_t;

static worker_kind_t *s_create(apex_loop_t *loop, apex_error_t *err)
{
    (void)err;
    s_fake->loop = loop;
    return s_fake;
}

static void s_destroy(worker_kind_t **self_p)
{
    *self_p = NULL;
}

static void *s_plan(worker_kind_t *self, const apex_step_t *step)
{
    s_fake_t *fake = self;
    fake->nplans++;
    return (void *)step;
}

static void s_plan_free(worker_kind_t *self, void *plan)
{
    (void)plan;
    s_fake_t *fake = self;
    fake->nplans--;
}

// Answer by path: /login and /create give JSON to capture, /fail fails,
// anything else answers {} (the test reads the log for /item/N).
static void s_answer(apex_loop_t *loop, apex_timer_t *timer)
{
    (void)loop;
    s_conn_t *conn = timer->arg;
    worker_result_t result = {.elapsed_us = 100, .bytes = 10};
    snprintf(conn->body, sizeof conn->body, "{}");
    if (strcmp(conn->path, "/login") == 0)
        snprintf(conn->body, sizeof conn->body, "{\"token\": \"t-1\"}");
    else if (strcmp(conn->path, "/create") == 0) {
        s_fake->log[conn->entry].id = ++s_fake->next_id;
        snprintf(conn->body, sizeof conn->body, "{\"id\": %ld}",
                 s_fake->next_id);
    } else if (strcmp(conn->path, "/fail") == 0)
        result.failure = "Boom('the fake kind failed')";
    result.body = conn->body;
    result.body_len = strlen(conn->body);
    result.headers = "";
    worker_user_step_done(conn->user, &result);
}

static int s_start(worker_kind_t *self, void *plan, const apex_step_t *step,
                   worker_user_t *u, void **conn_p)
{
    (void)plan;
    s_fake_t *fake = self;
    s_conn_t *conn = *conn_p;
    if (!conn) {
        conn = *conn_p = apex_calloc(1, sizeof *conn);
        apex_timer_init(&conn->timer, s_answer, conn);
        conn->user = u;
        fake->nconns++;
    }
    apex_template_ctx_t ctx = worker_user_template_ctx(u);
    apex_buf_t path;
    apex_buf_init(&path);
    apex_template_expand(step->http->path, &ctx, &path);
    snprintf(conn->path, sizeof conn->path, "%s", apex_buf_str(&path));
    apex_buf_fini(&path);
    CHECK(fake->nlog < S_LOG_MAX);
    conn->entry = fake->nlog;
    fake->log[fake->nlog].at = apex_loop_now(fake->loop);
    fake->log[fake->nlog].user = u;
    memcpy(fake->log[fake->nlog].path, conn->path, sizeof conn->path);
    fake->nlog++;
    apex_timer_start(fake->loop, &conn->timer, 0);
    return 0;
}

static void s_conn_free(worker_kind_t *self, void *c)
{
    s_fake_t *fake = self;
    s_conn_t *conn = c;
    apex_timer_stop(fake->loop, &conn->timer);
    fake->nconns--;
    free(conn);
}

static const worker_kind_ops_t s_fake_ops = {
    .name = "fake",
    .create = s_create,
    .destroy = s_destroy,
    .plan = s_plan,
    .plan_free = s_plan_free,
    .start = s_start,
    .conn_free = s_conn_free,
};

static const worker_kind_ops_t *const s_kinds[APEX_STEP_KIND_COUNT] = {
    [APEX_STEP_HTTP] = &s_fake_ops,
    [APEX_STEP_WS] = &s_fake_ops, // unused: the scenarios are HTTP only
    [APEX_STEP_SLEEP] = &worker_step_sleep_ops, // the real one
    [APEX_STEP_SQL] = &s_fake_ops,              // unused, as WS
};

// ---------------------------------------------------------------------
// Running an engine

typedef struct {
    apex_loop_t *loop;       // the loop
    worker_engine_t *engine; // the engine under test
    apex_timer_t check;      // stops the loop when done() says so
    bool (*done)(void *arg); // the run's end
    void *arg;               // its argument
    uint64_t deadline;       // loop time after which the run has hung
    bool stopped_called;     // the stop callback ran
} s_run_t;

static void s_after(void *arg)
{
    s_run_t *run = arg;
    worker_engine_after_iteration(run->engine);
}

static void s_on_check(apex_loop_t *loop, apex_timer_t *timer)
{
    s_run_t *run = timer->arg;
    if (run->done(run->arg) || apex_loop_now(loop) > run->deadline) {
        apex_loop_stop(loop);
        return;
    }
    apex_timer_start(loop, timer, 1000);
}

static void s_run_until(s_run_t *run, bool (*done)(void *), void *arg)
{
    run->done = done;
    run->arg = arg;
    run->deadline = apex_loop_update_now(run->loop) + S_DEADLINE_US;
    apex_timer_start(run->loop, &run->check, 0);
    apex_error_t err = {""};
    CHECK_EQ(apex_loop_run(run->loop, &err), 0);
    CHECK(apex_loop_now(run->loop) <= run->deadline); // it did not hang
}

static void s_setup(s_run_t *run, const char *json)
{
    apex_error_t err = {""};
    memset(run, 0, sizeof *run);
    run->loop = apex_loop_new(&err);
    CHECK(run->loop);
    run->engine = worker_engine_new_with_kinds(run->loop, s_kinds, &err);
    CHECK(run->engine);
    apex_timer_init(&run->check, s_on_check, run);
    apex_loop_on_iteration(run->loop, s_after, run);
    apex_scenario_t *scn = apex_scenario_parse(json, strlen(json), "t", &err);
    CHECK(scn);
    if (!scn)
        printf("  scenario: %s\n", err.msg);
    CHECK_EQ(worker_engine_set_scenario(run->engine, &scn, &err), 0);
}

static void s_teardown(s_run_t *run)
{
    apex_timer_stop(run->loop, &run->check);
    worker_engine_destroy(&run->engine);
    CHECK(run->engine == NULL);
    CHECK_EQ(s_fake->nconns, 0); // every user's state was freed
    CHECK_EQ(s_fake->nplans, 0); // and every plan
    apex_loop_destroy(&run->loop);
}

static void s_apply(s_run_t *run, const char *cls, int64_t users)
{
    worker_count_t counts[] = {{cls, users}};
    char *unknown = NULL;
    worker_engine_apply(run->engine, counts, 1, &unknown);
    CHECK(unknown == NULL);
}

static uint64_t s_count(s_run_t *run, const char *name, bool failures)
{
    apex_stats_entry_t *e =
        apex_stats_find(worker_engine_stats(run->engine), "GET", name);
    if (!e)
        return 0;
    return failures ? e->num_failures : e->num_requests;
}

static size_t s_logged(const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < s_fake->nlog; i++)
        n += strcmp(s_fake->log[i].path, path) == 0;
    return n;
}

static void s_on_stopped(void *arg)
{
    s_run_t *run = arg;
    run->stopped_called = true;
}

// ---------------------------------------------------------------------
// The cases

// on_start captures a token used in a header-free path; the flow task
// creates, reads what it created (a captured id in the path), then fails
// and never reaches its last step; the capture task fails to capture.
static const char *const s_flows =
    "{\"users\": [{\"name\": \"U\", \"wait\": {\"constant\": 0.0005},"
    " \"on_start\": [{\"path\": \"/login\","
    "                 \"capture\": {\"token\": \"$.token\"}}],"
    " \"tasks\": ["
    "  {\"name\": \"flow\", \"weight\": 3, \"sequence\": ["
    "    {\"path\": \"/create\", \"capture\": {\"id\": \"$.id\"}},"
    "    {\"path\": \"/item/${id}?t=${token}\", \"name\": \"/item\"},"
    "    {\"path\": \"/fail\"},"
    "    {\"path\": \"/never\"}]},"
    "  {\"name\": \"capture\", \"weight\": 1,"
    "   \"request\": {\"path\": \"/nocap\","
    "                \"capture\": {\"x\": \"$.missing\"}}}]}]}";

// Every user has begun (new users are spread over a second) and the
// flows have run a while.
static bool s_enough_creates(void *arg)
{
    return s_logged("/login") == S_USERS &&
           s_count(arg, "/create", false) >= S_CREATES;
}

static void s_check_flows(s_run_t *run)
{
    // on_start once per user, before anything else that user does.
    CHECK_EQ(s_logged("/login"), S_USERS);
    for (size_t i = 0; i < s_fake->nlog; i++) {
        bool seen_login = false;
        for (size_t j = 0; j <= i; j++)
            seen_login =
                seen_login || (s_fake->log[j].user == s_fake->log[i].user &&
                               strcmp(s_fake->log[j].path, "/login") == 0);
        CHECK(seen_login);
    }
    // Every /item/N follows its user's own last /create, which returned
    // N, and carries the token from on_start.
    for (size_t i = 0; i < s_fake->nlog; i++) {
        const s_entry_t *e = &s_fake->log[i];
        if (strncmp(e->path, "/item/", 6) != 0)
            continue;
        long id = strtol(e->path + 6, NULL, 10);
        CHECK(strstr(e->path, "?t=t-1") != NULL);
        size_t j = i;
        while (j-- > 0)
            if (s_fake->log[j].user == e->user &&
                strcmp(s_fake->log[j].path, "/create") == 0)
                break;
        CHECK(j < i && s_fake->log[j].id == id);
    }
    // A failed step ends its task: /never never starts.
    CHECK_EQ(s_logged("/never"), 0);
    CHECK(s_logged("/fail") > 0);
    CHECK_EQ(s_count(run, "/fail", true), s_count(run, "/fail", false));
    CHECK_EQ(s_count(run, "/create", true), 0);
    CHECK_EQ(s_count(run, "/item", true), 0);
    // The capture that finds nothing is a failure with Locust's wording.
    CHECK(s_count(run, "/nocap", false) > 0);
    CHECK_EQ(s_count(run, "/nocap", true), s_count(run, "/nocap", false));
    apex_stats_t *stats = worker_engine_stats(run->engine);
    bool capture_error = false, boom = false;
    for (size_t i = 0; i < apex_stats_error_count(stats); i++) {
        const apex_stats_error_t *e = apex_stats_error_at(stats, i);
        capture_error =
            capture_error ||
            strcmp(e->error, "CaptureError('capture x: $.missing: not found "
                             "in response')") == 0;
        boom = boom || strcmp(e->error, "Boom('the fake kind failed')") == 0;
    }
    CHECK(capture_error && boom);
    // Stats: bytes and times as the kind reported them.
    const apex_stats_entry_t *create = apex_stats_find(stats, "GET", "/create");
    CHECK_EQ(create->total_content_length, 10 * create->num_requests);
    CHECK_EQ(create->max_response_us, 100);
    // Iterations: every task that ended, cut short by a failure or the
    // stop or not (each flow starts with /create); on_start is not one.
    uint64_t iterations = 0, dropped = 0;
    worker_engine_take_counters(run->engine, &iterations, &dropped);
    CHECK_EQ(iterations, s_logged("/create") + s_logged("/nocap"));
    CHECK_EQ(s_logged("/create"), s_count(run, "/create", false));
    CHECK_EQ(dropped, 0);
}

static bool s_stopped(void *arg)
{
    s_run_t *run = arg;
    return run->stopped_called;
}

static void s_test_flows(void)
{
    s_run_t run;
    s_setup(&run, s_flows);
    s_apply(&run, "U", S_USERS);
    CHECK_EQ(worker_engine_user_count(run.engine), S_USERS);
    s_run_until(&run, s_enough_creates, &run);
    // A graceful stop lets steps in flight finish, then calls back.
    worker_engine_stop(run.engine, true, s_on_stopped, &run);
    s_run_until(&run, s_stopped, &run);
    CHECK(run.stopped_called);
    CHECK_EQ(worker_engine_user_count(run.engine), 0);
    CHECK_EQ(s_fake->nconns, 0);
    s_check_flows(&run);
    s_teardown(&run);
}

// Think times: with an hour's wait each user runs on_start, then exactly
// one task, then waits; fewer users stop the newest at once.
static const char *const s_waits =
    "{\"users\": [{\"name\": \"W\", \"wait\": {\"between\": [3600, 7200]},"
    " \"on_start\": [{\"path\": \"/login\"}],"
    " \"tasks\": [{\"path\": \"/a\"}]}]}";

static bool s_four_tasks(void *arg)
{
    return s_count(arg, "/a", false) >= 4;
}

static bool s_one_more_tick(void *arg)
{
    size_t *ticks = arg;
    return ++*ticks > 50;
}

static void s_test_waits(void)
{
    s_run_t run;
    s_setup(&run, s_waits);
    s_apply(&run, "W", 4);
    s_run_until(&run, s_four_tasks, &run);
    size_t ticks = 0;
    s_run_until(&run, s_one_more_tick, &ticks); // time for more, if any
    CHECK_EQ(s_count(&run, "/login", false), 4);
    CHECK_EQ(s_count(&run, "/a", false), 4);
    s_apply(&run, "W", 1); // waiting users go at once
    CHECK_EQ(worker_engine_user_count(run.engine), 1);
    CHECK_EQ(s_fake->nconns, 1);
    worker_engine_stop(run.engine, false, NULL, NULL);
    CHECK_EQ(s_fake->nconns, 0);
    s_teardown(&run);
}

// The open model: iterations on a schedule, one task each, on at most
// max_users users; their first step is timed from the intended start.
static const char *const s_open =
    "{\"users\": [{\"name\": \"O\", \"tasks\": [{\"path\": \"/o\"}]}]}";

static bool s_fifty(void *arg)
{
    return s_count(arg, "/o", false) >= 50;
}

static void s_test_open_model(void)
{
    s_run_t run;
    s_setup(&run, s_open);
    worker_engine_set_arrival(run.engine, true, 2000, 2);
    s_apply(&run, "O", 1); // the pre-allocated user
    s_run_until(&run, s_fifty, &run);
    CHECK(worker_engine_user_count(run.engine) <= 2);
    const apex_stats_entry_t *o =
        apex_stats_find(worker_engine_stats(run.engine), "GET", "/o");
    CHECK(o->service != NULL); // service time kept beside the latency
    CHECK(o->max_response_us >= 100);
    worker_engine_stop(run.engine, false, NULL, NULL);
    uint64_t iterations = 0, dropped = 0;
    worker_engine_take_counters(run.engine, &iterations, &dropped);
    CHECK(iterations >= 50);
    s_teardown(&run);
}

// Spawned users begin spread over a second, and constant pacing keeps
// them apart: a user's first wait is a whole period (as Locust's), so
// the herd does not fall back into step.
static const char *const s_pacing =
    "{\"users\": [{\"name\": \"P\", \"wait\": {\"constant_pacing\": 0.2},"
    " \"tasks\": [{\"path\": \"/p\"}]}]}";

#define S_PACED 8 // users

static bool s_three_rounds(void *arg)
{
    return s_count(arg, "/p", false) >= 3 * S_PACED;
}

static void s_test_pacing(void)
{
    s_run_t run;
    s_setup(&run, s_pacing);
    s_apply(&run, "P", S_PACED);
    s_run_until(&run, s_three_rounds, &run);
    // A user's k-th start is at least k periods after its first (the
    // first wait is a whole period, not the period less the time since
    // the user was made); a late timer only makes starts later, so this
    // holds on a busy machine too. Users' first starts are spread, not
    // all at once.
    uint64_t first[S_PACED] = {0};
    size_t nfirst = 0;
    for (size_t i = 0; i < s_fake->nlog; i++) {
        const s_entry_t *e = &s_fake->log[i];
        uint64_t k = 0, at0 = e->at;
        for (size_t j = 0; j < i; j++) {
            if (s_fake->log[j].user != e->user)
                continue;
            if (k++ == 0)
                at0 = s_fake->log[j].at;
        }
        CHECK(e->at + 1000 >= at0 + k * 200000); // 1 ms of clock rounding
        if (k == 0 && nfirst < S_PACED)
            first[nfirst++] = e->at;
    }
    CHECK_EQ(nfirst, S_PACED);
    CHECK(first[S_PACED - 1] - first[0] >= 500000); // spread over ~1 s
    worker_engine_stop(run.engine, false, NULL, NULL);
    s_teardown(&run);
}

void test_user(bool verbose)
{
    s_fake_t fake = {0};
    s_fake = &fake;
    s_test_flows();
    if (verbose)
        printf("  flows: %zu steps started\n", fake.nlog);
    memset(&fake, 0, sizeof fake);
    s_test_waits();
    memset(&fake, 0, sizeof fake);
    s_test_open_model();
    memset(&fake, 0, sizeof fake);
    s_test_pacing();
    s_fake = NULL;
}
