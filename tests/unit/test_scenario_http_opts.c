// tests/unit/test_scenario_http_opts.c - the HTTP engine and the TLS and
// HTTP options (common/scenario_http_opts.c): the document's, a class's
// and a step's merged with the most specific winning, engine names, the
// message of every kind of bad option, and a master's command-line
// options put into the document's (apex_scenario_with_http()).
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

static const char s_doc[] =
    "{'engine': 'curl', 'http': {'insecure': true, 'ca_bundle': 'ca.pem',"
    " 'proxy': '', 'connect_timeout': 2},"
    " 'users': ["
    "  {'name': 'A', 'engine': 'http1',"
    "   'http': {'insecure': false, 'auth': ['u', 'p:w'],"
    "            'http2': 'prior_knowledge'},"
    "   'tasks': [{'path': '/a', 'http': {'compression': true,"
    "              'client_cert': 'c.pem', 'client_key': 'k.pem',"
    "              'http2': false}},"
    "             {'path': '/b'}]},"
    "  {'name': 'B', 'tasks': [{'path': '/c'}]}]}";

static void s_test_merge(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_doc, &err);
    CHECK(sc);
    if (!sc) {
        printf("%s\n", err.msg);
        return;
    }
    const apex_user_class_t *a = apex_scenario_find_user(sc, "A");
    const apex_user_class_t *b = apex_scenario_find_user(sc, "B");
    const apex_http_step_t *a0 = a->tasks[0].steps[0].http;
    const apex_http_step_t *a1 = a->tasks[1].steps[0].http;
    const apex_http_step_t *b0 = b->tasks[0].steps[0].http;
    // The step's own over the class's over the document's.
    CHECK_EQ(a0->engine, APEX_ENGINE_HTTP1);
    CHECK_EQ(a0->opts.insecure, 0);
    CHECK_EQ(a0->opts.compression, 1);
    CHECK_EQ(a0->opts.http2, APEX_HTTP2_OFF);
    CHECK_STR(a0->opts.client_cert, "c.pem");
    CHECK_STR(a0->opts.client_key, "k.pem");
    CHECK_STR(a0->opts.ca_bundle, "ca.pem");
    CHECK_STR(a0->opts.auth, "u:p:w");
    CHECK_STR(a0->opts.proxy, "");
    CHECK_NEAR(a0->opts.connect_timeout, 2, 0);
    CHECK_EQ(a1->opts.http2, APEX_HTTP2_PRIOR);
    CHECK_EQ(a1->opts.compression, -1);
    CHECK(a1->opts.client_cert == NULL);
    // Class B says nothing: the document's.
    CHECK_EQ(b0->engine, APEX_ENGINE_CURL);
    CHECK_EQ(b0->opts.insecure, 1);
    CHECK(b0->opts.auth == NULL);
    CHECK_EQ(b0->opts.http2, APEX_HTTP2_UNSET);
    apex_scenario_destroy(&sc);

    // Nothing said anywhere: all unset.
    sc = check_scenario_parse("{'users': [{'name': 'A', 'tasks': "
                              "[{'path': '/'}]}]}",
                              &err);
    CHECK(sc);
    const apex_http_step_t *h = sc->users[0].tasks[0].steps[0].http;
    CHECK_EQ(h->engine, APEX_ENGINE_UNSET);
    CHECK_EQ(h->opts.insecure, -1);
    CHECK(h->opts.proxy == NULL);
    apex_scenario_destroy(&sc);
}

static void s_test_names(void)
{
    apex_http_engine_t e = APEX_ENGINE_UNSET;
    CHECK_EQ(apex_http_engine_parse("http1", &e), 0);
    CHECK_EQ(e, APEX_ENGINE_HTTP1);
    CHECK_EQ(apex_http_engine_parse("curl", &e), 0);
    CHECK_EQ(e, APEX_ENGINE_CURL);
    CHECK_EQ(apex_http_engine_parse("auto", &e), 0);
    CHECK_EQ(e, APEX_ENGINE_AUTO);
    CHECK_EQ(apex_http_engine_parse("HTTP1", &e), -1);
    CHECK_EQ(apex_http_engine_parse("", &e), -1);
    CHECK_STR(apex_http_engine_name(APEX_ENGINE_HTTP1), "http1");
    CHECK_STR(apex_http_engine_name(APEX_ENGINE_CURL), "curl");
    CHECK_STR(apex_http_engine_name(APEX_ENGINE_UNSET), "auto");
}

