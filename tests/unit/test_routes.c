// tests/unit/test_routes.c - the web API's route table (master/routes.h):
// every path with its method, HEAD as GET, 404 for an unknown path and 405
// for a wrong method (with their exact bodies), and the handlers on a
// real runner, registry and results driven by hand-made requests: /swarm's
// form errors, a start and a stop with one registered worker, the JSON
// documents, the CSV downloads. No socket is opened and the loop never
// runs: what the runner sends is counted by a fake send function.
#include "tests/unit/tests.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/loop.h"
#include "master/metrics.h"
#include "master/registry.h"
#include "master/results.h"
#include "master/routes.h"
#include "master/runner.h"
#include "proto/proto.h"

#define S_HOST "http://127.0.0.1:1"
#define S_SCENARIO                                                             \
    "{\"host\": \"" S_HOST "\", \"users\": [{\"name\": \"U\", \"tasks\": "     \
    "[{\"path\": \"/\"}]}]}"
#define S_WORKER "host_0123abcd" // a worker id as apex-worker makes them

typedef struct {
    apex_loop_t *loop;           // never run
    apex_scenario_t *scenario;   // one user class, U
    master_options_t options;    // defaults, as main.c sets them
    master_registry_t *registry; // the workers
    master_results_t results;    // what was measured
    master_runner_t *runner;     // the test
    master_routes_ctx_t ctx;     // what the handlers get
    int sent;                    // messages the runner sent
    char last_type[32];          // type of the last one, when known
} s_fixture_t;

static void s_send(void *arg, const char *id, const apex_buf_t *payload)
{
    s_fixture_t *f = arg;
    CHECK_STR(id, S_WORKER);
    f->sent++;
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(payload->data, payload->len, &err);
    CHECK(msg != NULL);
    snprintf(f->last_type, sizeof f->last_type, "%s", msg->type_name);
    proto_msg_destroy(&msg);
}

static void s_fixture_init(s_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    apex_error_t err = {""};
    f->loop = apex_loop_new(&err);
    CHECK(f->loop != NULL);
    f->scenario =
        apex_scenario_parse(S_SCENARIO, strlen(S_SCENARIO), "s.json", &err);
    CHECK(f->scenario != NULL);
    f->options = (master_options_t){.scenario_path = "s.json",
                                    .users = 1,
                                    .spawn_rate = 1,
                                    .expect_workers = 1,
                                    .stop_timeout = -1,
                                    .autoquit = -1};
    f->registry = master_registry_new(f->scenario->nusers);
    master_results_init(&f->results);
    master_runner_config_t config = {
        .loop = f->loop,
        .options = &f->options,
        .scenario = f->scenario,
        .registry = f->registry,
        .results = &f->results,
        .send = s_send,
        .send_arg = f,
        .host = apex_strdup(S_HOST),
    };
    CHECK_EQ(master_thresholds_parse_arg(&config.thresholds,
                                         "http_reqs: count>=0", &err),
             0);
    f->runner = master_runner_new(&config);
    f->ctx = (master_routes_ctx_t){
        .loop = f->loop,
        .runner = f->runner,
        .registry = f->registry,
        .results = &f->results,
        .options = &f->options,
        .scenario = f->scenario,
        .run_id = "r1",
        .master_port = 5557,
    };
}

static void s_fixture_fini(s_fixture_t *f)
{
    master_runner_destroy(&f->runner);
    master_runner_destroy(&f->runner); // safe twice
    master_registry_destroy(&f->registry);
    master_registry_destroy(&f->registry);
    master_results_fini(&f->results);
    apex_scenario_destroy(&f->scenario);
    apex_loop_destroy(&f->loop);
}

// A request as master/web.c hands it over: method, path, fields "k=v&..."
// split by hand (no escapes in these tests).
typedef struct {
    master_web_request_t req;              // what the handler sees
    char fields[MASTER_WEB_MAX_ARGS * 16]; // the fields' text, split
} s_request_t;

