// tests/unit/test_jsonpath.c - JSON paths (common/jsonpath.c): every
// kind of step compiled, evaluated on documents of the expected shape
// and of every other shape, negative and huge indexes, [*] drawing every
// element, and the message (with its offset) of every kind of bad path.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonpath.h"

#define S_SEED 0x9E3779B97F4A7C15ULL // any non-zero PRNG state
#define S_ANY_DRAWS 200              // draws of a [*] over three elements
#define S_ANY_ELEMENTS 3

static const char s_doc[] =
    "{\"a\": {\"b\": [10, 20, {\"c d\": \"x\", \"q\\\"k\": 1}]},"
    " \"arr\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}], \"empty\": [],"
    " \"s\": \"text\", \"n\": null}";

// expr applied to s_doc: the integer it leads to, or -1 when nothing.
static long long s_eval_int(const json_t *doc, const char *expr)
{
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    if (apex_jsonpath_compile(&path, expr, &err) != 0) {
        fprintf(stderr, "%s: %s\n", expr, err.msg);
        CHECK(false);
    }
    uint64_t rng = S_SEED;
    const json_t *v = apex_jsonpath_eval(&path, doc, &rng);
    apex_jsonpath_fini(&path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

// expr must not compile, with exactly message; the path stays empty.
static void s_check_error(const char *expr, const char *message)
{
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    CHECK_EQ(apex_jsonpath_compile(&path, expr, &err), -1);
    if (strcmp(err.msg, message) != 0)
        fprintf(stderr, "path: %s\nmessage:  %s\nexpected: %s\n", expr, err.msg,
                message);
    CHECK_STR(err.msg, message);
    CHECK(path.steps == NULL && path.nsteps == 0);
}

static void s_test_compile(void)
{
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    CHECK_EQ(
        apex_jsonpath_compile(&path, "$.a[\"c d\"]['x\\'y'][-2][*].k", &err),
        0);
    CHECK_EQ(path.nsteps, 6);
    CHECK_EQ(path.steps[0].kind, APEX_JSONPATH_KEY);
    CHECK_STR(path.steps[0].key, "a");
    CHECK_STR(path.steps[1].key, "c d");
    CHECK_STR(path.steps[2].key, "x'y");
    CHECK_EQ(path.steps[3].kind, APEX_JSONPATH_INDEX);
    CHECK_EQ(path.steps[3].index, -2);
    CHECK_EQ(path.steps[4].kind, APEX_JSONPATH_ANY);
    CHECK_STR(path.steps[5].key, "k");
    apex_jsonpath_fini(&path);
    CHECK(path.steps == NULL && path.nsteps == 0);
    apex_jsonpath_fini(&path); // twice
    CHECK_EQ(apex_jsonpath_compile(&path, "$", &err), 0);
    CHECK_EQ(path.nsteps, 0);
    apex_jsonpath_fini(&path);
}

static void s_test_eval(void)
{
    json_t *doc = json_loads(s_doc, 0, NULL);
    CHECK(doc);
    CHECK_EQ(s_eval_int(doc, "$.a.b[0]"), 10);
    CHECK_EQ(s_eval_int(doc, "$.a.b[-3]"), 10);
    CHECK_EQ(s_eval_int(doc, "$.a.b[1]"), 20);
    CHECK_EQ(s_eval_int(doc, "$['a'][\"b\"][2][\"q\\\"k\"]"), 1);
    CHECK_EQ(s_eval_int(doc, "$.arr[-1].id"), 3);
    // Nothing there: out of range, a key on an array or a string, an
    // index on an object, [*] of an empty array, null's members.
    const char *none[] = {"$.a.b[3]",
                          "$.a.b[-4]",
                          "$.arr.id",
                          "$.s.x",
                          "$.a[0]",
                          "$.empty[*]",
                          "$.n.x",
                          "$.nope",
                          "$.a.b[9223372036854775807]",
                          "$.s[*]",
                          "$.arr[-9223372036854775808]"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        CHECK_EQ(s_eval_int(doc, none[i]), -1);

    // "$" is the root; [*] draws every element.
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    CHECK_EQ(apex_jsonpath_compile(&path, "$", &err), 0);
    CHECK(apex_jsonpath_eval(&path, doc, NULL) == doc);
    apex_jsonpath_fini(&path);
    CHECK_EQ(apex_jsonpath_compile(&path, "$.arr[*].id", &err), 0);
    uint64_t rng = S_SEED;
    bool seen[S_ANY_ELEMENTS + 1] = {false};
    for (int i = 0; i < S_ANY_DRAWS; i++) {
        const json_t *v = apex_jsonpath_eval(&path, doc, &rng);
        CHECK(json_is_integer(v));
        CHECK(json_integer_value(v) >= 1 &&
              json_integer_value(v) <= S_ANY_ELEMENTS);
        seen[json_integer_value(v)] = true;
    }
    CHECK(seen[1] && seen[2] && seen[3]);
    apex_jsonpath_fini(&path);
    json_decref(doc);
}

static void s_test_errors(void)
{
    s_check_error("", "bad JSON path \"\": expected \"$\" at offset 0");
    s_check_error("id", "bad JSON path \"id\": expected \"$\" at offset 0");
    s_check_error("$.", "bad JSON path \"$.\": expected a key after \".\" at "
                        "offset 2");
    s_check_error("$.a..", "bad JSON path \"$.a..\": expected a key after "
                           "\".\" at offset 5");
    s_check_error("$[?(@.a ==)]", "bad JSON path \"$[?(@.a ==)]\": expected "
                                  "a path, a string, a number, true, false or "
                                  "null at offset 10");
    s_check_error("$[?(@.a]", "bad JSON path \"$[?(@.a]\": expected \")\" "
                              "at offset 7");
    s_check_error("$a", "bad JSON path \"$a\": expected \".\" or \"[\" at "
                        "offset 1");
    s_check_error("$[", "bad JSON path \"$[\": expected an index, \"*\" or a "
                        "quoted key at offset 2");
    s_check_error("$[-]", "bad JSON path \"$[-]\": expected an index, \"*\" "
                          "or a quoted key at offset 2");
    s_check_error("$[1", "bad JSON path \"$[1\": expected \"]\" at offset 3");
    s_check_error("$[1x]", "bad JSON path \"$[1x]\": expected \"]\" at "
                           "offset 3");
    s_check_error("$[99999999999999999999]",
                  "bad JSON path \"$[99999999999999999999]\": expected an "
                  "index, \"*\" or a quoted key at offset 2");
    s_check_error("$['a'", "bad JSON path \"$['a'\": expected a quoted key, "
                           "then \"]\" at offset 4");
    s_check_error("$[\"a\\", "bad JSON path \"$[\"a\\\": expected a quoted "
                             "key, then \"]\" at offset 5");
    // Steps compiled before the error are freed (ASan checks).
    s_check_error("$.a.b[0][*]x", "bad JSON path \"$.a.b[0][*]x\": expected "
                                  "\".\" or \"[\" at offset 11");
    // A long path is quoted up to APEX_ERROR_EXCERPT bytes.
    char expr[APEX_ERROR_EXCERPT * 2];
    memset(expr, 'k', sizeof expr - 1);
    expr[0] = 'x';
    expr[sizeof expr - 1] = '\0';
    char message[APEX_ERROR_MAX];
    snprintf(message, sizeof message,
             "bad JSON path \"%.*s\"...: expected \"$\" at offset 0",
             APEX_ERROR_EXCERPT, expr);
    s_check_error(expr, message);
}

// The number of nodes expr finds in doc (-1: over the budget).
static long s_count(const json_t *doc, const char *expr)
{
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    if (apex_jsonpath_compile(&path, expr, &err) != 0) {
        fprintf(stderr, "%s: %s\n", expr, err.msg);
        CHECK(false);
    }
    apex_jsonpath_nodes_t nodes;
    apex_jsonpath_nodes_init(&nodes);
    int rc = apex_jsonpath_query(&path, doc, &nodes);
    long n = rc == 0 ? (long)nodes.n : -1;
    apex_jsonpath_nodes_fini(&nodes);
    apex_jsonpath_fini(&path);
    return n;
}

// A condition on doc: 1, 0 or -1.
static int s_cond(const json_t *doc, const char *text)
{
    apex_error_t err = {""};
    apex_jsonpath_expr_t *e = apex_jsonpath_expr_compile(text, &err);
    if (!e)
        fprintf(stderr, "%s: %s\n", text, err.msg);
    CHECK(e);
    int v = apex_jsonpath_expr_eval(e, doc);
    apex_jsonpath_expr_destroy(&e);
    apex_jsonpath_expr_destroy(&e); // twice
    return v;
}

static void s_test_filters(void)
{
    json_t *doc = json_loads(
        "{\"status\": \"done\", \"items\": [], \"name\": \"h\u00e9\","
        " \"tasks\": [{\"id\": \"t1\", \"priority\": 1, \"tags\": [\"a\"]},"
        "  {\"id\": \"t2\", \"priority\": 3, \"done\": true},"
        "  {\"id\": \"t3\", \"priority\": 2, \"owner\": {\"id\": \"o9\"}}]}",
        0, NULL);
    CHECK(doc);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.priority>1)].id"), 2);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.priority >= 2 && @.done)]"), 1);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.priority == 1 || @.owner)]"), 2);
    CHECK_EQ(s_count(doc, "$.tasks[?(!@.done)]"), 2);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.id != 't2')]"), 2);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.priority < 3 && @.priority <= 1)]"), 1);
    CHECK_EQ(s_count(doc, "$.tasks[?@.tags.length() == 1]"), 1);
    CHECK_EQ(s_count(doc, "$.tasks[?(@.id == $.tasks[-1].id)]"), 1);
    CHECK_EQ(s_count(doc, "$..id"), 4);
    CHECK_EQ(s_count(doc, "$..[?(@.id == 'o9')]"), 1);
    CHECK_EQ(s_count(doc, "$.tasks.*.id"), 3);
    CHECK_EQ(s_count(doc, "$.tasks[-1].owner.id"), 1);
    CHECK_EQ(s_count(doc, "$.tasks[-4]"), 0); // negative: exists or not
    // First match unless [*]: filters and descent are deterministic.
    apex_jsonpath_t path = {NULL, 0};
    apex_error_t err = {""};
    CHECK_EQ(apex_jsonpath_compile(&path, "$..id", &err), 0);
    CHECK_STR(json_string_value(apex_jsonpath_eval(&path, doc, NULL)), "t1");
    apex_jsonpath_fini(&path);
    // Conditions, as checks write them.
    CHECK_EQ(s_cond(doc, "$.status == \"done\""), 1);
    CHECK_EQ(s_cond(doc, "$.status == 'pending'"), 0);
    CHECK_EQ(s_cond(doc, "$.items.length() > 0"), 0);
    CHECK_EQ(s_cond(doc, "$.tasks.length() == 3"), 1);
    CHECK_EQ(s_cond(doc, "$.name.length() == 2"), 1);    // characters
    CHECK_EQ(s_cond(doc, "$.tasks[*].priority > 2"), 1); // any of them
    CHECK_EQ(s_cond(doc, "$.missing"), 0);
    CHECK_EQ(s_cond(doc, "$.missing != 1"), 1);
    CHECK_EQ(s_cond(doc, "($.status == 'done') && !($.items.length() > 0)"), 1);
    CHECK_EQ(s_cond(doc, "$.tasks[0].done == null"), 0);
    CHECK_EQ(s_cond(doc, "$.tasks[1].done == true"), 1);
    CHECK_EQ(s_cond(doc, "$.status < 'e' && -1.5 < 0"), 1);
    CHECK_EQ(s_cond(NULL, "$.status"), 0);
    json_decref(doc);
}

