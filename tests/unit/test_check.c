// tests/unit/test_check.c - checks (common/check.c): every kind compiled
// from a step's "check" object, evaluated on responses that pass and fail
// them, soft ones, shared names, and the errors of bad checks with their
// JSON paths.
#include "tests/unit/tests.h"

#include "common/scenario.h"
#include "tests/unit/scenario_check.h"

static void s_test_apply(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'U', 'tasks': ["
        " {'path': '/a', 'check': {"
        "   'status is done': '$.status == \\'done\\'',"
        "   'has items': {'json': '$.items.length() > 0'},"
        "   'says ok': {'regex': 'o[k]'},"
        "   'has etag': {'header': 'ETag'},"
        "   'fast': {'json': '$.cached == true', 'soft': true}}},"
        " {'path': '/b', 'check': {'status is done': '$.status'}}]}]}",
        &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    CHECK_EQ(sc->ncheck_names, 5); // the same name twice is one
    CHECK_STR(sc->check_names[0], "status is done");
    const apex_step_t *a = &sc->users[0].tasks[0].steps[0];
    const apex_step_t *b = &sc->users[0].tasks[1].steps[0];
    CHECK_EQ(a->nchecks, 5);
    CHECK(a->needs_body && a->needs_headers);
    CHECK_EQ(b->checks[0].slot, 0);
    CHECK(a->checks[4].soft);
    bool passed[APEX_CHECK_MAX_PER_STEP];
    const char ok[] = "{\"status\": \"done\", \"items\": [1], \"ok\": 1}";
    const char hdrs[] = "HTTP/1.1 200 OK\r\netag: \"x\"\r\n";
    // All but the soft one pass: no hard failure.
    CHECK_EQ(
        apex_checks_apply(a, hdrs, sizeof hdrs - 1, ok, sizeof ok - 1, passed),
        -1);
    CHECK(passed[0] && passed[1] && passed[2] && passed[3] && !passed[4]);
    const char bad[] = "{\"status\": \"pending\", \"items\": []}";
    CHECK_EQ(apex_checks_apply(a, NULL, 0, bad, sizeof bad - 1, passed), 0);
    CHECK(!passed[0] && !passed[1] && !passed[2] && !passed[3]);
    CHECK_EQ(apex_checks_apply(a, NULL, 0, "not json", 8, passed), 0);
    CHECK_EQ(apex_checks_apply(a, NULL, 0, NULL, 0, passed), 0);
    apex_scenario_destroy(&sc);
}

static void s_test_errors(bool verbose)
{
    check_task_error(verbose, "{'path': '/', 'check': []}",
                     "apex.json: $.users[0].tasks[0].check: expected a "
                     "non-empty object of check names and conditions",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'check': {'x': '$.a =='}}",
                     "apex.json: $.users[0].tasks[0].check.x: bad condition "
                     "\"$.a ==\": expected a path",
                     NULL);
    check_task_error(verbose,
                     "{'path': '/', 'check': {'x': {'json': '$.a', "
                     "'regex': 'b'}}}",
                     "apex.json: $.users[0].tasks[0].check.x: expected "
                     "exactly one of: json, regex, header",
                     NULL);
    check_task_error(verbose,
                     "{'path': '/', 'check': {'x': {'json': '$.a', "
                     "'soft': 1}}}",
                     "apex.json: $.users[0].tasks[0].check.x.soft: expected "
                     "true or false",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'check': {'x': {'regex': '(a'}}}",
                     "apex.json: $.users[0].tasks[0].check.x.regex: bad regex",
                     NULL);
    check_task_error(verbose,
                     "{'path': '/', 'check': {'x': {'header': 'a b'}}}",
                     "apex.json: $.users[0].tasks[0].check.x.header: expected "
                     "a header name",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'check': {'x': {'jsn': '$'}}}",
                     "apex.json: $.users[0].tasks[0].check.x.jsn: unknown key",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'check': {'x': 3}}",
                     "apex.json: $.users[0].tasks[0].check.x: expected a "
                     "condition",
                     NULL);
}

// Checks compiled outside a scenario (a scripted request's check=): the
// same forms and messages, "request" for the origin.
static void s_test_compile(void)
{
    apex_step_t step;
    memset(&step, 0, sizeof step);
    apex_error_t err = {""};
    json_t *obj = json_loads("{\"ok\": \"$.status == 'ok'\", "
                             "\"etag\": {\"header\": \"ETag\", "
                             "\"soft\": true}}",
                             0, NULL);
    CHECK_EQ(apex_checks_compile(&step, obj, &err), 0);
    CHECK_EQ(step.nchecks, 2);
    CHECK(step.needs_body && step.needs_headers);
    bool passed[2];
    const char *body = "{\"status\": \"ok\"}";
    CHECK_EQ(apex_checks_apply(&step, "", 0, body, strlen(body), passed), -1);
    CHECK(passed[0] && !passed[1]);
    for (size_t i = 0; i < step.nchecks; i++)
        apex_check_fini(&step.checks[i]);
    free(step.checks);
    json_decref(obj);
    memset(&step, 0, sizeof step);
    obj = json_loads("{\"bad\": \"$.a ==\"}", 0, NULL);
    CHECK_EQ(apex_checks_compile(&step, obj, &err), -1);
    CHECK(strncmp(err.msg, "request: $.check.bad: ", 22) == 0);
    for (size_t i = 0; i < step.nchecks; i++)
        apex_check_fini(&step.checks[i]);
    free(step.checks);
    json_decref(obj);
}

void test_check(bool verbose)
{
    s_test_compile();
    s_test_apply();
    s_test_errors(verbose);
}
