// tests/unit/test_scenario_sql.c - the JSON form of an SQL step
// (common/scenario_sql.c): the query taken literally, parameters of every
// JSON type (templates for strings), expect_rows, the database (the
// document's, a step's, environment placeholders, libpq's own check),
// default names, column captures and their application to rows, and the
// message of each kind of bad step with its JSON path.
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#define S_T0 "apex.json: $.users[0].tasks[0]"
#define S_DB "'database': 'postgresql://127.0.0.1:5432/apex', "

static const char s_doc[] =
    "{'database': '${APEX_T_DB:-postgresql://127.0.0.1:5432/apex}',"
    " 'users': [{'name': 'D',"
    " 'on_start': [{'sql': 'SELECT id FROM agents', 'name': 'agents',"
    "  'capture': {'agent': {'column': 'id', 'row': 'random'},"
    "              'first': {'column': 'id', 'row': 'first'}}}],"
    " 'tasks': [{'sequence': ["
    "  {'sql': 'SELECT * FROM tasks WHERE id = $1 AND t = $2',"
    "   'params': ['${agent}', 'it\\'s; DROP TABLE tasks; --', 5, 2.5, null,"
    "              true, {'a': '${first}'}],"
    "   'expect_rows': 1, 'timeout': 2.5, 'name': 'by id'},"
    "  {'sql': '  SELECT\\n  count(*)\\tFROM executions  ',"
    "   'expect_rows': [0, 20], 'database': 'host=db.example port=5433',"
    "   'capture': {'n': {'column': 'count'}}},"
    "  {'sql': 'SELECT $$${not a template}$$'}]}]}]}";

static void s_test_form(void)
{
    unsetenv("APEX_T_DB");
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_doc, &err);
    if (!sc)
        printf("  %s\n", err.msg);
    CHECK(sc);
    if (!sc)
        return;
    CHECK_STR(sc->database, "postgresql://127.0.0.1:5432/apex");
    const apex_step_t *on = &sc->users[0].on_start[0];
    CHECK_EQ(on->kind, APEX_STEP_SQL);
    CHECK_STR(on->type, "SQL");
    CHECK_STR(on->name, "agents");
    CHECK(on->timed && on->sql && !on->http && !on->ws);
    CHECK_EQ(on->ncaptures, 2);
    CHECK_EQ(on->captures[0].kind, APEX_CAPTURE_COLUMN);
    CHECK_STR(on->captures[0].expr, "id");
    CHECK(on->captures[0].random_row);
    CHECK(!on->captures[1].random_row);
    CHECK(!on->needs_body && !on->needs_headers);
    CHECK_STR(on->sql->database, "postgresql://127.0.0.1:5432/apex");

    const apex_step_t *s = sc->users[0].tasks[0].steps;
    // Parameters: templates for strings, the text of other values, NULL
    // for null; the SQL as it is.
    const apex_sql_step_t *q = s[0].sql;
    CHECK_STR(q->query, "SELECT * FROM tasks WHERE id = $1 AND t = $2");
    CHECK_STR(s[0].name, "by id");
    CHECK(s[0].name_given);
    CHECK_NEAR(s[0].timeout, 2.5, 0);
    CHECK_EQ(q->nparams, 7);
    char *vars[4] = {NULL, NULL, NULL, NULL};
    vars[check_slot(sc, "agent")] = strdup("42");
    vars[check_slot(sc, "first")] = strdup("x\"y");
    uint64_t rng = CHECK_SEED;
    CHECK_EXPAND(q->params[0], (const char *const *)vars, &rng, "42");
    CHECK_STR(apex_template_constant(q->params[1]),
              "it's; DROP TABLE tasks; --");
    CHECK_STR(apex_template_constant(q->params[2]), "5");
    CHECK_STR(apex_template_constant(q->params[3]), "2.5");
    CHECK(q->params[4] == NULL);
    CHECK_STR(apex_template_constant(q->params[5]), "true");
    CHECK_EXPAND(q->params[6], (const char *const *)vars, &rng,
                 "{\"a\":\"x\\\"y\"}");
    CHECK(q->has_expect && q->min_rows == 1 && q->max_rows == 1);
    // The default name is the query on one line; a step's database.
    CHECK_STR(s[1].name, "SELECT count(*) FROM executions");
    CHECK(!s[1].name_given);
    CHECK_STR(s[1].sql->database, "host=db.example port=5433");
    CHECK(s[1].sql->min_rows == 0 && s[1].sql->max_rows == 20);
    CHECK_EQ(s[1].sql->nparams, 0);
    CHECK(!s[2].sql->has_expect);
    CHECK_STR(s[2].sql->query, "SELECT $$${not a template}$$");
    check_free_vars(vars, sc->nvars);
    apex_scenario_destroy(&sc);
}

