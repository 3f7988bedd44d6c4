// tests/unit/test_alloc.c - allocation that never returns NULL: zeroed
// calloc (also of zero bytes), realloc that keeps the contents, strdup
// and strndup (embedded bytes, NULL), sprintf of short and long text.
// Out of memory aborts by design, so it is not exercised here.
#include "tests/unit/tests.h"

#include "common/alloc.h"

void test_alloc(bool verbose)
{
    (void)verbose;
    // calloc: zeroed, and a usable pointer even for zero bytes.
    unsigned char *p = apex_calloc(1000, 3);
    for (size_t i = 0; i < 3000; i++)
        CHECK_EQ(p[i], 0);
    memset(p, 0xab, 3000);
    free(p);
    void *zero = apex_calloc(0, 0);
    CHECK(zero != NULL);
    free(zero);
    zero = apex_calloc(0, 8);
    CHECK(zero != NULL);
    free(zero);

    // realloc keeps the contents while growing and shrinking.
    uint32_t *v = apex_realloc(NULL, 4, sizeof *v);
    for (uint32_t i = 0; i < 4; i++)
        v[i] = i * 7;
    v = apex_realloc(v, 100000, sizeof *v);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_EQ(v[i], i * 7);
    v[99999] = 1;
    v = apex_realloc(v, 2, sizeof *v);
    CHECK_EQ(v[0], 0);
    CHECK_EQ(v[1], 7);
    v = apex_realloc(v, 0, sizeof *v); // zero bytes: still a valid block
    CHECK(v != NULL);
    free(v);

    // strdup / strndup.
    char *s = apex_strdup("apex");
    CHECK_STR(s, "apex");
    free(s);
    CHECK(apex_strdup(NULL) == NULL);
    s = apex_strdup("");
    CHECK_STR(s, "");
    free(s);
    s = apex_strndup("GET /health", 3);
    CHECK_STR(s, "GET");
    free(s);
    s = apex_strndup("", 0);
    CHECK_STR(s, "");
    free(s);
    // strndup copies exactly len bytes, even past an embedded NUL.
    s = apex_strndup("a\0b", 3);
    CHECK_EQ(s[0], 'a');
    CHECK_EQ(s[1], '\0');
    CHECK_EQ(s[2], 'b');
    CHECK_EQ(s[3], '\0');
    free(s);

    // sprintf: short, empty and long results.
    s = apex_sprintf("%s_%08x", "vm", 0xc77b0aa5u);
    CHECK_STR(s, "vm_c77b0aa5");
    free(s);
    s = apex_sprintf("%s", "");
    CHECK_STR(s, "");
    free(s);
    s = apex_sprintf("%05000d", 1);
    CHECK_EQ(strlen(s), 5000);
    CHECK_EQ(s[0], '0');
    CHECK_EQ(s[4999], '1');
    free(s);
}