static void s_test_condition_errors(void)
{
    static const char *const bad[][2] = {
        {"", "bad condition \"\": expected a path, a string, a number, true, "
             "false or null at offset 0"},
        {"$.a ==", "bad condition \"$.a ==\": expected a path, a string, a "
                   "number, true, false or null at offset 6"},
        {"$.a == 'x", "bad condition \"$.a == 'x\": expected the string's "
                      "closing quote at offset 9"},
        {"@.a", "bad condition \"@.a\": \"@\" is only inside a filter at "
                "offset 0"},
        {"$.a 1", "bad condition \"$.a 1\": expected an operator, \"&&\", "
                  "\"||\" or the end at offset 4"},
        {"($.a", "bad condition \"($.a\": expected \")\" at offset 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        apex_error_t err = {""};
        CHECK(apex_jsonpath_expr_compile(bad[i][0], &err) == NULL);
        if (strcmp(err.msg, bad[i][1]) != 0)
            fprintf(stderr, "got:      %s\nexpected: %s\n", err.msg, bad[i][1]);
        CHECK_STR(err.msg, bad[i][1]);
    }
    // Nesting and length are bounded.
    char deep[APEX_JSONPATH_MAX_DEPTH * 2 + 8];
    memset(deep, '(', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    apex_error_t err = {""};
    CHECK(apex_jsonpath_expr_compile(deep, &err) == NULL);
    CHECK(strstr(err.msg, "nested too deeply"));
    char *longer = apex_calloc(1, APEX_JSONPATH_MAX_LEN + 8);
    longer[0] = '$';
    memset(longer + 1, 'a', APEX_JSONPATH_MAX_LEN + 2);
    apex_jsonpath_t path = {NULL, 0};
    CHECK_EQ(apex_jsonpath_compile(&path, longer, &err), -1);
    CHECK(strstr(err.msg, "longer than 1024 bytes"));
    free(longer);
}

// A "$.." over a large document, and filters within filters, stop at
// the budget of visits.
static void s_test_budget(void)
{
    json_t *doc = json_array();
    for (int i = 0; i <= APEX_JSONPATH_MAX_VISITS; i++)
        json_array_append_new(doc, json_pack("{s:i}", "id", i));
    CHECK_EQ(s_count(doc, "$..id"), -1);
    CHECK_EQ(s_count(doc, "$[?(@.id < 3)]"), -1); // visits every element
    CHECK_EQ(s_count(doc, "$[5].id"), 1);
    CHECK_EQ(s_cond(doc, "$[?($[?($[?(@.id)])])]"), -1);
    json_decref(doc);
}

void test_jsonpath(bool verbose)
{
    (void)verbose;
    s_test_compile();
    s_test_eval();
    s_test_errors();
    s_test_filters();
    s_test_condition_errors();
    s_test_budget();
}