static master_web_request_t *s_request(s_request_t *r, const char *method,
                                       const char *path, const char *fields)
{
    memset(r, 0, sizeof *r);
    r->req.method = method;
    r->req.path = path;
    if (!fields)
        return &r->req;
    CHECK(strlen(fields) < sizeof r->fields);
    strcpy(r->fields, fields);
    char *save = NULL;
    for (char *kv = strtok_r(r->fields, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        CHECK(eq != NULL);
        *eq = '\0';
        r->req.keys[r->req.nargs] = kv;
        r->req.values[r->req.nargs] = eq + 1;
        r->req.nargs++;
    }
    return &r->req;
}

static void s_request_fini(s_request_t *r)
{
    free(r->req.body);
    free(r->req.disposition);
}

// Handle method path (with fields) and check the status and, when not
// NULL, the exact body.
static void s_check(s_fixture_t *f, const char *method, const char *path,
                    const char *fields, int status, const char *body)
{
    s_request_t r;
    master_web_request_t *req = s_request(&r, method, path, fields);
    master_routes_handle(&f->ctx, req);
    if (req->status != status)
        fprintf(stderr, "%s %s: %d %s\n", method, path, req->status,
                req->body ? req->body : "");
    CHECK_EQ(req->status, status);
    CHECK(req->body != NULL);
    CHECK_EQ(req->body_len, strlen(req->body));
    if (body)
        CHECK_STR(req->body, body);
    s_request_fini(&r);
}

// Handle GET path and return its JSON body, parsed (the caller decrefs).
static json_t *s_get_json(s_fixture_t *f, const char *path)
{
    s_request_t r;
    master_web_request_t *req = s_request(&r, "GET", path, NULL);
    master_routes_handle(&f->ctx, req);
    CHECK_EQ(req->status, 200);
    CHECK_STR(req->content_type, "application/json");
    json_error_t jerr;
    json_t *doc = json_loads(req->body, JSON_DECODE_ANY, &jerr);
    CHECK(doc != NULL);
    s_request_fini(&r);
    return doc;
}

static const char *s_state(s_fixture_t *f)
{
    static char state[32];
    json_t *doc = s_get_json(f, "/stats/requests");
    snprintf(state, sizeof state, "%s",
             json_string_value(json_object_get(doc, "state")));
    json_decref(doc);
    return state;
}

static void s_test_find(void)
{
    static const char *const get_paths[] = {"/stats/requests",
                                            "/metrics",
                                            "/config",
                                            "/stop",
                                            "/stats/reset",
                                            "/exceptions",
                                            "/history",
                                            "/worker-count",
                                            "/tasks",
                                            "/stats/requests/csv",
                                            "/stats/failures/csv",
                                            "/exceptions/csv",
                                            "/stats/requests_full_history/csv",
                                            "/report",
                                            "/stats/report",
                                            "/stats/report.json"};
    int status = 0;
    const char *message = NULL;
    for (size_t i = 0; i < sizeof get_paths / sizeof get_paths[0]; i++) {
        const master_route_t *r =
            master_routes_find("GET", get_paths[i], &status, &message);
        CHECK(r != NULL);
        CHECK_STR(r->path, get_paths[i]);
        CHECK_STR(r->method, "GET");
        CHECK(master_routes_find("HEAD", get_paths[i], &status, &message) == r);
        CHECK(master_routes_find("POST", get_paths[i], &status, &message) ==
              NULL);
        CHECK_EQ(status, 405);
        CHECK_STR(message, "method not allowed");
    }
    const master_route_t *swarm =
        master_routes_find("POST", "/swarm", &status, &message);
    CHECK(swarm != NULL && strcmp(swarm->method, "POST") == 0);
    static const char *const not_post[] = {"GET", "HEAD", "PUT"};
    for (size_t i = 0; i < sizeof not_post / sizeof not_post[0]; i++) {
        status = 0;
        CHECK(master_routes_find(not_post[i], "/swarm", &status, &message) ==
              NULL);
        CHECK_EQ(status, 405);
        CHECK_STR(message, "use POST for /swarm");
    }
    // Paths match exactly: no prefix, case, trailing slash or query.
    static const char *const unknown[] = {"/nowhere",
                                          "",
                                          "/",
                                          "/stats",
                                          "/stats/requests/",
                                          "/STATS/REQUESTS",
                                          "/stats/requests?x=1",
                                          "/swarm/",
                                          "//swarm"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK(master_routes_find("GET", unknown[i], &status, &message) == NULL);
        CHECK_EQ(status, 404);
        CHECK_STR(message, "not found");
        CHECK(master_routes_find("HEAD", unknown[i], &status, &message) ==
              NULL);
        CHECK_EQ(status, 404);
        // Only /swarm takes POST: a POST elsewhere is a wrong method.
        CHECK(master_routes_find("POST", unknown[i], &status, &message) ==
              NULL);
        CHECK_EQ(status, 405);
        CHECK_STR(message, "method not allowed");
        CHECK(master_routes_find("DELETE", unknown[i], &status, &message) ==
              NULL);
        CHECK_EQ(status, 405);
    }
}

static void s_test_errors(s_fixture_t *f)
{
    s_check(f, "GET", "/nowhere", NULL, 404, "{\"error\": \"not found\"}");
    s_check(f, "HEAD", "/nowhere", NULL, 404, "{\"error\": \"not found\"}");
    s_check(f, "POST", "/nowhere", NULL, 405,
            "{\"success\":false,\"message\":\"method not allowed\"}");
    s_check(f, "POST", "/stats/requests", NULL, 405,
            "{\"success\":false,\"message\":\"method not allowed\"}");
    s_check(f, "GET", "/swarm", "user_count=1&spawn_rate=1", 405,
            "{\"success\":false,\"message\":\"use POST for /swarm\"}");
}

static void s_check_swarm_error(s_fixture_t *f, const char *fields,
                                const char *message)
{
    char *body =
        apex_sprintf("{\"success\":false,\"message\":\"%s\"}", message);
    s_check(f, "POST", "/swarm", fields, 400, body);
    free(body);
}

static void s_test_swarm_form(s_fixture_t *f)
{
    s_request_t r;
    master_web_request_t *req = s_request(&r, "POST", "/swarm", NULL);
    req->form_error = true;
    master_routes_handle(&f->ctx, req);
    CHECK_EQ(req->status, 400);
    CHECK_STR(req->body, "{\"success\":false,\"message\":\"expected a form "
                         "(application/x-www-form-urlencoded)\"}");
    s_request_fini(&r);

    s_check_swarm_error(f, "user_count=5",
                        "Missing user_count or spawn_rate from /swarm request");
    s_check_swarm_error(f, "spawn_rate=5",
                        "Missing user_count or spawn_rate from /swarm request");
    s_check_swarm_error(f, "user_count=x&spawn_rate=1",
                        "user_count: expected an integer from 0 to 10000000, "
                        "got 'x'");
    s_check_swarm_error(f, "user_count=10000001&spawn_rate=1",
                        "user_count: expected an integer from 0 to 10000000, "
                        "got '10000001'");
    s_check_swarm_error(f, "user_count=5&spawn_rate=0",
                        "spawn_rate: expected a number from 0.001 to 1e+06, "
                        "got '0'");
    s_check_swarm_error(f, "user_count=5&spawn_rate=nan",
                        "spawn_rate: expected a number from 0.001 to 1e+06, "
                        "got 'nan'");
    s_check_swarm_error(f, "user_count=5&spawn_rate=1&run_time=soon",
                        "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, "
                        "3h30m10s, etc.");
    s_check_swarm_error(f, "user_count=5&spawn_rate=1&run_time=0",
                        "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, "
                        "3h30m10s, etc.");
    s_check_swarm_error(f, "user_count=5&spawn_rate=1&host=ftp://x",
                        "host: expected a URL starting with http:// or "
                        "https://");
    // A good form, but nobody to run it.
    s_check_swarm_error(f, "user_count=5&spawn_rate=1&host=<http://a:2>",
                        "no worker is connected yet");
    s_check_swarm_error(f, "user_count=5&spawn_rate=1&run_time=&host=",
                        "no worker is connected yet");
    CHECK_STR(s_state(f), "ready");
    CHECK_EQ(f->sent, 0);
}

// The documents of an idle master.
static void s_test_documents(s_fixture_t *f)
{
    s_check(f, "GET", "/worker-count", NULL, 200, "{\"worker_count\": 0}");
    s_check(f, "GET", "/history", NULL, 200, "[]");
    json_t *doc = s_get_json(f, "/stats/requests");
    CHECK_STR(json_string_value(json_object_get(doc, "state")), "ready");
    CHECK_EQ(json_integer_value(json_object_get(doc, "user_count")), 0);
    CHECK_EQ(json_array_size(json_object_get(doc, "workers")), 0);
    json_decref(doc);
    doc = s_get_json(f, "/config");
    CHECK_STR(json_string_value(json_object_get(doc, "host")), S_HOST);
    CHECK_EQ(json_integer_value(json_object_get(doc, "users")), 1);
    CHECK(json_is_null(json_object_get(doc, "run_time")));
    CHECK(json_is_true(json_object_get(doc, "has_thresholds")));
    CHECK_STR(json_string_value(
                  json_array_get(json_object_get(doc, "user_classes"), 0)),
              "U");
    // What the UI tells a user with no worker.
    CHECK_STR(json_string_value(json_object_get(doc, "master_bind_host")), "*");
    CHECK_EQ(json_integer_value(json_object_get(doc, "master_port")), 5557);
    CHECK_EQ(json_integer_value(json_object_get(doc, "local_workers")), 0);
    json_decref(doc);
    // Locust's ratios before a test: no class runs (0), its tasks' shares
    // within it are known, their shares of all users are 0.
    doc = s_get_json(f, "/tasks");
    json_t *u = json_object_get(json_object_get(doc, "per_class"), "U");
    CHECK(json_real_value(json_object_get(u, "ratio")) == 0);
    json_t *task = json_object_get(json_object_get(u, "tasks"), "GET /");
    CHECK(json_real_value(json_object_get(task, "ratio")) == 1);
    u = json_object_get(json_object_get(doc, "total"), "U");
    task = json_object_get(json_object_get(u, "tasks"), "GET /");
    CHECK(json_real_value(json_object_get(task, "ratio")) == 0);
    json_decref(doc);
    // The checks' counts ride in /stats/requests next to the figures.
    CHECK(master_checks_add(&f->results.checks, "status is ok", 3, 1));
    doc = s_get_json(f, "/stats/requests");
    json_t *checks = json_object_get(json_object_get(doc, "apex"), "checks");
    CHECK_EQ(json_array_size(checks), 1);
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(checks, 0), "name")),
        "status is ok");
    CHECK_EQ(
        json_integer_value(json_object_get(json_array_get(checks, 0), "fails")),
        1);
    json_decref(doc);
    master_results_exception(&f->results, "boom", "tb", 1, S_WORKER);
    doc = s_get_json(f, "/exceptions");
    json_t *list = json_object_get(doc, "exceptions");
    CHECK_EQ(json_array_size(list), 1);
    json_decref(doc);
    doc = s_get_json(f, "/stats/report.json");
    CHECK(json_is_object(doc));
    json_decref(doc);

    s_request_t r;
    master_web_request_t *req = s_request(&r, "GET", "/metrics", NULL);
    master_routes_handle(&f->ctx, req);
    CHECK_EQ(req->status, 200);
    CHECK_STR(req->content_type, MASTER_METRICS_CONTENT_TYPE);
    CHECK(strstr(req->body,
                 "apex_runner_state{state=\"ready\",run_id=\"r1\"} 1"));
    CHECK(strstr(req->body, "apex_users{run_id=\"r1\"} 0\n"));
    CHECK(strstr(req->body, "# TYPE apex_iterations_created gauge\n"));
    s_request_fini(&r);
    req = s_request(&r, "GET", "/exceptions/csv", NULL);
    master_routes_handle(&f->ctx, req);
    CHECK_EQ(req->status, 200);
    CHECK_STR(req->content_type, "text/csv");
    CHECK(strstr(req->body, "boom"));
    CHECK(strncmp(req->disposition, "attachment;filename=exceptions_", 31) ==
          0);
    s_request_fini(&r);
    req = s_request(&r, "HEAD", "/stats/requests/csv", NULL);
    master_routes_handle(&f->ctx, req);
    CHECK_EQ(req->status, 200);
    CHECK(strncmp(req->disposition, "attachment;filename=requests_", 29) == 0);
    s_request_fini(&r);
    s_check(f, "GET", "/stats/requests_full_history/csv", NULL, 404,
            "Error: Server was not started with option to generate full "
            "history.");
    s_check(f, "GET", "/stats/reset", NULL, 200, "ok");
    doc = s_get_json(f, "/exceptions");
    CHECK_EQ(json_array_size(json_object_get(doc, "exceptions")), 0);
    json_decref(doc);
}

