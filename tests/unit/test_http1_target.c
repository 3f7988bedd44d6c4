// tests/unit/test_http1_target.c - the plain HTTP/1.1 engine's URL split
// and proxy rule (worker/http1_target.c) and its request bytes
// (worker/http1_request.c): what libcurl would refuse is refused with
// the same kind, the Host header and request target are those libcurl
// sends, and NO_PROXY is read as libcurl reads it.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "tests/unit/scenario_check.h"
#include "worker/http1_request.h"
#include "worker/http1_target.h"

static void s_test_parse(void)
{
    worker_http1_target_t t;
    CHECK_EQ(worker_http1_target_parse("http://127.0.0.1:8080/a?b=1#f", &t),
             WORKER_HTTP1_URL_OK);
    CHECK_STR(t.host, "127.0.0.1");
    CHECK_EQ(t.port, 8080);
    CHECK_EQ(t.target_len, 6);
    CHECK(strncmp(t.target, "/a?b=1", 6) == 0);
    CHECK_EQ(t.authority_len, 14);
    CHECK_EQ(worker_http1_target_parse("HTTP://Example.com", &t),
             WORKER_HTTP1_URL_OK);
    CHECK_EQ(t.port, 80);
    CHECK_EQ(t.target_len, 0);
    CHECK_EQ(worker_http1_target_parse("http://[::1]:81/x", &t),
             WORKER_HTTP1_URL_OK);
    CHECK_STR(t.host, "::1");
    CHECK(t.ipv6);
    CHECK_EQ(t.port, 81);
    CHECK_EQ(worker_http1_target_parse("https://h/", &t),
             WORKER_HTTP1_URL_HTTPS);
    CHECK_EQ(worker_http1_target_parse("ftp://h/", &t),
             WORKER_HTTP1_URL_SCHEME);
    CHECK_EQ(worker_http1_target_parse("/etc/hostname", &t),
             WORKER_HTTP1_URL_SCHEME);
    CHECK_EQ(worker_http1_target_parse("http://u:p@h/", &t),
             WORKER_HTTP1_URL_SCHEME); // credentials: libcurl's
    const char *bad[] = {"http://h:99999/", "http://h:8x/", "http://h /",
                         "http:///x",       "http://[::1/", "http://a\tb/",
                         "ht tp://h/",      "http://h:1:2/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(worker_http1_target_parse(bad[i], &t), WORKER_HTTP1_URL_BAD);
}

static void s_test_proxy(void)
{
    worker_http1_env_t env = {NULL, NULL};
    CHECK(!worker_http1_env_proxy(&env, "h"));
    env.proxy = "http://p:3128";
    CHECK(worker_http1_env_proxy(&env, "h"));
    env.no_proxy = "localhost, .example.com,10.0.0.1";
    CHECK(!worker_http1_env_proxy(&env, "localhost"));
    CHECK(!worker_http1_env_proxy(&env, "api.example.com"));
    CHECK(!worker_http1_env_proxy(&env, "example.com"));
    CHECK(!worker_http1_env_proxy(&env, "10.0.0.1"));
    CHECK(worker_http1_env_proxy(&env, "badexample.com"));
    CHECK(worker_http1_env_proxy(&env, "10.0.0.10"));
    env.no_proxy = "*";
    CHECK(!worker_http1_env_proxy(&env, "anything"));
    setenv("http_proxy", "http://p:1", 1);
    setenv("NO_PROXY", "h", 1);
    unsetenv("no_proxy");
    worker_http1_env_read(&env);
    CHECK_STR(env.proxy, "http://p:1");
    CHECK_STR(env.no_proxy, "h");
    unsetenv("http_proxy");
    unsetenv("NO_PROXY");
}

static void s_test_request(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'U', 'tasks': [{'path': '/p', 'method': "
        "'post', 'body': 'a=1', 'headers': {'X-A': 'b'}, 'http': {'auth': "
        "['u', 'pw']}}]}]}",
        &err);
    CHECK(sc);
    const apex_step_t *step = &sc->users[0].tasks[0].steps[0];
    worker_http1_plan_t plan;
    worker_http1_plan_init(&plan, step, "http://127.0.0.1:8080");
    CHECK(plan.constant);
    const char *want = "POST /p HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                       "Authorization: Basic dTpwdw==\r\nAccept: */*\r\n"
                       "X-A: b\r\nUser-Agent: apex-worker/";
    CHECK(strncmp(plan.request.data, want, strlen(want)) == 0);
    const char *tail = "\r\nContent-Length: 3\r\nContent-Type: "
                       "application/x-www-form-urlencoded\r\n\r\na=1";
    CHECK(plan.request.len > strlen(tail) &&
          strcmp(plan.request.data + plan.request.len - strlen(tail), tail) ==
              0);
    // A redirect's GET: no body, no Content-Length; a cookie.
    apex_buf_t out, scratch;
    apex_buf_init(&out);
    apex_buf_init(&scratch);
    worker_http1_request(&plan, "GET", &plan.target, NULL, "s=1", &out,
                         &scratch);
    CHECK(strncmp(out.data, "GET /p HTTP/1.1\r\n", 17) == 0);
    CHECK(strstr(out.data, "\r\nCookie: s=1\r\n\r\n"));
    CHECK(!strstr(out.data, "Content-Length"));
    // Another base: rebuilt.
    worker_http1_plan_set_base(&plan, "https://h");
    CHECK(!plan.constant);
    CHECK_EQ(plan.url_kind, WORKER_HTTP1_URL_HTTPS);
    apex_buf_fini(&out);
    apex_buf_fini(&scratch);
    worker_http1_plan_fini(&plan);
    apex_scenario_destroy(&sc);
}

void test_http1_target(bool verbose)
{
    (void)verbose;
    s_test_parse();
    s_test_proxy();
    s_test_request();
}
