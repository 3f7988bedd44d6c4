// tests/unit/test_scenario_ws.c - the JSON form of a WebSocket step
// (common/scenario_ws.c): every operation with its members and defaults,
// stats names and types, which steps are samples, templates in URLs and
// messages, captures on a receive, and the message of each kind of bad
// step, with its JSON path.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#define S_T0 "apex.json: $.users[0].tasks[0]"

static const char s_flow[] =
    "{'users': [{'name': 'W', 'tasks': [{'sequence': ["
    " {'ws': 'connect', 'url': '${APEX_T_WS:-ws://127.0.0.1:8080}/ws/echo',"
    "  'headers': {'Authorization': 'Bearer ${APEX_T_TOKEN}'},"
    "  'subprotocols': ['chat', 'v2'], 'ping_interval': 15, 'timeout': 3},"
    " {'ws': 'send', 'json': {'id': '${uuid()}', 'n': 1}},"
    " {'ws': 'receive', 'match': {'json': '$.type', 'equals': 'event'},"
    "  'capture': {'seq': '$.seq'}},"
    " {'ws': 'request', 'text': '{\\\"id\\\": \\\"${seq}\\\"}',"
    "  'correlate': '$.id',"
    "  'name': 'echo'},"
    " {'ws': 'listen', 'duration': 2.5, 'count': 10, 'timestamp': '$.ts'},"
    " {'ws': 'receive', 'match': {'regex': '^pong [0-9]+$'}},"
    " {'ws': 'receive'},"
    " {'ws': 'ping'},"
    " {'ws': 'send', 'binary': 'raw'},"
    " {'ws': 'close', 'code': 4000, 'reason': 'bye'},"
    " {'ws': 'close'}]}]}]}";

static void s_test_flow(void)
{
    setenv("APEX_T_TOKEN", "secret", 1);
    unsetenv("APEX_T_WS");
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_flow, &err);
    if (!sc)
        printf("  %s\n", err.msg);
    CHECK(sc);
    if (!sc)
        return;
    const apex_step_t *s = sc->users[0].tasks[0].steps;
    CHECK_EQ(sc->users[0].tasks[0].nsteps, 11);
    for (size_t i = 0; i < 11; i++) {
        CHECK_EQ(s[i].kind, APEX_STEP_WS);
        CHECK_STR(s[i].type, "WS");
        CHECK(s[i].http == NULL && s[i].ws != NULL);
    }
    // connect: the URL's environment folded in, headers, subprotocols.
    CHECK_EQ(s[0].ws->op, APEX_WS_CONNECT);
    CHECK_STR(apex_template_constant(s[0].ws->url),
              "ws://127.0.0.1:8080/ws/echo");
    CHECK_STR(s[0].name, "connect /ws/echo");
    CHECK_EQ(s[0].ws->nheaders, 1);
    CHECK_STR(apex_template_constant(s[0].ws->headers[0].value),
              "Bearer secret");
    CHECK_STR(s[0].ws->protocols, "chat, v2");
    CHECK_NEAR(s[0].ws->ping_interval, 15, 0);
    CHECK_NEAR(s[0].timeout, 3, 0);
    CHECK(s[0].timed);
    // send: a JSON message in JSON mode, not a sample.
    CHECK_EQ(s[1].ws->op, APEX_WS_SEND);
    CHECK(!s[1].ws->binary && !s[1].timed);
    CHECK_STR(s[1].name, "send");
    uint64_t rng = CHECK_SEED;
    char *text = check_expand(s[1].ws->message, NULL, &rng);
    CHECK(strncmp(text, "{\"id\":\"", 7) == 0 && strstr(text, "\"n\":1}"));
    free(text);
    // receive with a JSON match and a capture.
    CHECK_EQ(s[2].ws->op, APEX_WS_RECEIVE);
    CHECK_EQ(s[2].ws->match.kind, APEX_WS_MATCH_JSON);
    CHECK_STR(s[2].ws->match.text, "event");
    CHECK_EQ(s[2].ncaptures, 1);
    CHECK(s[2].needs_body && s[2].timed);
    // request: the captured variable in its text, the correlation path.
    CHECK_EQ(s[3].ws->op, APEX_WS_REQUEST);
    CHECK_STR(s[3].name, "echo");
    CHECK(s[3].name_given);
    CHECK_EQ(s[3].ws->correlate.nsteps, 1);
    CHECK_STR(apex_template_display(s[3].ws->message), "{\"id\": \"{seq}\"}");
    // listen, the two other matches, ping, binary, close and its default.
    CHECK_EQ(s[4].ws->op, APEX_WS_LISTEN);
    CHECK_NEAR(s[4].ws->duration, 2.5, 0);
    CHECK_EQ(s[4].ws->count, 10);
    CHECK(s[4].ws->has_timestamp);
    CHECK_EQ(s[5].ws->match.kind, APEX_WS_MATCH_REGEX);
    CHECK_EQ(s[6].ws->match.kind, APEX_WS_MATCH_ANY);
    CHECK_EQ(s[7].ws->op, APEX_WS_PING);
    CHECK_STR(s[7].name, "ping");
    CHECK(s[8].ws->binary);
    CHECK_EQ(s[9].ws->code, 4000);
    CHECK_STR(s[9].ws->reason, "bye");
    CHECK(!s[9].timed);
    CHECK_EQ(s[10].ws->code, 1000);
    CHECK(s[10].ws->reason == NULL);
    apex_scenario_destroy(&sc);
    unsetenv("APEX_T_TOKEN");
}