// One worker registers; a swarm starts the test, an edit changes it, a
// stop stops it.
static void s_test_start_stop(s_fixture_t *f)
{
    apex_buf_t b;
    apex_buf_init(&b);
    proto_encode_client_ready(&b, NULL, S_WORKER);
    apex_error_t err = {""};
    proto_msg_t *msg = proto_decode(b.data, b.len, &err);
    CHECK(msg != NULL);
    bool replaced = true;
    master_worker_t *w = master_registry_ready(f->registry, msg, 0, &replaced);
    CHECK(!replaced);
    CHECK_STR(w->id, S_WORKER);
    proto_msg_destroy(&msg);
    apex_buf_fini(&b);
    s_check(f, "GET", "/worker-count", NULL, 200, "{\"worker_count\": 1}");

    s_check(f, "POST", "/swarm", "user_count=3&spawn_rate=2&run_time=1m", 200,
            "{\"success\":true,\"message\":\"Swarming started\",\"host\":"
            "\"" S_HOST "\",\"run_time\":60.0}");
    CHECK_EQ(master_runner_state(f->runner), MASTER_RUN_SPAWNING);
    CHECK_STR(s_state(f), "spawning");
    CHECK_EQ(master_runner_params(f->runner)->users, 3);
    CHECK_EQ(f->sent, 0); // the first step waits for the loop

    s_check(f, "POST", "/swarm", "user_count=4&spawn_rate=1&host=<http://b:3>",
            200,
            "{\"success\":true,\"message\":\"Swarming started\",\"host\":"
            "\"http://b:3\"}");
    json_t *doc = s_get_json(f, "/config");
    CHECK_STR(json_string_value(json_object_get(doc, "host")), "http://b:3");
    CHECK_EQ(json_integer_value(json_object_get(doc, "users")), 4);
    CHECK_NEAR(json_real_value(json_object_get(doc, "run_time")), 60, 0);
    json_decref(doc);

    // The worker is idle (ready), so the stop completes at once.
    s_check(f, "GET", "/stop", NULL, 200,
            "{\"success\": true, \"message\": \"Test stopped\"}");
    CHECK_EQ(master_runner_state(f->runner), MASTER_RUN_STOPPED);
    CHECK_STR(s_state(f), "stopped");
    CHECK_EQ(f->sent, 1);
    CHECK_STR(f->last_type, "stop");
    s_check(f, "GET", "/stop", NULL, 200, NULL); // nothing to stop: no send
    CHECK_EQ(f->sent, 1);
}

