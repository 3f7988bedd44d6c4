// tests/unit/test_lua_json.c - JSON for scripts (common/lua_json.c):
// decode and encode round trips (types, null, empty and marked arrays,
// nesting), and the errors of values JSON cannot hold, with their paths.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "common/lua_json.h"
#include "common/lua_sandbox.h"

// Run src (a chunk returning one string) and compare its result.
static void s_expect(lua_State *L, const char *src, const char *want)
{
    apex_error_t err = {""};
    CHECK_EQ(apex_lua_load(L, src, strlen(src), "t.lua", &err), 0);
    int rc = lua_pcall(L, 0, 1, 0);
    const char *got = lua_tostring(L, -1);
    if (rc != LUA_OK || !got || strcmp(got, want) != 0)
        printf("  %s\n  got:  %s\n  want: %s\n", src, got ? got : "?", want);
    CHECK(rc == LUA_OK && got && strcmp(got, want) == 0);
    lua_pop(L, 1);
}

void test_lua_json(bool verbose)
{
    (void)verbose;
    apex_error_t err = {""};
    apex_lua_t *sb = apex_lua_new(&err);
    CHECK(sb);
    lua_State *L = apex_lua_state(sb);
    apex_lua_json_open(L);
    lua_setglobal(L, "json");
    s_expect(L, "return json.encode({1, 2.5, 'x', true})",
             "[1,2.5,\"x\",true]");
    s_expect(L, "return json.encode({a = {b = json.null}})",
             "{\"a\":{\"b\":null}}");
    s_expect(L, "return json.encode({})", "{}");
    s_expect(L, "return json.encode(json.array())", "[]");
    s_expect(L, "return json.encode(json.decode('{\"x\": []}'))", "{\"x\":[]}");
    s_expect(L,
             "local v = json.decode('[1, 2, {\"a\": \"\\\\u00e9\"}]')"
             " return v[3].a .. #v",
             "\xc3\xa9"
             "3");
    s_expect(L, "return tostring(json.decode('null') == json.null)", "true");
    s_expect(L, "return json.encode('a\\0b')", "\"a\\u0000b\"");
    s_expect(L,
             "local t = json.decode(json.encode({[1] = 'a', [3] = 'c'}))"
             " return t['1'] .. t['3']",
             "ac");
    s_expect(L, "return select(2, pcall(json.encode, {f = print}))",
             "apex.json.encode: $.f: function");
    s_expect(L, "return select(2, pcall(json.encode, {1, 0/0}))",
             "apex.json.encode: $[1]: NaN or infinity cannot be JSON");
    s_expect(L,
             "local t = {} t.t = t "
             "return select(2, pcall(json.encode, t)):sub(1, 40)",
             "apex.json.encode: $.t.t.t.t.t.t.t.t.t.t.");
    s_expect(L, "return select(2, pcall(json.decode, '{'))",
             "apex.json.decode: line 1, column 1: string or '}' expected "
             "near end of file");
    CHECK_EQ(apex_lua_json_decode(L, "[1", 2, &err), -1);
    CHECK(strstr(err.msg, "line 1"));
    lua_newtable(L);
    lua_pushcfunction(L, apex_lua_traceback);
    json_t *v = apex_lua_json_from(L, -1, &err);
    CHECK(v == NULL);
    CHECK(strstr(err.msg, "$: function"));
    lua_pop(L, 2);
    apex_lua_destroy(&sb);
}
