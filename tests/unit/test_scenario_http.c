// tests/unit/test_scenario_http.c - the JSON form of an HTTP step
// (common/scenario_http.c): methods, paths, stats names, query
// parameters, headers merged with the document's, "json" and "body",
// "expect", the templates of a parsed request expanded as a worker does,
// and the message of every kind of bad request or "headers" object.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define S_T0 "apex.json: $.users[0].tasks[0]"
#define S_TASK_MAX 256 // a task built for one check

// The full document and its class ApexUser.
static apex_scenario_t *s_parse_full(const apex_user_class_t **u)
{
    apex_scenario_t *sc = check_full_parse();
    *u = apex_scenario_find_user(sc, "ApexUser");
    CHECK(*u);
    return sc;
}

static void s_test_login_and_health(void)
{
    const apex_user_class_t *u;
    apex_scenario_t *sc = s_parse_full(&u);
    // on_start: method upper-cased, JSON body with environment folded in
    // (so it is constant), Content-Type added, scenario headers merged.
    CHECK_EQ(u->non_start, 1);
    const apex_step_t *login = &u->on_start[0];
    CHECK_EQ(login->kind, APEX_STEP_HTTP);
    CHECK_STR(login->http->method, "POST");
    CHECK_STR(login->type, "POST"); // the stats entry's method column
    CHECK_STR(login->name, "/login");
    CHECK_STR(apex_template_constant(login->http->body),
              "{\"user\":\"admin\",\"n\":1}");
    CHECK_STR(
        apex_template_constant(check_header(login, "content-type")->value),
        "application/json");
    CHECK_STR(
        apex_template_constant(check_header(login, "Authorization")->value),
        "Bearer secret");
    CHECK_STR(apex_template_constant(check_header(login, "X-Env")->value),
              "none");
    CHECK_EQ(login->ncaptures, 1);
    CHECK_EQ(login->captures[0].slot, check_slot(sc, "token"));
    CHECK(login->needs_body && !login->needs_headers);
    CHECK_NEAR(login->timeout, 60, 0);
    CHECK_EQ(login->http->nexpect, 0);

    const apex_step_t *health = &u->tasks[0].steps[0];
    CHECK_EQ(u->tasks[0].nsteps, 1);
    CHECK_STR(health->http->method, "GET");
    CHECK_EQ(health->http->nexpect, 1);
    CHECK_EQ(health->http->expect[0], 200);
    CHECK_NEAR(health->timeout, 5, 0);
    CHECK(health->http->body == NULL);
    CHECK(!health->needs_body && !health->needs_headers);
    CHECK_EQ(health->http->nheaders, 3);
    apex_scenario_destroy(&sc);
}

static void s_test_sequence(void)
{
    const apex_user_class_t *u;
    apex_scenario_t *sc = s_parse_full(&u);
    // The sequence: step headers override the scenario's in any case.
    CHECK_EQ(u->tasks[1].nsteps, 2);
    const apex_step_t *create = &u->tasks[1].steps[0];
    CHECK_EQ(create->http->nheaders, 4); // X-Env, accept, Authorization, C-T
    CHECK_STR(apex_template_constant(check_header(create, "Accept")->value),
              "text/plain");
    CHECK_STR(check_header(create, "Accept")->name, "accept");
    CHECK(apex_template_constant(
              check_header(create, "Authorization")->value) == NULL);
    CHECK_STR(
        apex_template_display(check_header(create, "Authorization")->value),
        "Bearer {token}");
    CHECK(check_header(create, "Content-Type"));
    CHECK_EQ(create->http->nexpect, 2);
    CHECK_EQ(create->http->expect[0], 200);
    CHECK_EQ(create->http->expect[1], 201);
    CHECK(create->needs_body && create->needs_headers);

    const apex_step_t *get = &u->tasks[1].steps[1];
    CHECK_STR(get->http->method, "GET");
    CHECK_STR(get->name, "/api/v1/tasks/{task_id}");
    CHECK_EQ(get->http->nquery, 3);
    CHECK_STR(get->http->query[0].name, "limit");
    CHECK_STR(apex_template_constant(get->http->query[0].value), "20");
    CHECK_STR(apex_template_display(get->http->query[1].value), "{n}");
    CHECK_STR(apex_template_constant(get->http->query[2].value), "0.5");
    CHECK_EQ(get->ncaptures, 0);
    apex_scenario_destroy(&sc);
}

static void s_test_shorthand_and_bodies(void)
{
    const apex_user_class_t *u;
    apex_scenario_t *sc = s_parse_full(&u);
    // Shorthand task: "task" names it, "name" is the stats name.
    const apex_step_t *dags = &u->tasks[2].steps[0];
    CHECK_STR(dags->name, "dags");
    CHECK_STR(apex_template_constant(dags->http->path),
              "http://10.0.0.5:8080/api/v1/dags");

    // A raw body with its own Content-Type: no JSON type added.
    const apex_step_t *del = &u->tasks[3].steps[0];
    CHECK_STR(del->http->method, "DELETE");
    CHECK_STR(del->name, "/api/v1/dags/{dag_id}/x");
    CHECK_EQ(del->http->nheaders, 4);
    CHECK_STR(apex_template_constant(check_header(del, "content-type")->value),
              "text/plain");
    CHECK_STR(apex_template_display(del->http->body), "raw {dag_id}");

    const apex_step_t *opt = &sc->users[1].tasks[0].steps[0];
    CHECK_STR(opt->http->method, "OPTIONS");
    CHECK_STR(opt->name, "https://example.com/x");
    apex_scenario_destroy(&sc);
}

