// tests/unit/test_jsonpath.c - JSON paths (common/jsonpath.c): every
// kind of step compiled, evaluated on documents of the expected shape
// and of every other shape, negative and huge indexes, [*] drawing every
// element, and the message (with its offset) of every kind of bad path.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

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
    s_check_error("$.a..b", "bad JSON path \"$.a..b\": expected a key after "
                            "\".\" at offset 4");
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

void test_jsonpath(bool verbose)
{
    (void)verbose;
    s_test_compile();
    s_test_eval();
    s_test_errors();
}