static void s_test_errors(bool verbose)
{
    check_task_error(verbose, "{'ws': 'dance'}",
                     S_T0 ".ws: expected one of "
                          "connect, send, receive",
                     NULL);
    check_task_error(verbose, "{'ws': 'connect'}", S_T0 ".url: missing", NULL);
    check_task_error(verbose, "{'ws': 'connect', 'url': 'http://x/'}",
                     S_T0 ".url: expected a ws:// or wss:// URL", NULL);
    check_task_error(verbose,
                     "{'ws': 'connect', 'url': 'ws://x/', 'text': 'a'}",
                     S_T0 ".text: does not apply to a ws connect step", NULL);
    check_task_error(verbose, "{'ws': 'send'}", S_T0 ".text: missing", NULL);
    check_task_error(verbose, "{'ws': 'send', 'text': 'a', 'json': 1}", S_T0,
                     "not several");
    check_task_error(verbose, "{'ws': 'send', 'text': 3}",
                     S_T0 ".text: expected a string", NULL);
    check_task_error(verbose, "{'ws': 'request', 'text': 'a'}",
                     S_T0 ".correlate: missing", NULL);
    check_task_error(verbose,
                     "{'ws': 'request', 'text': 'a', 'correlate': 'id'}",
                     S_T0 ".correlate: bad JSON path", NULL);
    check_task_error(verbose, "{'ws': 'receive', 'match': {'regex': '('}}",
                     S_T0 ".match.regex: bad regex \"(\"", NULL);
    check_task_error(verbose,
                     "{'ws': 'receive', 'match': {'regex': "
                     "'(a{999}){999}'}}",
                     S_T0 ".match.regex: regex", "expand it to more than");
    check_task_error(verbose,
                     "{'ws': 'receive', 'match': {'text': 'a', 'regex': 'b'}}",
                     S_T0 ".match: expected exactly one of", NULL);
    check_task_error(verbose, "{'ws': 'receive', 'match': {'equals': 1}}",
                     S_T0 ".match: expected exactly one of", NULL);
    check_task_error(verbose, "{'ws': 'listen'}", S_T0, "needs \"duration\"");
    check_task_error(verbose, "{'ws': 'listen', 'count': 0}",
                     S_T0 ".count: expected an integer", NULL);
    check_task_error(verbose, "{'ws': 'close', 'code': 999}",
                     S_T0 ".code: expected an integer from 1000 to 4999", NULL);
    check_task_error(verbose,
                     "{'ws': 'connect', 'url': 'ws://x/', "
                     "'subprotocols': ['a b']}",
                     S_T0 ".subprotocols[0]: expected a subprotocol name",
                     NULL);
    check_task_error(verbose, "{'ws': 'ping', 'bogus': 1}",
                     S_T0 ".bogus: unknown key", NULL);
}

void test_scenario_ws(bool verbose)
{
    s_test_flow();
    s_test_errors(verbose);
}
