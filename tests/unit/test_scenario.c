// tests/unit/test_scenario.c - the scenario model and its loader
// (common/scenario.c): a full document's classes, weights, waits, tasks,
// pick tables and variables, the "env" object, the wire text, loading
// files, and the message (with the JSON path) of every kind of bad
// document, user class, wait and task. The parts have tests of their own
// (test_scenario_http.c, test_capture.c, test_template.c, ...).
#include "tests/unit/scenario_check.h"
#include "tests/unit/tests.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_test_model(void)
{
    apex_scenario_t *sc = check_full_parse();
    CHECK_STR(sc->origin, "apex.json");
    CHECK_STR(sc->host, "http://10.0.0.5:8080");

    // Classes sorted by name, with their weights and waits.
    CHECK_EQ(sc->nusers, 5);
    const char *names[] = {"ApexUser", "Con", "Mid", "Thr", "Zeta"};
    for (size_t i = 0; i < 5; i++)
        CHECK_STR(sc->users[i].name, names[i]);
    const apex_user_class_t *u = apex_scenario_find_user(sc, "ApexUser");
    CHECK(u == &sc->users[0]);
    CHECK(apex_scenario_find_user(sc, "Zeta") == &sc->users[4]);
    CHECK(apex_scenario_find_user(sc, "Nobody") == NULL);
    CHECK_EQ(u->weight, 3);
    CHECK_EQ(u->fixed_count, 0);
    CHECK_EQ(u->wait.kind, APEX_WAIT_BETWEEN);
    CHECK_NEAR(u->wait.a, 0.5, 0);
    CHECK_NEAR(u->wait.b, 2, 0);
    const apex_user_class_t *zeta = &sc->users[4];
    CHECK_EQ(zeta->weight, 1);
    CHECK_EQ(zeta->fixed_count, 2);
    CHECK_EQ(zeta->wait.kind, APEX_WAIT_CONSTANT);
    CHECK_NEAR(zeta->wait.a, 1.5, 0);
    CHECK_EQ(sc->users[1].wait.kind, APEX_WAIT_CONSTANT);
    CHECK_NEAR(sc->users[1].wait.a, 1, 0);
    CHECK_EQ(sc->users[2].wait.kind, APEX_WAIT_CONSTANT_PACING);
    CHECK_NEAR(sc->users[2].wait.a, 2, 0);
    CHECK_EQ(sc->users[3].wait.kind, APEX_WAIT_CONSTANT_THROUGHPUT);
    CHECK_NEAR(sc->users[3].wait.a, 5, 0);

    // Capture variables: one table for the document, in document order.
    CHECK_EQ(sc->nvars, 6);
    CHECK_STR(sc->vars[0], "token");
    CHECK_STR(sc->vars[4], "dag_id");

    // Tasks, weights and the pick table (Locust's repeat-by-weight).
    CHECK_EQ(u->ntasks, 4);
    CHECK_STR(u->tasks[0].name, "health");
    CHECK_STR(u->tasks[1].name, "create_and_get");
    CHECK_STR(u->tasks[2].name, "dags");
    CHECK(u->tasks[3].name == NULL);
    unsigned weights[] = {5, 2, 3, 1};
    size_t at = 0;
    for (size_t t = 0; t < 4; t++) {
        CHECK_EQ(u->tasks[t].weight, weights[t]);
        for (unsigned k = 0; k < weights[t]; k++)
            CHECK_EQ(u->pick[at++], t);
    }
    CHECK_EQ(u->npick, 11);
    const apex_user_class_t *mid = apex_scenario_find_user(sc, "Mid");
    CHECK_EQ(mid->npick, 3);
    CHECK_EQ(mid->pick[0], 0);
    CHECK_EQ(mid->pick[1], 1);
    CHECK_EQ(mid->pick[2], 1);

    apex_scenario_destroy(&sc);
    CHECK(sc == NULL);
    apex_scenario_destroy(&sc); // safe twice
}