// GET /tasks as Locust computes it: a class's ratio is its share of the
// running users, tasks that share a name add up, an unnamed task is
// called after its first request.
static void s_test_task_ratios(void)
{
    static const char text[] =
        "{\"users\": ["
        "{\"name\": \"A\", \"weight\": 3, \"tasks\": ["
        "{\"name\": \"same\", \"request\": {\"path\": \"/a\"}},"
        "{\"name\": \"same\", \"weight\": 2, \"request\": "
        "{\"path\": \"/b\"}},"
        "{\"path\": \"/c\", \"weight\": 5}]},"
        "{\"name\": \"B\", \"tasks\": [{\"path\": \"/d\"}]}]}";
    apex_error_t err = {""};
    apex_scenario_t *sc =
        apex_scenario_parse(text, strlen(text), "t.json", &err);
    CHECK(sc != NULL);
    int64_t running[] = {1, 3};
    char *body = master_api_tasks(sc, running);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc != NULL);
    json_t *a = json_object_get(json_object_get(doc, "per_class"), "A");
    CHECK(json_real_value(json_object_get(a, "ratio")) == 0.25);
    json_t *tasks = json_object_get(a, "tasks");
    CHECK_EQ(json_object_size(tasks), 2);
    CHECK(json_real_value(json_object_get(json_object_get(tasks, "same"),
                                          "ratio")) == 0.375);
    CHECK(json_real_value(json_object_get(json_object_get(tasks, "GET /c"),
                                          "ratio")) == 0.625);
    json_t *b = json_object_get(json_object_get(doc, "total"), "B");
    CHECK(json_real_value(json_object_get(b, "ratio")) == 0.75);
    CHECK(json_real_value(json_object_get(
              json_object_get(json_object_get(b, "tasks"), "GET /d"),
              "ratio")) == 0.75);
    json_decref(doc);
    free(body);
    apex_scenario_destroy(&sc);
}

void test_routes(bool verbose)
{
    // The runner logs what a master logs; -v shows it.
    apex_log_init("apex.test", verbose ? APEX_LOG_DEBUG : APEX_LOG_ERROR);
    s_test_find();
    s_test_task_ratios();
    s_fixture_t f;
    s_fixture_init(&f);
    s_test_errors(&f);
    s_test_swarm_form(&f);
    s_test_documents(&f);
    s_test_start_stop(&f);
    s_fixture_fini(&f);
}