// A long query's default name is cut, never inside a UTF-8 sequence.
static void s_test_names(void)
{
    char doc[1024];
    const char *select = "SELECT \\'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaa\xc3\xa9\xc3\xa9\xc3\xa9\\' AS x";
    snprintf(doc, sizeof doc,
             "{" S_DB "'users': [{'name': 'U', 'tasks': [{'sql': '%s'}]}]}",
             select);
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(doc, &err);
    if (!sc)
        printf("  %s\n", err.msg);
    CHECK(sc);
    if (!sc)
        return;
    const char *name = sc->users[0].tasks[0].steps[0].name;
    CHECK(strlen(name) <= 64 + 3);
    CHECK(strcmp(name + strlen(name) - 3, "...") == 0);
    CHECK(strncmp(name, "SELECT 'aaaa", 12) == 0);
    // The last character before "..." is whole: é is c3 a9.
    const unsigned char *end = (const unsigned char *)name + strlen(name) - 4;
    CHECK(*end == 'a' || (*end == 0xa9 && end[-1] == 0xc3));
    apex_scenario_destroy(&sc);
}

// Column captures on rows: the first, a random one, NULL, missing.
static const char *const s_cells[3][2] = {{"1", "a"}, {"2", NULL}, {"3", "c"}};

static int s_get(const void *arg, size_t row, const char *name,
                 const char **value)
{
    (void)arg;
    int col = strcmp(name, "id") == 0 ? 0 : strcmp(name, "v") == 0 ? 1 : -1;
    if (col < 0)
        return 0;
    *value = s_cells[row][col];
    return *value ? 1 : -1;
}