// The "env" object is the only environment when a document has one.
static void s_test_env_object(void)
{
    setenv("APEX_T_N", "from-process", 1);
    setenv("APEX_T_MISSING", "from-process", 1);
    apex_error_t err = {""};
    apex_scenario_t *sc = check_scenario_parse(
        "{'env': {'APEX_T_X': 'from-env', 'APEX_T_N': null},"
        " 'host': '${APEX_T_X}',"
        " 'users': [{'name': 'E', 'tasks': [{'path': '/',"
        "  'headers': {'A': '${APEX_T_N:-d}', 'B': '${APEX_T_MISSING:-m}'}"
        "}]}]}",
        &err);
    CHECK(sc);
    CHECK_STR(sc->host, "from-env");
    const apex_step_t *r = &sc->users[0].tasks[0].steps[0];
    CHECK_STR(apex_template_constant(check_header(r, "A")->value), "d");
    CHECK_STR(apex_template_constant(check_header(r, "B")->value), "m");
    apex_scenario_destroy(&sc);

    // A host that resolves to "" is as good as none.
    sc = check_scenario_parse(
        "{'host': '${APEX_T_UNSET}',"
        " 'users': [{'name': 'E', 'tasks': [{'path': '/'}]}]}",
        &err);
    CHECK(sc);
    CHECK(sc->host == NULL);
    apex_scenario_destroy(&sc);
}

static void s_test_wire(void)
{
    const char *text = "{'host': '${APEX_T_URL:-http://127.0.0.1:8080}',"
                       " 'headers': {'Authorization': '${APEX_T_TOKEN:+Bearer "
                       "${APEX_T_TOKEN}}'},"
                       " 'users': [{'name': 'W', 'tasks': [{"
                       "  'path': '/p/${APEX_T_UNSET:-u}/${id}',"
                       "  'json': {'k': '${APEX_T_TOKEN}', 'id': '${id}'},"
                       "  'capture': {'id': '$.id'}}]}]}";
    setenv("APEX_T_URL", "http://a:1", 1);
    setenv("APEX_T_TOKEN", "t\"1", 1);
    unsetenv("APEX_T_UNSET");
    apex_error_t err = {""};
    apex_scenario_t *master = check_scenario_parse(text, &err);
    CHECK(master);
    CHECK(strstr(master->wire, "\"env\":{"));
    CHECK(strstr(master->wire, "\"APEX_T_UNSET\":null"));

    // A worker with another environment resolves the same way.
    setenv("APEX_T_URL", "http://b:2", 1);
    setenv("APEX_T_TOKEN", "", 1); // set: unset, a plain use is an error
    setenv("APEX_T_UNSET", "zzz", 1);
    apex_scenario_t *worker =
        apex_scenario_parse(master->wire, strlen(master->wire), "wire", &err);
    apex_scenario_t *local = check_scenario_parse(text, &err);
    CHECK(worker && local);
    CHECK_STR(worker->host, "http://a:1");
    CHECK_STR(local->host, "http://b:2");
    CHECK_STR(worker->wire, master->wire);

    const apex_step_t *m = &master->users[0].tasks[0].steps[0];
    const apex_step_t *w = &worker->users[0].tasks[0].steps[0];
    const char *vars[APEX_SCENARIO_MAX_VARS] = {NULL};
    vars[check_slot(master, "id")] = "7";
    uint64_t rng = CHECK_SEED;
    CHECK_EXPAND(m->http->path, vars, &rng, "/p/u/7");
    CHECK_EXPAND(w->http->path, vars, &rng, "/p/u/7");
    CHECK_EXPAND(m->http->body, vars, &rng, "{\"k\":\"t\\\"1\",\"id\":\"7\"}");
    CHECK_EXPAND(w->http->body, vars, &rng, "{\"k\":\"t\\\"1\",\"id\":\"7\"}");
    CHECK_STR(apex_template_constant(check_header(w, "Authorization")->value),
              "Bearer t\"1");
    CHECK_STR(m->name, w->name);
    apex_scenario_destroy(&master);
    apex_scenario_destroy(&worker);
    apex_scenario_destroy(&local);
}
static void s_test_document_errors(bool verbose)
{
    // JSON syntax, with jansson's line and column.
    check_scenario_error(verbose, "{\n  'users': [\n    x\n  ]\n}",
                         "apex.json: line 3, column 5: ", NULL);
    check_scenario_error(verbose, "{'users': [], 'users': []}",
                         "apex.json: line 1", "duplicate");
    check_scenario_error(verbose, "", "apex.json: line ", NULL);
    // The document.
    check_scenario_error(verbose, "[1]",
                         "apex.json: $: expected an object, got [1]", NULL);
    check_scenario_error(
        verbose, "{}",
        "apex.json: $.users: missing (expected a non-empty array", NULL);
    check_scenario_error(
        verbose, "{'users': []}",
        "apex.json: $.users: expected a non-empty array of user "
        "classes, got []",
        NULL);
    check_scenario_error(verbose, "{'users': 5}",
                         "apex.json: $.users: ", "got 5");
    check_scenario_error(verbose, "{'userz': []}",
                         "apex.json: $.userz: unknown key (expected one of: "
                         "description, host, database, headers, env, shape, "
                         "thresholds, users, data, engine, http)",
                         NULL);
    check_scenario_error(verbose, "{'description': 1, 'users': []}",
                         "apex.json: $.description: expected a string", NULL);
    check_scenario_error(verbose, "{'env': {'A': 5}, 'users': []}",
                         "apex.json: $.env.A: expected a string or null, got 5",
                         NULL);
    check_scenario_error(verbose, "{'env': [], 'users': []}",
                         "apex.json: $.env: ", NULL);
    check_scenario_error(
        verbose,
        "{'host': 'http://${id}', 'users': [{'name': 'U', "
        "'tasks': [{'path': '/', 'capture': {'id': '$.id'}}]}]}",
        "apex.json: $.host: expected a URL with environment", NULL);

    // No error buffer: still NULL, no crash.
    CHECK(apex_scenario_parse("[]", 2, NULL, NULL) == NULL);
    CHECK(apex_scenario_parse(NULL, 0, "none", NULL) == NULL);
    // Too large, before jansson sees it.
    apex_error_t err = {""};
    CHECK(apex_scenario_parse("{}", APEX_SCENARIO_MAX_BYTES + 1, NULL, &err) ==
          NULL);
    CHECK_STR(err.msg, "scenario: too large: 16777217 bytes (at most "
                       "16777216)");
}

