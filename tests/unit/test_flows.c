// tests/unit/test_flows.c - what scenarios gained for realistic flows:
// data sets ("data", common/scenario_data.c) read inline and from files
// next to the scenario, built-ins, typed values in JSON bodies, sleep
// steps (common/scenario_sleep.c), variables checked at load (errors and
// warnings with their JSON paths) and at run time (apex_template_unset).
#include "tests/unit/tests.h"

#include <unistd.h>

#include "common/buf.h"
#include "common/scenario.h"
#include "tests/unit/scenario_check.h"

// The first task's first step of the only class.
static const apex_step_t *s_step(const apex_scenario_t *sc, size_t task)
{
    return &sc->users[0].tasks[task].steps[0];
}

static void s_test_typed_body(void)
{
    apex_error_t err = {""};
    const char text[] =
        "{\"data\": {\"a\": {\"file\": \"a.json\", \"mode\": \"per_user\","
        "  \"content\": \"[{\\\"age\\\": 30, \\\"name\\\": \\\"x\\\"},"
        "               {\\\"age\\\": 31, \\\"name\\\": \\\"y\\\"}]\"}},"
        " \"users\": [{\"name\": \"U\", \"tasks\": ["
        "  {\"path\": \"/c\", \"capture\": {\"obj\": \"$.o\", \"num\": \"$.n\","
        "                             \"s\": \"$.s\"}},"
        "  {\"path\": \"/t\", \"method\": \"POST\", \"json\": {"
        "   \"p\": \"${random_int(5,5)}\", \"text\": \"x${random_int(5,5)}\","
        "   \"u\": \"${uuid()}\", \"o\": \"${obj}\", \"n\": \"${num}\","
        "   \"s\": \"${s}\", \"i\": \"${user_index}\","
        "   \"w\": \"${worker_index}\", \"it\": \"${iteration}\","
        "   \"age\": \"${data.a.age}\", \"name\": \"${data.a.name}\","
        "   \"${s}\": [\"${num}\"], \"d\": \"${s:-none}\"}}]}]}";
    apex_scenario_t *sc =
        apex_scenario_parse(text, sizeof text - 1, "apex.json", &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    CHECK_EQ(sc->ndata, 1);
    CHECK_EQ(sc->data[0].nrows, 2);
    CHECK(strstr(sc->wire, "\"content\":"));
    CHECK_EQ(sc->nwarnings, 3); // task 1 reads what task 0 captures
    CHECK(strstr(sc->warnings[0], "$.users[0].tasks[1].json: variable"));
    // Captured typed: an object, a number and a string.
    char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    unsigned char json[APEX_SCENARIO_MAX_VARS] = {0};
    uint64_t rng = CHECK_SEED;
    const char body[] =
        "{\"o\": {\"k\": [1, \"v\"]}, \"n\": 2.5, \"s\": \"t\"}";
    CHECK_EQ(apex_captures_apply_typed(s_step(sc, 0), NULL, 0, body,
                                       sizeof body - 1, vars, json, &rng, &err),
             0);
    const apex_value_t *rows[1] = {apex_dataset_row(&sc->data[0], 1)};
    apex_template_user_t user = {7, 1, 3, rows};
    apex_template_ctx_t ctx = {.vars = (const char *const *)vars,
                               .rng = &rng,
                               .vars_json = json,
                               .user = &user};
    apex_buf_t out;
    apex_buf_init(&out);
    apex_template_expand(s_step(sc, 1)->http->body, &ctx, &out);
    json_t *doc = json_loads(apex_buf_str(&out), 0, NULL);
    if (!doc)
        fprintf(stderr, "not JSON: %s\n", apex_buf_str(&out));
    CHECK(doc);
    CHECK_EQ(json_integer_value(json_object_get(doc, "p")), 5);
    CHECK_STR(json_string_value(json_object_get(doc, "text")), "x5");
    CHECK(check_is_uuid4(json_string_value(json_object_get(doc, "u"))));
    CHECK(json_is_object(json_object_get(doc, "o")));
    CHECK(json_real_value(json_object_get(doc, "n")) == 2.5);
    CHECK_STR(json_string_value(json_object_get(doc, "s")), "t");
    CHECK_EQ(json_integer_value(json_object_get(doc, "i")), 7);
    CHECK_EQ(json_integer_value(json_object_get(doc, "w")), 1);
    CHECK_EQ(json_integer_value(json_object_get(doc, "it")), 3);
    CHECK_EQ(json_integer_value(json_object_get(doc, "age")), 31);
    CHECK_STR(json_string_value(json_object_get(doc, "name")), "y");
    CHECK(json_is_array(json_object_get(doc, "t"))); // a key stays text
    CHECK(json_is_real(json_array_get(json_object_get(doc, "t"), 0)));
    CHECK_STR(json_string_value(json_object_get(doc, "d")), "t");
    json_decref(doc);
    // Untyped contexts (a header, a path) get the text.
    apex_buf_fini(&out);
    check_free_vars(vars, sc->nvars);
    apex_scenario_destroy(&sc);
}

static void s_test_unset_at_run_time(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'U', 'tasks': [{'sequence': ["
        "  {'path': '/a', 'capture': {'id': '$.id', 'x': '$.x'}},"
        "  {'path': '/b/${id}', 'headers': {'X': '${x:-none}'}}]}]}]}",
        &err);
    CHECK(sc);
    CHECK_EQ(sc->nwarnings, 0); // captured before, in the sequence
    const apex_step_t *b = &sc->users[0].tasks[0].steps[1];
    CHECK_EQ(b->nuses, 2);
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    uint64_t rng = CHECK_SEED;
    apex_template_ctx_t ctx = {.vars = vars, .rng = &rng};
    CHECK_STR(apex_template_unset(b->uses[0], &ctx), "id");
    CHECK(apex_template_unset(b->uses[1], &ctx) == NULL); // has a default
    vars[check_slot(sc, "id")] = "";
    CHECK(apex_template_unset(b->uses[0], &ctx) == NULL); // set, empty
    apex_scenario_destroy(&sc);
}

static void s_test_load_errors(bool verbose)
{
    check_task_error(verbose, "{'path': '/t/${tsk_id}'}",
                     "apex.json: $.users[0].tasks[0].path: variable 'tsk_id' "
                     "is not set by any capture, data file, built-in or the "
                     "environment",
                     NULL);
    check_task_error(verbose, "{'path': '/t', 'json': {'a': '${nope}'}}",
                     "apex.json: $.users[0].tasks[0].json: variable 'nope'",
                     NULL);
    check_task_error(verbose, "{'path': '/${data.x.y}'}",
                     "apex.json: $.users[0].tasks[0].path: \"data.x.y\": the "
                     "scenario has no data sets",
                     NULL);
    check_task_error(verbose, "{'path': '/${a.b}'}",
                     "apex.json: $.users[0].tasks[0].path: unknown name "
                     "\"a.b\"",
                     NULL);
    check_task_error(verbose, "{'path': '/', 'capture': {'iteration': '$.a'}}",
                     "apex.json: $.users[0].tasks[0].capture.iteration: "
                     "'iteration' is a built-in name",
                     NULL);
    const char *data = "{'data': {'a': {'file': 'a.csv', 'content': "
                       "'user,pw\\n1,2\\n'}}, 'users': [{'name': 'U', "
                       "'tasks': [{'path': '/${data.a.usr}'}]}]}";
    check_scenario_error(verbose, data,
                         "apex.json: $.users[0].tasks[0].path: data set 'a' "
                         "has no column 'usr' (columns: user, pw)",
                         NULL);
    check_scenario_error(verbose,
                         "{'data': {'a': {'file': 'a.csv', 'content': "
                         "'user,pw\\n1,2\\n'}}, 'users': [{'name': 'U', "
                         "'tasks': [{'path': '/${data.b.user}'}]}]}",
                         "apex.json: $.users[0].tasks[0].path: no data set "
                         "'b'",
                         NULL);
    check_scenario_error(verbose,
                         "{'data': {'a': {'file': 'a.csv'}}, 'users': []}",
                         "apex.json: $.data.a.file: cannot read data files "
                         "here",
                         NULL);
    check_scenario_error(verbose,
                         "{'data': {'a': {'file': 'a.csv', 'content': "
                         "'u\\n1\\n', 'mode': 'each'}}, 'users': []}",
                         "apex.json: $.data.a.mode: expected one of: "
                         "per_user, sequential, random",
                         NULL);
    check_scenario_error(verbose,
                         "{'data': {'a': {'file': 'a.txt', 'content': "
                         "'u\\n1\\n'}}, 'users': []}",
                         "apex.json: $.data.a: expected a file ending in .csv "
                         "or .json",
                         NULL);
    check_scenario_error(verbose,
                         "{'data': {'a': {'file': 'a.csv', 'content': "
                         "'u,v\\n1\\n'}}, 'users': []}",
                         "apex.json: $.data.a.content: a.csv: line 2: "
                         "expected 2 fields, got 1",
                         NULL);
}

static void s_test_sleep(bool verbose)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'users': [{'name': 'U', 'on_start': [{'sleep': 0.5}],"
        " 'tasks': [{'sequence': [{'path': '/'}, {'sleep': [0.5, 2]}]}]}]}",
        &err);
    CHECK(sc);
    const apex_step_t *s = &sc->users[0].tasks[0].steps[1];
    CHECK_EQ(s->kind, APEX_STEP_SLEEP);
    CHECK(!s->timed);
    CHECK(s->sleep->min == 0.5 && s->sleep->max == 2);
    CHECK(sc->users[0].on_start[0].sleep->max == 0.5);
    apex_scenario_destroy(&sc);
    check_task_error(verbose, "{'sequence': [{'sleep': -1}]}",
                     "apex.json: $.users[0].tasks[0].sequence[0].sleep: "
                     "expected a number of seconds",
                     NULL);
    check_task_error(
        verbose, "{'sequence': [{'sleep': [2, 1]}]}",
        "apex.json: $.users[0].tasks[0].sequence[0].sleep: ", NULL);
    check_task_error(verbose, "{'sequence': [{'sleep': 1, 'name': 'x'}]}",
                     "apex.json: $.users[0].tasks[0].sequence[0].name: "
                     "unknown key",
                     NULL);
}

// Data files next to the scenario file, read once, carried in the wire.
static void s_test_files(void)
{
    char dir[] = "/tmp/apex-flows-XXXXXX";
    CHECK(mkdtemp(dir));
    char path[256], csv[256];
    snprintf(csv, sizeof csv, "%s/accounts.csv", dir);
    FILE *f = fopen(csv, "w");
    CHECK(f);
    fputs("username,password\nalice,a1\nbob,b2\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/s.json", dir);
    f = fopen(path, "w");
    CHECK(f);
    fputs("{\"data\": {\"acc\": {\"file\": \"accounts.csv\", \"mode\": "
          "\"sequential\"}}, \"users\": [{\"name\": \"U\", \"tasks\": "
          "[{\"path\": \"/${data.acc.username}\"}]}]}",
          f);
    fclose(f);
    apex_error_t err = {""};
    apex_scenario_t *sc = apex_scenario_load(path, &err);
    if (!sc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(sc);
    CHECK_EQ(sc->data[0].mode, APEX_DATA_SEQUENTIAL);
    CHECK_EQ(sc->data[0].nrows, 2);
    apex_scenario_t *w =
        apex_scenario_parse_wire(sc->wire, strlen(sc->wire), "wire", &err);
    CHECK(w); // the worker needs no file
    CHECK_STR(apex_dataset_row(&w->data[0], 1)[0].text, "bob");
    apex_scenario_destroy(&w);
    apex_scenario_destroy(&sc);
    unlink(csv);
    sc = apex_scenario_load(path, &err);
    CHECK(!sc);
    CHECK(strstr(err.msg, "s.json: $.data.acc.file: cannot read "
                          "accounts.csv: No such file or directory"));
    // Too large.
    f = fopen(csv, "w");
    CHECK(f);
    fputs("a\n", f);
    CHECK_EQ(ftruncate(fileno(f), (off_t)APEX_DATA_MAX_BYTES + 1), 0);
    fclose(f);
    sc = apex_scenario_load(path, &err);
    CHECK(!sc);
    CHECK(strstr(err.msg, "$.data.acc.file: accounts.csv: too large: "));
    unlink(csv);
    unlink(path);
    rmdir(dir);
}

void test_flows(bool verbose)
{
    s_test_typed_body();
    s_test_unset_at_run_time();
    s_test_load_errors(verbose);
    s_test_sleep(verbose);
    s_test_files();
}
