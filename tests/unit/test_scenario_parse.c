// tests/unit/test_scenario_parse.c - the scenario loader's shared
// helpers (common/scenario_parse.c, internal to the loader): the JSON
// path of the node being parsed, the messages that name it (cut like any
// error), key and integer checks, names and tokens, variable slots, and
// templates compiled in a scenario's scope with the environment recorded
// for the wire text.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/scenario_parse.h"

#define S_LONG_VALUE 200 // bytes of a value longer than an excerpt

// A parser on an empty scenario called "t.json" with variables x and y.
static apex_scenario_t *s_scenario(void)
{
    apex_scenario_t *sc = apex_calloc(1, sizeof *sc);
    sc->origin = apex_strdup("t.json");
    sc->nvars = 2;
    sc->vars = apex_calloc(sc->nvars, sizeof *sc->vars);
    sc->vars[0] = apex_strdup("x");
    sc->vars[1] = apex_strdup("y");
    return sc;
}

static void s_test_path_and_errors(void)
{
    apex_scenario_t *sc = s_scenario();
    apex_error_t err = {""};
    apex_parser_t p;
    apex_parser_init(&p, sc, &err);
    CHECK_STR(apex_buf_str(&p.path), "$");
    size_t root = apex_parse_path_key(&p, "users");
    CHECK_EQ(root, 1);
    apex_parse_path_index(&p, 3);
    size_t mid = apex_parse_path_key(&p, "a b\"c");
    CHECK_STR(apex_buf_str(&p.path), "$.users[3][\"a b\\\"c\"]");
    CHECK_EQ(apex_parse_fail(&p, "bad %d", 7), -1);
    CHECK_STR(err.msg, "t.json: $.users[3][\"a b\\\"c\"]: bad 7");
    apex_parse_path_restore(&p, mid);
    CHECK_STR(apex_buf_str(&p.path), "$.users[3]");

    json_t *v = json_pack("{s:i}", "k", 5);
    CHECK_EQ(apex_parse_fail_got(&p, v, "a list"), -1);
    CHECK_STR(err.msg, "t.json: $.users[3]: expected a list, got {\"k\":5}");
    char long_text[S_LONG_VALUE + 1];
    memset(long_text, 'z', S_LONG_VALUE);
    long_text[S_LONG_VALUE] = '\0';
    json_t *s = json_string(long_text);
    apex_parse_fail_got(&p, s, "short");
    CHECK(strstr(err.msg, "expected short, got \"zzz"));
    CHECK_EQ(strlen(strstr(err.msg, "got ")),
             strlen("got ") + APEX_ERROR_EXCERPT + strlen("..."));
    json_decref(s);
    CHECK_EQ(apex_parse_fail_missing(&p, "name", "a name"), -1);
    CHECK_STR(err.msg, "t.json: $.users[3].name: missing (expected a name)");
    apex_parse_path_restore(&p, root);

    // A message longer than the error buffer is cut, not overrun.
    apex_parse_fail(&p, "%s%s%s", long_text, long_text, long_text);
    CHECK_EQ(strlen(err.msg), APEX_ERROR_MAX - 1);

    // Integers: JSON integers in range only.
    long long out = 0;
    json_t *n = json_integer(10);
    CHECK_EQ(apex_parse_get_int(&p, n, 1, 10, &out), 0);
    CHECK_EQ(out, 10);
    CHECK_EQ(apex_parse_get_int(&p, n, 1, 9, &out), -1);
    CHECK_STR(err.msg, "t.json: $: expected an integer from 1 to 9, got 10");
    json_t *r = json_real(1.0);
    CHECK_EQ(apex_parse_get_int(&p, r, 0, 2, &out), -1);
    CHECK_STR(err.msg, "t.json: $: expected an integer from 0 to 2, got 1.0");

    // Keys: two lists, both named in the message.
    static const char *const allowed[] = {"k", NULL};
    static const char *const more[] = {"m", "o", NULL};
    CHECK_EQ(apex_parse_check_keys(&p, v, allowed, NULL), 0);
    json_object_set_new(v, "o", json_true());
    CHECK_EQ(apex_parse_check_keys(&p, v, allowed, more), 0);
    CHECK_EQ(apex_parse_check_keys(&p, v, allowed, NULL), -1);
    CHECK_STR(err.msg, "t.json: $.o: unknown key (expected one of: k)");
    json_object_set_new(v, "zz", json_true());
    apex_parse_path_restore(&p, root);
    CHECK_EQ(apex_parse_check_keys(&p, v, allowed, more), -1);
    CHECK_STR(err.msg, "t.json: $.zz: unknown key (expected one of: k, m, o)");
    json_decref(v);
    json_decref(n);
    json_decref(r);

    apex_parser_fini(&p);
    apex_scenario_destroy(&sc);
}