static void s_test_user_errors(bool verbose)
{
    check_scenario_error(verbose, "{'users': [5]}",
                         "apex.json: $.users[0]: expected a user class object",
                         NULL);
    check_scenario_error(
        verbose,
        "{'users': [{'name': 'A', 'tasks': [{'path': '/'}]},"
        " {'name': 'A', 'tasks': [{'path': '/'}]}]}",
        "apex.json: $.users[1].name: duplicate user class name "
        "\"A\"",
        NULL);
    check_user_error(verbose, "'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].name: missing", NULL);
    check_user_error(verbose, "'name': '1abc', 'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].name: expected a class name",
                     "got \"1abc\"");
    check_user_error(verbose, "'name': 'a-b', 'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].name: ", NULL);
    const char *bad_weights[][2] = {{"0", "got 0"},
                                    {"10001", "got 10001"},
                                    {"'x'", "got \"x\""},
                                    {"1.5", "got 1.5"},
                                    {"-1", "got -1"}};
    for (size_t i = 0; i < sizeof bad_weights / sizeof bad_weights[0]; i++) {
        char members[256];
        snprintf(members, sizeof members,
                 "'name': 'U', 'weight': %s, 'tasks': [{'path': '/'}]",
                 bad_weights[i][0]);
        check_user_error(verbose, members,
                         "apex.json: $.users[0].weight: expected an "
                         "integer from 1 to 10000, ",
                         bad_weights[i][1]);
    }
    check_user_error(verbose, "'name': 'U', 'taks': []",
                     "apex.json: $.users[0].taks: unknown key (expected "
                     "one of: name, weight, fixed_count, wait, on_start, "
                     "tasks, cookies, tags, engine, http, script, source, "
                     "run_tasks)",
                     NULL);
    check_user_error(verbose,
                     "'name': 'U', 'fixed_count': -1, "
                     "'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].fixed_count: expected an "
                     "integer from 0 to ",
                     "got -1");
    check_user_error(verbose, "'name': 'U'",
                     "apex.json: $.users[0].tasks: missing", NULL);
    check_user_error(verbose, "'name': 'U', 'tasks': []",
                     "apex.json: $.users[0].tasks: expected a non-empty "
                     "array of tasks, got []",
                     NULL);
    check_user_error(verbose, "'name': 'U', 'on_start': {}, 'tasks': []",
                     "apex.json: $.users[0].on_start: expected an array "
                     "of requests",
                     NULL);
    check_user_error(verbose,
                     "'name': 'U', 'on_start': [{'path': 'x'}], "
                     "'tasks': [{'path': '/'}]",
                     "apex.json: $.users[0].on_start[0].path: expected a "
                     "path starting with",
                     NULL);
}

