// tests/unit/test_capture.c - captures (common/capture.c): the
// "capture" object of a step compiled (JSON paths, header names,
// regexes and their size limits), values taken from responses by
// apex_captures_apply() (JSON of every type, [*], headers in any case,
// regex groups), what happens when one is missing, hostile responses,
// and the message of every kind of bad capture.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define S_T0 "apex.json: $.users[0].tasks[0]"
#define S_TASK_MAX 256  // a task built for one check
#define S_ANY_DRAWS 100 // applications of a [*] capture

// One class "C" with four tasks: JSON captures of every kind (/j), a
// missing one next to a found one (/m), a header (/h), regexes (/r).
static apex_scenario_t *s_parse_captures(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'C', 'tasks': ["
        " {'path': '/j', 'capture': {'s': '$.s', 'i': '$.i', 'f': '$.f',"
        "  'g': '$.g', 't': '$.t', 'fa': '$.fa', 'o': '$.o',"
        "  'any': '$.arr[*].id', 'last': '$.arr[-1].id',"
        "  'first': '$[\\'arr\\'][0][\\\"id\\\"]', 'nul': '$.nul',"
        "  'root': '$', 'deep': '$.o.a[1]', 'cd': '$.o[\\\"c d\\\"]'}},"
        " {'path': '/m', 'capture': {'miss': '$.nope', 's2': '$.s'}},"
        " {'path': '/h', 'capture': {'loc': {'header': 'location'}}},"
        " {'path': '/r', 'capture': {'grp': {'regex': 'id=([0-9]+)'},"
        "  'word': {'regex': '[a-z]+'}}}]}]}",
        &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    CHECK(sc);
    return sc;
}

static void s_test_json(const apex_scenario_t *sc, char **vars, uint64_t *rng)
{
    apex_error_t err = {""};
    const apex_user_class_t *u = &sc->users[0];
    const char *body = "{\"s\": \"text\", \"i\": 42, \"f\": 2.5, \"g\": 0.1,"
                       " \"t\": true, \"fa\": false,"
                       " \"o\": {\"a\": [1, 2], \"c d\": \"x\"},"
                       " \"arr\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}],"
                       " \"nul\": null}";
    const apex_step_t *j = &u->tasks[0].steps[0];
    CHECK(j->needs_body && !j->needs_headers);
    CHECK_EQ(
        apex_captures_apply(j, NULL, 0, body, strlen(body), vars, rng, &err),
        0);
    static const char *const values[][2] = {
        {"s", "text"},
        {"i", "42"},
        {"f", "2.5"},
        {"g", "0.1"},
        {"t", "true"},
        {"fa", "false"},
        {"o", "{\"a\":[1,2],\"c d\":\"x\"}"},
        {"cd", "x"},
        {"last", "3"},
        {"first", "1"},
        {"nul", "null"},
        {"deep", "2"},
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        CHECK_STR(vars[check_slot(sc, values[i][0])], values[i][1]);
    CHECK(strncmp(vars[check_slot(sc, "root")], "{\"s\":\"text\"", 11) == 0);
    bool seen[4] = {false};
    for (int i = 0; i < S_ANY_DRAWS; i++) {
        CHECK_EQ(apex_captures_apply(j, NULL, 0, body, strlen(body), vars, rng,
                                     &err),
                 0);
        int id = atoi(vars[check_slot(sc, "any")]);
        CHECK(id >= 1 && id <= 3);
        seen[id] = true;
    }
    CHECK(seen[1] && seen[2] && seen[3]);
}

static void s_test_missing(const apex_scenario_t *sc, char **vars,
                           uint64_t *rng)
{
    apex_error_t err = {""};
    const apex_user_class_t *u = &sc->users[0];
    const char *body = "{\"s\": \"text\"}";
    // Missing key: an error naming the capture; the old value stays, the
    // other captures of the request are still applied.
    const apex_step_t *m = &u->tasks[1].steps[0];
    size_t miss = check_slot(sc, "miss");
    vars[miss] = strdup("old");
    free(vars[check_slot(sc, "s")]);
    vars[check_slot(sc, "s")] = NULL;
    CHECK_EQ(
        apex_captures_apply(m, NULL, 0, body, strlen(body), vars, rng, &err),
        -1);
    CHECK_STR(err.msg, "capture miss: $.nope: not found in response");
    CHECK_STR(vars[miss], "old");
    CHECK_STR(vars[check_slot(sc, "s2")], "text");
    CHECK_EQ(apex_captures_apply(m, NULL, 0, "<html>", 6, vars, rng, &err), -1);
    CHECK_STR(err.msg, "capture miss: $.nope: response body is not JSON");
    CHECK_EQ(apex_captures_apply(m, NULL, 0, NULL, 0, vars, rng, &err), -1);
    CHECK(strstr(err.msg, "not JSON"));
    CHECK_STR(vars[miss], "old");
}

static void s_test_headers(const apex_scenario_t *sc, char **vars,
                           uint64_t *rng)
{
    apex_error_t err = {""};
    const apex_user_class_t *u = &sc->users[0];
    // Headers: any case, trimmed, the last one wins.
    const apex_step_t *h = &u->tasks[2].steps[0];
    CHECK(h->needs_headers && !h->needs_body);
    const char *headers = "HTTP/1.1 201 Created\r\nLocation:  /a/1 \r\n"
                          "X-Other: y\r\nLOCATION:\t/a/2 \r\n\r\n";
    CHECK_EQ(apex_captures_apply(h, headers, strlen(headers), NULL, 0, vars,
                                 rng, &err),
             0);
    CHECK_STR(vars[check_slot(sc, "loc")], "/a/2");
    const char *lf = "HTTP/1.1 200 OK\nlocation: /lf";
    CHECK_EQ(apex_captures_apply(h, lf, strlen(lf), NULL, 0, vars, rng, &err),
             0);
    CHECK_STR(vars[check_slot(sc, "loc")], "/lf");
    const char *none = "HTTP/1.1 200 OK\r\nLocations: x\r\n\r\n";
    CHECK_EQ(
        apex_captures_apply(h, none, strlen(none), NULL, 0, vars, rng, &err),
        -1);
    CHECK_STR(err.msg, "capture loc: header location: not found in response");
    CHECK_EQ(apex_captures_apply(h, NULL, 0, NULL, 0, vars, rng, &err), -1);
    CHECK_STR(vars[check_slot(sc, "loc")], "/lf");
}

static void s_test_regex(const apex_scenario_t *sc, char **vars, uint64_t *rng)
{
    apex_error_t err = {""};
    const apex_user_class_t *u = &sc->users[0];
    // Regex: group 1 when there is one, else the whole match.
    const apex_step_t *r = &u->tasks[3].steps[0];
    const char *page = "<a href=\"/x?id=123\">";
    CHECK_EQ(
        apex_captures_apply(r, NULL, 0, page, strlen(page), vars, rng, &err),
        0);
    CHECK_STR(vars[check_slot(sc, "grp")], "123");
    CHECK_STR(vars[check_slot(sc, "word")], "a");
    CHECK_EQ(apex_captures_apply(r, NULL, 0, "NOTHING 1", 9, vars, rng, &err),
             -1);
    CHECK_STR(err.msg, "capture grp: regex id=([0-9]+): not found in response");
    CHECK_STR(vars[check_slot(sc, "grp")], "123");
}

static void s_test_apply(void)
{
    apex_scenario_t *sc = s_parse_captures();
    char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = CHECK_SEED;
    s_test_json(sc, vars, &rng);
    s_test_missing(sc, vars, &rng);
    s_test_headers(sc, vars, &rng);
    s_test_regex(sc, vars, &rng);
    check_free_vars(vars, sc->nvars);
    apex_scenario_destroy(&sc);
}

static void s_test_regex_total(bool verbose)
{
    // Regexes are limited in all too: each "x{9999}" is 9999 elements,
    // ten fit in a scenario's 100000 and the eleventh does not.
    apex_buf_t task;
    apex_buf_init(&task);
    apex_buf_puts(&task, "{'path': '/', 'capture': {");
    for (int i = 0; i < 11; i++)
        apex_buf_printf(&task, "%s'v%d': {'regex': 'x{9999}'}", i ? ", " : "",
                        i);
    apex_buf_puts(&task, "}}");
    check_task_error(verbose, apex_buf_str(&task),
                     S_T0 ".capture.v10.regex: regex \"x{9999}\": the "
                          "scenario's regexes expand to more than 100000 "
                          "elements in all",
                     NULL);
    apex_buf_fini(&task);
}

static void s_test_errors(bool verbose)
{
    const char *t0 = S_T0;
    char prefix[S_TASK_MAX];
#define AT(suffix) (snprintf(prefix, sizeof prefix, "%s%s", t0, suffix), prefix)
    struct {
        const char *capture, *suffix;
    } captures[] = {
        {"[]", ".capture: expected an object"},
        {"{'x': 5}", ".capture.x: expected a JSON path or an object with one "
                     "of: json, header, regex, column, got 5"},
        {"{'x': {'json': '$.a', 'header': 'h'}}",
         ".capture.x: expected exactly one of: json, header, regex"},
        {"{'x': {}}", ".capture.x: expected exactly one of"},
        {"{'x': {'jsn': '$.a'}}",
         ".capture.x.jsn: unknown key (expected one of: json, header, "
         "regex, column, row)"},
        {"{'1x': '$.a'}", ".capture[\"1x\"]: expected a variable name"},
        {"{'x': {'header': 'bad name'}}",
         ".capture.x.header: expected a header name"},
        {"{'x': {'header': ''}}", ".capture.x.header: expected a header"},
        {"{'x': {'json': 5}}", ".capture.x.json: expected a JSON path"},
        {"{'x': 'id'}", ".capture.x: bad JSON path \"id\": expected \"$\""},
        {"{'x': '$.'}", ".capture.x: bad JSON path \"$.\": expected a key"},
        {"{'x': '$a'}", ".capture.x: bad JSON path \"$a\""},
        {"{'x': '$['}", ".capture.x: bad JSON path"},
        {"{'x': '$[abc]'}", ".capture.x: bad JSON path"},
        {"{'x': '$[1'}",
         ".capture.x: bad JSON path \"$[1\": expected \"]\" at offset 3"},
        {"{'x': '$[-]'}", ".capture.x: bad JSON path"},
        {"{'x': '$[99999999999999999999]'}", ".capture.x: bad JSON path"},
        {"{'x': {'json': '$[\\'a\\''}}", ".capture.x.json: bad JSON path"},
        {"{'x': {'regex': '('}}", ".capture.x.regex: bad regex \"(\": "},
        {"{'x': {'regex': 'a{2,1}'}}", ".capture.x.regex: bad regex"},
        // What glibc's regcomp/regexec cannot afford (found by fuzzing).
        {"{'x': {'regex': '((a{255}){255}){255}'}}",
         ".capture.x.regex: regex \"((a{255}){255}){255}\": repetition "
         "counts expand it to more than 10000 elements"},
        {"{'x': {'regex': 'a{9999}b{9999}'}}",
         ".capture.x.regex: regex \"a{9999}b{9999}\": repetition counts "
         "expand it to more than 10000 elements"},
        {"{'x': {'regex': '(ab|c{5000}){2}'}}",
         ".capture.x.regex: regex \"(ab|c{5000}){2}\": repetition counts "
         "expand"},
        {"{'x': {'regex': 'a{1,}{1e999}'}}",
         ".capture.x.regex: regex \"a{1,}{1e999}\": repetition counts "
         "expand"},
        {"{'x': {'regex': '(a*)*\\\\1b'}}",
         ".capture.x.regex: regex \"(a*)*\\1b\": back-references"},
    };
    for (size_t i = 0; i < sizeof captures / sizeof captures[0]; i++) {
        char task[S_TASK_MAX];
        snprintf(task, sizeof task, "{'path': '/', 'capture': %s}",
                 captures[i].capture);
        check_task_error(verbose, task, AT(captures[i].suffix), NULL);
    }
#undef AT

    // More capture variables than the slot table holds.
    apex_buf_t doc;
    apex_buf_init(&doc);
    apex_buf_puts(&doc, "{'users': [{'name': 'U', 'tasks': [{'path': '/', "
                        "'capture': {");
    for (int i = 0; i <= APEX_SCENARIO_MAX_VARS; i++)
        apex_buf_printf(&doc, "%s'v%d': '$.a'", i ? ", " : "", i);
    apex_buf_puts(&doc, "}}]}]}");
    check_scenario_error(
        verbose, apex_buf_str(&doc),
        "apex.json: $.users[0].tasks[0].capture.v256: more than "
        "256 capture variables",
        NULL);
    apex_buf_fini(&doc);
}

// The captures of the full document, as compiled.
static void s_test_compiled(void)
{
    apex_scenario_t *sc = check_full_parse();
    const apex_user_class_t *u = apex_scenario_find_user(sc, "ApexUser");
    const apex_step_t *create = &u->tasks[1].steps[0];
    CHECK_EQ(create->ncaptures, 3);
    CHECK_EQ(create->captures[0].kind, APEX_CAPTURE_JSON);
    CHECK_STR(create->captures[0].var, "task_id");
    CHECK_STR(create->captures[0].expr, "$.id");
    CHECK_EQ(create->captures[0].path.nsteps, 1);
    CHECK_EQ(create->captures[0].path.steps[0].kind, APEX_JSONPATH_KEY);
    CHECK_STR(create->captures[0].path.steps[0].key, "id");
    CHECK_EQ(create->captures[1].kind, APEX_CAPTURE_HEADER);
    CHECK_STR(create->captures[1].expr, "Location");
    CHECK_EQ(create->captures[2].kind, APEX_CAPTURE_REGEX);
    CHECK(create->captures[2].has_group);
    CHECK(create->needs_body && create->needs_headers);
    const apex_capture_t *any = &u->tasks[2].steps[0].captures[0];
    CHECK_EQ(any->path.nsteps, 3);
    CHECK_EQ(any->path.steps[1].kind, APEX_JSONPATH_ANY);
    CHECK_STR(any->path.steps[2].key, "id");
    CHECK_EQ(any->slot, check_slot(sc, "dag_id"));
    apex_scenario_destroy(&sc);
}

// Responses a server under test may send on purpose or by accident.
static void s_test_hostile(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'H', 'tasks': [{'path': '/', 'capture': {"
        " 'h': {'header': 'X-A'}, 'r': {'regex': 'v=(x)?y'},"
        " 'e': '$.e[*]', 'n': '$.n[-9223372036854775808]'}}]}]}",
        &err);
    CHECK(sc);
    const apex_step_t *step = &sc->users[0].tasks[0].steps[0];
    char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = CHECK_SEED;
    // Header lines without a colon, an empty value, a name that only
    // starts like X-A; a body with a NUL byte, which is not JSON and
    // hides what follows it from regexec().
    const char headers[] = "garbage\r\nX-A-B: no\r\nX-A:\r\n:\r\n";
    const char body[] = "{\"e\": [], \"n\": [1]}\0v=y";
    CHECK_EQ(apex_captures_apply(step, headers, sizeof headers - 1, body,
                                 sizeof body - 1, vars, &rng, &err),
             -1);
    CHECK_STR(vars[check_slot(sc, "h")], ""); // present and empty
    CHECK(vars[check_slot(sc, "r")] == NULL); // regexec stops at the NUL
    CHECK(vars[check_slot(sc, "e")] == NULL); // [*] of an empty array
    CHECK(vars[check_slot(sc, "n")] == NULL); // far out of range
    CHECK_STR(err.msg, "capture r: regex v=(x)?y: not found in response");
    // Group 1 that took no part in the match is not a value.
    const char *page = "v=y";
    CHECK_EQ(apex_captures_apply(step, NULL, 0, page, strlen(page), vars, &rng,
                                 &err),
             -1);
    CHECK(vars[check_slot(sc, "r")] == NULL);
    check_free_vars(vars, sc->nvars);

    // A step without captures needs no variables.
    const apex_step_t *none = NULL;
    apex_scenario_t *plain = check_scenario_parse(
        "{'users': [{'name': 'P', 'tasks': [{'path': '/'}]}]}", &err);
    CHECK(plain);
    none = &plain->users[0].tasks[0].steps[0];
    CHECK_EQ(apex_captures_apply(none, NULL, 0, NULL, 0, NULL, NULL, &err), 0);
    apex_scenario_destroy(&plain);
    apex_scenario_destroy(&sc);
}

static void s_test_fini(void)
{
    apex_capture_t c;
    memset(&c, 0, sizeof c);
    apex_capture_fini(&c); // zeroed is fine
    c.var = strdup("v");
    c.expr = strdup("$.a");
    apex_error_t err = {""};
    CHECK_EQ(apex_jsonpath_compile(&c.path, c.expr, &err), 0);
    apex_capture_fini(&c);
    CHECK(c.var == NULL && c.expr == NULL && c.path.steps == NULL);
    apex_capture_fini(&c); // twice
}

void test_capture(bool verbose)
{
    s_test_apply();
    s_test_compiled();
    s_test_hostile();
    s_test_fini();
    s_test_errors(verbose);
    s_test_regex_total(verbose);
}