// The model's templates expanded as a worker does.
static void s_test_expansion(void)
{
    const apex_user_class_t *u;
    apex_scenario_t *sc = s_parse_full(&u);
    const apex_step_t *create = &u->tasks[1].steps[0];
    const apex_step_t *get = &u->tasks[1].steps[1];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = CHECK_SEED;
    CHECK_EXPAND(get->http->path, vars, &rng, "/api/v1/tasks/");
    vars[check_slot(sc, "task_id")] = "42";
    CHECK_EXPAND(get->http->path, vars, &rng, "/api/v1/tasks/42");
    vars[check_slot(sc, "token")] = "tok";
    CHECK_EXPAND(check_header(create, "Authorization")->value, vars, &rng,
                 "Bearer tok");

    // JSON mode: a default, a uuid, and a value needing escapes.
    char *body = check_expand(create->http->body, vars, &rng);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "title")), "untitled");
    CHECK(check_is_uuid4(json_string_value(json_object_get(doc, "id"))));
    json_decref(doc);
    free(body);
    vars[check_slot(sc, "title")] = "a \"quoted\" \\path\\\n";
    body = check_expand(create->http->body, vars, &rng);
    doc = json_loads(body, 0, NULL);
    CHECK(doc);
    CHECK_STR(json_string_value(json_object_get(doc, "title")),
              "a \"quoted\" \\path\\\n");
    json_decref(doc);
    free(body);
    apex_scenario_destroy(&sc);
}

static void s_test_request_errors(bool verbose)
{
    const char *t0 = S_T0;
    char prefix[S_TASK_MAX];
#define AT(suffix) (snprintf(prefix, sizeof prefix, "%s%s", t0, suffix), prefix)
    check_task_error(verbose, "{'path': '/', 'method': 'FETCH'}",
                     AT(".method: expected one of GET, POST, PUT, PATCH, "
                        "DELETE, HEAD, OPTIONS, got \"FETCH\""),
                     NULL);
    check_task_error(verbose, "{'path': '/', 'method': 1}", AT(".method: "),
                     NULL);
    check_task_error(verbose, "{'path': 'api/x'}",
                     AT(".path: expected a path starting with \"/\" or an "
                        "absolute http:// or https:// URL, got \"api/x\""),
                     NULL);
    check_task_error(verbose, "{'path': 'ftp://x/'}", AT(".path: expected"),
                     NULL);
    check_task_error(verbose, "{'path': ''}", AT(".path: expected"), NULL);
    check_task_error(verbose, "{'path': 5}", AT(".path: expected"), NULL);
    check_task_error(verbose, "{'path': '/', 'name': ''}",
                     AT(".name: expected a non-empty string"), NULL);
    check_task_error(verbose, "{'path': '/', 'json': {}, 'body': 'x'}",
                     AT(": expected \"json\" or \"body\", not both"), NULL);
    check_task_error(verbose, "{'path': '/', 'body': {}}",
                     AT(".body: expected a string"), NULL);
    check_task_error(verbose, "{'path': '/', 'query': []}",
                     AT(".query: expected an object"), NULL);
    check_task_error(verbose, "{'path': '/', 'query': {'a': true}}",
                     AT(".query.a: expected a string or a number, got true"),
                     NULL);
    check_task_error(verbose, "{'path': '/', 'headers': []}",
                     AT(".headers: expected an object"), NULL);
    check_task_error(verbose, "{'path': '/', 'headers': {'X': null}}",
                     AT(".headers.X: expected a string, got null"), NULL);
    const char *expects[][2] = {
        {"99", ".expect: expected a status from 100 to 599"},
        {"600", ".expect: expected"},
        {"'x'", ".expect: expected a status from 100 to 599 or a non-empty "
                "list of them, got \"x\""},
        {"[]", ".expect: expected"},
        {"[200, 600]", ".expect[1]: expected a status from 100 to 599, got "
                       "600"},
        {"200.0", ".expect: expected"},
    };
    for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++) {
        char task[256];
        snprintf(task, sizeof task, "{'path': '/', 'expect': %s}",
                 expects[i][0]);
        check_task_error(verbose, task, AT(expects[i][1]), NULL);
    }
#undef AT
}

// The document's "headers" (the same parser as a request's).
static void s_test_header_errors(bool verbose)
{
    check_scenario_error(verbose, "{'headers': {'A': 1}, 'users': []}",
                         "apex.json: $.headers.A: expected a string, got 1",
                         NULL);
    check_scenario_error(
        verbose, "{'headers': {'A B': 'x'}, 'users': []}",
        "apex.json: $.headers[\"A B\"]: expected a header name", NULL);
    check_scenario_error(verbose,
                         "{'headers': {'A': 'x\\r\\ny: z'}, 'users': []}",
                         "apex.json: $.headers.A: ", "line breaks");
    check_scenario_error(verbose,
                         "{'headers': {'A': 'x', 'a': 'y'}, 'users': []}",
                         "apex.json: $.headers.a: duplicate header", NULL);
    check_scenario_error(verbose, "{'headers': {'A': '${x'}, 'users': []}",
                         "apex.json: $.headers.A: unterminated \"${\"", NULL);
}

void test_scenario_http(bool verbose)
{
    s_test_login_and_health();
    s_test_sequence();
    s_test_shorthand_and_bodies();
    s_test_expansion();
    s_test_request_errors(verbose);
    s_test_header_errors(verbose);
}