static void s_test_wait_errors(bool verbose)
{
    const char *tasks = ", 'tasks': [{'path': '/'}]";
    struct {
        const char *wait, *prefix, *also;
    } waits[] = {
        {"'x'", "apex.json: $.users[0].wait: expected a number of seconds",
         "got \"x\""},
        {"-1", "apex.json: $.users[0].wait: expected a number of seconds >= 0",
         "got -1"},
        {"{}", "apex.json: $.users[0].wait: expected exactly one of", NULL},
        {"{'constant': 1, 'between': [1, 2]}",
         "apex.json: $.users[0].wait: expected exactly one of", NULL},
        {"{'betwen': [1, 2]}",
         "apex.json: $.users[0].wait.betwen: unknown key (expected one of: "
         "constant, between, constant_pacing, constant_throughput)",
         NULL},
        {"{'between': [2, 1]}",
         "apex.json: $.users[0].wait.between: expected [min, max] with 0 <= "
         "min <= max, got [2,1]",
         NULL},
        {"{'between': [1]}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'between': [-1, 1]}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'between': 1}", "apex.json: $.users[0].wait.between: ", NULL},
        {"{'constant': -0.5}",
         "apex.json: $.users[0].wait.constant: expected a number of seconds "
         ">= 0, got -0.5",
         NULL},
        {"{'constant_pacing': 'x'}",
         "apex.json: $.users[0].wait.constant_pacing: ", NULL},
        {"{'constant_throughput': 0}",
         "apex.json: $.users[0].wait.constant_throughput: expected a number "
         "of task runs per second > 0, got 0",
         NULL},
    };
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        char members[256];
        snprintf(members, sizeof members, "'name': 'U', 'wait': %s%s",
                 waits[i].wait, tasks);
        check_user_error(verbose, members, waits[i].prefix, waits[i].also);
    }
}

static void s_test_task_errors(bool verbose)
{
    const char *t0 = "apex.json: $.users[0].tasks[0]";
    char prefix[256];
#define AT(suffix) (snprintf(prefix, sizeof prefix, "%s%s", t0, suffix), prefix)
    check_task_error(verbose, "5", AT(": expected a task"), NULL);
    check_task_error(verbose,
                     "{'request': {'path': '/'}, 'sequence': [{'path': "
                     "'/'}]}",
                     AT(": expected \"request\" or \"sequence\", not both"),
                     NULL);
    check_task_error(verbose, "{'name': 'x', 'weight': 2}",
                     AT(": expected a task with \"request\" or "
                        "\"sequence\", or a request with \"path\""),
                     NULL);
    check_task_error(verbose, "{}", AT(": expected a task"), NULL);
    check_task_error(verbose, "{'name': 'x', 'wieght': 2}",
                     AT(".wieght: unknown key (expected one of: name, "
                        "weight, request, sequence, tags)"),
                     NULL);
    check_task_error(verbose, "{'request': {'path': '/'}, 'wieght': 2}",
                     AT(".wieght: unknown key"), NULL);
    check_task_error(verbose, "{'request': {'path': '/'}, 'weight': 0}",
                     AT(".weight: expected an integer from 1 to 10000, got "
                        "0"),
                     NULL);
    check_task_error(verbose, "{'request': {'path': '/'}, 'name': 5}",
                     AT(".name: expected a non-empty string"), NULL);
    check_task_error(verbose, "{'path': '/', 'task': ''}",
                     AT(".task: expected a non-empty string"), NULL);
    check_task_error(verbose, "{'sequence': []}",
                     AT(".sequence: expected a non-empty array of "
                        "requests, got []"),
                     NULL);
    check_task_error(verbose, "{'sequence': [{'path': '/'}, 5]}",
                     AT(".sequence[1]: expected a request object, got 5"),
                     NULL);
    check_task_error(verbose, "{'request': []}",
                     AT(".request: expected a request object"), NULL);
    check_task_error(verbose, "{'request': {'method': 'GET'}}",
                     AT(".request.path: missing (expected a path starting "
                        "with \"/\""),
                     NULL);
    check_task_error(verbose, "{'method': 'GET'}", AT(".path: missing"), NULL);
    check_task_error(verbose, "{'request': {'path': '/', 'paht': '/'}}",
                     AT(".request.paht: unknown key (expected one of: "
                        "method, path, name, query, headers, json, body, "
                        "expect, capture, timeout, check, http)"),
                     NULL);
    check_task_error(verbose, "{'path': '/', 'bdy': 'x'}",
                     AT(".bdy: unknown key (expected one of: method, path, "
                        "name, query, headers, json, body, expect, "
                        "capture, timeout, check, http, weight, task, tags)"),
                     NULL);
    check_task_error(verbose, "{'request': {'path': '/', 'weight': 2}}",
                     AT(".request.weight: unknown key"), NULL);
    {
        char many[2048] = "";
        for (int i = 0; i < 11; i++)
            strcat(many, i ? ", {'path': '/', 'weight': 10000}"
                           : "{'path': '/', 'weight': 10000}");
        check_task_error(verbose, many,
                         "apex.json: $.users[0].tasks: task weights sum to "
                         "110000, more than 100000",
                         NULL);
    }
    const char *timeouts[] = {"0", "-1", "'x'"};
    for (size_t i = 0; i < 3; i++) {
        char task[256];
        snprintf(task, sizeof task, "{'path': '/', 'timeout': %s}",
                 timeouts[i]);
        check_task_error(verbose, task,
                         AT(".timeout: expected a number of seconds > 0"),
                         NULL);
    }
#undef AT
}