static void s_test_names(void)
{
    CHECK(apex_parse_is_name("_a1") && apex_parse_is_name("Z"));
    CHECK(!apex_parse_is_name("") && !apex_parse_is_name("1a"));
    CHECK(!apex_parse_is_name("a-b") && !apex_parse_is_name("a b"));
    CHECK(apex_parse_is_token("X-Trace_1!#$%&'*+.^`|~"));
    CHECK(!apex_parse_is_token("") && !apex_parse_is_token("a b"));
    CHECK(!apex_parse_is_token("a:b") && !apex_parse_is_token("\xc3\xa9"));
    static const char *const list[] = {"one", "two", NULL};
    CHECK(apex_parse_in_list("two", list) && !apex_parse_in_list("tw", list));
}

static void s_test_templates(void)
{
    apex_scenario_t *sc = s_scenario();
    apex_error_t err = {""};
    apex_parser_t p;
    apex_parser_init(&p, sc, &err);
    CHECK_EQ(apex_parse_var_slot(&p, "y", 1), 1);
    CHECK_EQ(apex_parse_var_slot(&p, "xy", 1), 0); // a prefix of length 1
    CHECK_EQ(apex_parse_var_slot(&p, "xy", 2), -1);

    // The process environment, recorded with unset names as null.
    setenv("APEX_T_P", "v", 1);
    unsetenv("APEX_T_Q");
    apex_template_t *t =
        apex_parse_template(&p, "${APEX_T_P}${APEX_T_Q:-}/${x}", false);
    CHECK(t);
    CHECK_STR(apex_template_display(t), "v/{x}");
    apex_template_destroy(&t);
    CHECK_STR(json_string_value(json_object_get(p.used_env, "APEX_T_P")), "v");
    CHECK(json_is_null(json_object_get(p.used_env, "APEX_T_Q")));

    // Errors name the path; the environment must be UTF-8.
    apex_parse_path_key(&p, "body");
    CHECK(apex_parse_template(&p, "${x", false) == NULL);
    CHECK_STR(err.msg, "t.json: $.body: unterminated \"${\" in \"${x\"");
    setenv("APEX_T_BAD", "\xff", 1);
    CHECK(apex_parse_template(&p, "${APEX_T_BAD}", false) == NULL);
    CHECK_STR(err.msg, "t.json: $.body: environment variable APEX_T_BAD is "
                       "not valid UTF-8");
    unsetenv("APEX_T_BAD");

    // An "env" object replaces the process environment.
    json_t *env = json_pack("{s:s}", "APEX_T_Q", "from-env");
    p.env = env;
    t = apex_parse_template(&p, "${APEX_T_Q}${APEX_T_P:-none}", false);
    CHECK_STR(apex_template_constant(t), "from-envnone");
    apex_template_destroy(&t);
    json_decref(env);
    apex_parser_fini(&p);
    apex_parser_fini(&p); // twice
    apex_scenario_destroy(&sc);
}

void test_scenario_parse(bool verbose)
{
    (void)verbose;
    s_test_path_and_errors();
    s_test_names();
    s_test_templates();
}