static void s_test_errors(bool verbose)
{
    check_scenario_error(verbose, "{'engine': 'fast', 'users': []}",
                         "apex.json: $.engine: expected one of \"auto\", "
                         "\"curl\", \"http1\", got \"fast\"",
                         NULL);
    check_scenario_error(verbose, "{'http': [], 'users': []}",
                         "apex.json: $.http: expected an object", NULL);
    check_scenario_error(verbose, "{'http': {'insecur': true}, 'users': []}",
                         "apex.json: $.http.insecur: unknown key", "insecure");
    check_user_error(verbose,
                     "'name': 'U', 'engine': 1, 'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].engine: expected one of", NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'insecure': 1}}",
                     "apex.json: $.users[0].tasks[0].http.insecure: expected "
                     "true or false, got 1",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'http2': 'yes'}}",
                     "apex.json: $.users[0].tasks[0].http.http2: expected "
                     "true, false or \"prior_knowledge\"",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'auth': ['u']}}",
                     "apex.json: $.users[0].tasks[0].http.auth: expected",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'auth': ['a:b', 'c']}}",
                     "apex.json: $.users[0].tasks[0].http.auth[0]: expected "
                     "a user name without ':'",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'connect_timeout': 0}}",
                     "apex.json: $.users[0].tasks[0].http.connect_timeout: "
                     "expected a number of seconds > 0",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'http': {'proxy': 5}}",
                     "apex.json: $.users[0].tasks[0].http.proxy: expected a "
                     "string",
                     NULL);
    check_task_error(verbose,
                     "{'path': '/', 'http': {'ca_bundle': '${uuid()}'}}",
                     "apex.json: $.users[0].tasks[0].http.ca_bundle: "
                     "expected a string with environment placeholders only",
                     NULL);
}

// --insecure, --ca-bundle, ... replace the document's options; a class's
// and a step's own still win.
static void s_test_command_line(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_doc, &err);
    CHECK(sc);
    if (!sc)
        return;
    apex_http_options_t cli = {.insecure = 0,
                               .compression = -1,
                               .http2 = APEX_HTTP2_ON,
                               .ca_bundle = "cli.pem",
                               .proxy = "http://127.0.0.1:3128",
                               .auth = "me:pa:ss",
                               .connect_timeout = 0.5};
    apex_scenario_t *out = apex_scenario_with_http(sc, &cli, &err);
    CHECK(out);
    if (out) {
        const apex_http_step_t *a0 =
            apex_scenario_find_user(out, "A")->tasks[0].steps[0].http;
        const apex_http_step_t *b0 =
            apex_scenario_find_user(out, "B")->tasks[0].steps[0].http;
        CHECK_EQ(b0->opts.insecure, 0); // the document said true
        CHECK_EQ(b0->opts.http2, APEX_HTTP2_ON);
        CHECK_STR(b0->opts.ca_bundle, "cli.pem");
        CHECK_STR(b0->opts.proxy, "http://127.0.0.1:3128");
        CHECK_STR(b0->opts.auth, "me:pa:ss");
        CHECK_NEAR(b0->opts.connect_timeout, 0.5, 0);
        CHECK_EQ(b0->opts.compression, -1);
        CHECK_EQ(a0->opts.http2, APEX_HTTP2_OFF); // the step's own
        CHECK_STR(a0->opts.auth, "u:p:w");        // the class's own
        CHECK_STR(a0->opts.ca_bundle, "cli.pem");
        apex_scenario_destroy(&out);
    }
    // Taken as they are: a placeholder is refused, not looked up.
    apex_http_options_t bad = {
        .insecure = -1, .compression = -1, .client_cert = "${HOME}/c.pem"};
    CHECK(apex_scenario_with_http(sc, &bad, &err) == NULL);
    CHECK(strstr(err.msg, "client_cert from the command line: no ${...}"));
    apex_scenario_destroy(&sc);
}

void test_scenario_http_opts(bool verbose)
{
    s_test_merge();
    s_test_command_line();
    s_test_names();
    s_test_errors(verbose);
}