static void s_test_load(bool verbose)
{
    apex_error_t err = {""};
    CHECK(apex_scenario_load("/nonexistent/apex.json", &err) == NULL);
    CHECK_STR(err.msg, "/nonexistent/apex.json: cannot read: No such file "
                       "or directory");
    // A locustfile is named as one, with where to look, exists or not.
    CHECK(apex_scenario_load("/nonexistent/locustfile.py", &err) == NULL);
    CHECK(strncmp(err.msg,
                  "/nonexistent/locustfile.py: a Python locustfile; apex "
                  "scenarios are JSON files (see the README's \"From "
                  "Locust\" section",
                  100) == 0);

    char dir[] = "/tmp/apex-scenario-XXXXXX";
    CHECK(mkdtemp(dir));
    CHECK(apex_scenario_load(dir, &err) == NULL);
    CHECK(strstr(err.msg, ": cannot read: Is a directory"));

    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/apex.json", dir);
    const char *good = "{\"users\": [{\"name\": \"L\", \"tasks\": "
                       "[{\"path\": \"/\"}]}]}";
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(good, f);
    fclose(f);
    apex_scenario_t *sc = apex_scenario_load(path, &err);
    CHECK(sc);
    CHECK_STR(sc->origin, path);
    CHECK_STR(sc->users[0].name, "L");
    apex_scenario_destroy(&sc);

    f = fopen(path, "w");
    CHECK(f);
    fputs("{\"users\": 1}", f);
    fclose(f);
    CHECK(apex_scenario_load(path, &err) == NULL);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0);
    CHECK(strstr(err.msg, ": $.users: "));
    if (verbose)
        printf("  %s\n", err.msg);

    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, (off_t)APEX_SCENARIO_MAX_BYTES + 1), 0);
    close(fd);
    CHECK(apex_scenario_load(path, &err) == NULL);
    CHECK(strstr(err.msg, "too large"));
    if (verbose)
        printf("  %s\n", err.msg);

    // Not a regular file: read in chunks to the end (here, nothing).
    CHECK(apex_scenario_load("/dev/null", &err) == NULL);
    CHECK(strncmp(err.msg, "/dev/null: line 1, column 0: ", 29) == 0);

    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(rmdir(dir), 0);
}
void test_scenario(bool verbose)
{
    s_test_model();
    s_test_env_object();
    s_test_wire();
    s_test_document_errors(verbose);
    s_test_user_errors(verbose);
    s_test_wait_errors(verbose);
    s_test_task_errors(verbose);
    s_test_load(verbose);

    apex_scenario_t *sc = NULL;
    apex_scenario_destroy(&sc); // NULL is fine
    CHECK(sc == NULL);
}