static void s_test_apply_rows(void)
{
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{" S_DB "'users': [{'name': 'U', 'tasks': [{'sql': 'SELECT 1', "
        "'capture': {'first': {'column': 'id'}, "
        "'any': {'column': 'id', 'row': 'random'}}}, "
        "{'sql': 'SELECT 2', 'capture': {'v': {'column': 'v', 'row': "
        "'random'}}}, "
        "{'sql': 'SELECT 3', 'capture': {'w': {'column': 'nope'}}}]}]}",
        &err);
    CHECK(sc);
    if (!sc)
        return;
    const apex_user_class_t *u = &sc->users[0];
    char *vars[4] = {NULL, NULL, NULL, NULL};
    uint64_t rng = CHECK_SEED;
    apex_capture_rows_t rows = {3, s_get, NULL, 0, NULL};
    bool seen[4] = {false, false, false, false};
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(apex_captures_apply_rows(u->tasks[0].steps, &rows, vars, NULL,
                                          &rng, &err),
                 0);
        CHECK_STR(vars[check_slot(sc, "first")], "1");
        seen[atoi(vars[check_slot(sc, "any")])] = true;
    }
    CHECK(seen[1] && seen[2] && seen[3]); // every row, at random
    // NULL in a random row: some runs find it, and say so.
    bool null_seen = false;
    for (int i = 0; i < 100; i++)
        if (apex_captures_apply_rows(u->tasks[1].steps, &rows, vars, NULL, &rng,
                                     &err) != 0)
            null_seen = strstr(err.msg, "capture v: column v: NULL in the "
                                        "row") != NULL;
    CHECK(null_seen);
    CHECK_EQ(apex_captures_apply_rows(u->tasks[2].steps, &rows, vars, NULL,
                                      &rng, &err),
             -1);
    CHECK_STR(err.msg, "capture w: column nope: no such column in the result");
    apex_capture_rows_t none = {0, s_get, NULL, 0, NULL};
    CHECK_EQ(apex_captures_apply_rows(u->tasks[0].steps, &none, vars, NULL,
                                      &rng, &err),
             -1);
    CHECK_STR(err.msg, "capture first: column id: no rows in the result");
    // A response that is no SQL result has no columns.
    CHECK_EQ(apex_captures_apply(u->tasks[0].steps, "", 0, "{}", 2, vars, &rng,
                                 &err),
             -1);
    CHECK(strstr(err.msg, "needs an SQL result"));
    check_free_vars(vars, sc->nvars);
    apex_scenario_destroy(&sc);
}

static void s_test_database(bool verbose)
{
    setenv("APEX_T_DB", "host=10.0.0.9 dbname=x", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(s_doc, &err);
    CHECK(sc);
    if (sc) {
        CHECK_STR(sc->users[0].on_start[0].sql->database,
                  "host=10.0.0.9 dbname=x");
        CHECK(strstr(sc->wire, "10.0.0.9")); // the worker sees the same
    }
    apex_scenario_destroy(&sc);
    setenv("APEX_T_DB", "host=x bogus", 1);
    check_scenario_error(verbose, s_doc,
                         "apex.json: $.database: invalid connection string: "
                         "missing \"=\" after \"bogus\"",
                         NULL);
    unsetenv("APEX_T_DB");
    check_scenario_error(verbose,
                         "{'database': 5, 'users': [{'name': 'U', 'tasks': "
                         "[{'sql': 'SELECT 1'}]}]}",
                         "apex.json: $.database: expected a libpq", NULL);
    check_scenario_error(verbose,
                         "{'database': 'postgresql://h/?nope=1', 'users': "
                         "[{'name': 'U', 'tasks': [{'sql': 'SELECT 1'}]}]}",
                         "apex.json: $.database: invalid connection string: "
                         "invalid URI query parameter: \"nope\"",
                         NULL);
    check_task_error(verbose, "{'sql': 'SELECT 1'}",
                     S_T0 ".database: missing (expected a libpq connection "
                          "string, here or in $.database)",
                     NULL);
    check_task_error(verbose,
                     "{'sql': 'SELECT 1', 'database': 'host=${random_int(1,"
                     "2)}'}",
                     S_T0 ".database: expected a connection string with "
                          "environment placeholders only",
                     NULL);
}

static void s_test_errors(bool verbose)
{
    check_task_error(verbose, "{'sql': ''," S_DB "'name': 'x'}",
                     S_T0 ".sql: expected a non-empty SQL statement", NULL);
    check_task_error(verbose, "{" S_DB "'sql': ' \\n '}",
                     S_T0 ".sql: expected a non-empty SQL statement", NULL);
    check_task_error(verbose, "{" S_DB "'sql': 5}",
                     S_T0 ".sql: expected a non-empty SQL statement, got 5",
                     NULL);
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1\\u0000; DROP'}",
                     "apex.json: line 1, column", "is not allowed");
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'params': 'a'}",
                     S_T0 ".params: expected an array", NULL);
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'params': ['${']}",
                     S_T0 ".params[0]: unterminated", NULL);
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'expect_rows': -1}",
                     S_T0 ".expect_rows: expected a row count", NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'expect_rows': [3, 2]}",
                     S_T0 ".expect_rows: expected a row count", NULL);
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'expect_rows': 1.5}",
                     S_T0 ".expect_rows: expected a row count", NULL);
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'name': ''}",
                     S_T0 ".name: expected a non-empty string", NULL);
    check_task_error(verbose, "{'sql': 'SELECT 1', 'path': '/'}",
                     S_T0 ".sql: unknown key", NULL); // an HTTP step
    check_task_error(verbose, "{" S_DB "'sql': 'SELECT 1', 'text': 'x'}",
                     S_T0 ".text: unknown key (expected one of: sql, name, "
                          "params, database",
                     NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'capture': {'x': '$.id'}}",
                     S_T0 ".capture.x: an SQL step captures columns", NULL);
    check_task_error(
        verbose, "{'path': '/', 'capture': {'x': {'column': 'id'}}}",
        S_T0 ".capture.x: a column capture needs an SQL step", NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'capture': {'x': "
                     "{'column': 'id', 'row': 'last'}}}",
                     S_T0 ".capture.x.row: expected \"first\" or \"random\"",
                     NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'capture': {'x': "
                     "{'column': ''}}}",
                     S_T0 ".capture.x.column: expected a column name", NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'capture': {'x': "
                     "{'row': 'first'}}}",
                     S_T0 ".capture.x: expected exactly one of", NULL);
    check_task_error(verbose,
                     "{" S_DB "'sql': 'SELECT 1', 'capture': {'x': "
                     "{'column': 'id', 'json': '$.a'}}}",
                     S_T0 ".capture.x: expected exactly one of", NULL);
}

void test_scenario_sql(bool verbose)
{
    s_test_form();
    s_test_names();
    s_test_apply_rows();
    s_test_database(verbose);
    s_test_errors(verbose);
}
