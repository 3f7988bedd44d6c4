// tests/fuzz/fuzz_captures.c - apex_captures_apply() on any response a
// server under test could send, with a fixed scenario that has captures
// of every kind (JSON paths with keys, indexes, negative indexes and [*];
// headers; regexes with and without a group). Captured values then flow
// into templates, as on a worker, in plain and JSON mode.
//
// Input: the raw header block, a NUL byte, then the body. Without a NUL
// the whole input is both the header block and the body. A first byte
// of "\x01" means no header block is passed, "\x02" no body.
//
// Checked: a JSON body stays valid JSON whatever was captured, as long
// as the response was valid UTF-8.
#include <jansson.h>

#include "common/buf.h"
#include "common/scenario.h"
#include "tests/fuzz/fuzz.h"

static const char s_scenario[] =
    "{\"env\": {},"
    " \"users\": [{\"name\": \"U\", \"tasks\": ["
    "  {\"path\": \"/a\", \"capture\": {"
    "     \"id\": \"$.id\", \"any\": \"$.dags[*].id\", \"first\": \"$[0]\","
    "     \"last\": \"$.items[-1].name\", \"deep\": \"$.a.b[2][\\\"c d\\\"]\","
    "     \"quoted\": {\"json\": \"$['k\\\\'q'][-3]\"},"
    "     \"root\": \"$\", \"big\": \"$[9223372036854775807]\","
    "     \"small\": \"$[-9223372036854775808]\"}},"
    "  {\"path\": \"/b\", \"capture\": {"
    "     \"loc\": {\"header\": \"Location\"},"
    "     \"cookie\": {\"header\": \"set-cookie\"},"
    "     \"weird\": {\"header\": \"X-!#$%&'*+-.^_`|~\"}}},"
    "  {\"path\": \"/c\", \"capture\": {"
    "     \"num\": {\"regex\": \"id=([0-9]+)\"},"
    "     \"word\": {\"regex\": \"[a-z]+@[a-z]+\\\\.[a-z]{2,}\"},"
    "     \"opt\": {\"regex\": \"(x)?y\"},"
    "     \"anchor\": {\"regex\": \"^(.*)$\"}}},"
    "  {\"method\": \"POST\", \"path\": \"/${loc:-x}/${id}?q=${num}\","
    "   \"headers\": {\"X-Any\": \"${any:+[${any}]}\"},"
    "   \"query\": {\"w\": \"${word}\", \"o\": \"${opt:-none}\"},"
    "   \"json\": {\"id\": \"${id}\", \"d\": [\"${deep}\", \"${root}\"],"
    "            \"c\": \"${cookie}${weird}${quoted}${last}${first}\"}},"
    "  {\"path\": \"/d\", \"body\": \"${anchor}|${big}|${small}\"}"
    " ]}]}";

#define APEX_FUZZ_JSON_TASK 3 // the task above with a "json" body

static apex_scenario_t *s_sc; // parsed once, kept for the whole run

static const apex_scenario_t *s_scenario_get(void)
{
    if (!s_sc) {
        apex_error_t err = {""};
        s_sc = apex_scenario_parse(s_scenario, sizeof s_scenario - 1,
                                   "captures.json", &err);
        FUZZ_CHECK(s_sc, "the fixed scenario does not parse: %s", err.msg);
    }
    return s_sc;
}

// True when size bytes at text are valid UTF-8 (jansson's own check).
static bool s_utf8(const char *text, size_t size)
{
    json_t *s = json_stringn(text ? text : "", text ? size : 0);
    json_decref(s);
    return s != NULL;
}

static void s_expand(const apex_template_t *t, const apex_template_ctx_t *ctx,
                     apex_buf_t *out)
{
    if (t)
        apex_template_expand(t, ctx, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const apex_scenario_t *sc = s_scenario_get();
    const char *text = (const char *)data;
    bool no_headers = size > 0 && data[0] == 1;
    bool no_body = size > 0 && data[0] == 2;
    const char *nul = size ? memchr(text, '\0', size) : NULL;
    const char *headers = text, *body = text;
    size_t headers_size = size, body_size = size;
    if (nul) {
        headers_size = (size_t)(nul - text);
        body = nul + 1;
        body_size = size - headers_size - 1;
    }
    // Copies of exactly the right size, so ASan sees any overread.
    char *h = no_headers ? NULL : apex_calloc(1, headers_size + 1);
    char *b = no_body ? NULL : apex_calloc(1, body_size + 1);
    if (h)
        memcpy(h, headers, headers_size);
    if (b)
        memcpy(b, body, body_size);

    bool utf8 = s_utf8(h, headers_size) && s_utf8(b, body_size);
    char **vars = apex_calloc(sc->nvars + 1, sizeof *vars);
    uint64_t rng = 0x2545F4914F6CDD1DULL ^ size;
    apex_buf_t out;
    apex_buf_init(&out);
    const apex_user_class_t *u = &sc->users[0];
    for (size_t t = 0; t < u->ntasks; t++) {
        const apex_step_t *r = &u->tasks[t].steps[0];
        apex_error_t err = {""};
        int rc = apex_captures_apply(r, h, h ? headers_size : 0, b,
                                     b ? body_size : 0, vars, &rng, &err);
        FUZZ_CHECK(rc == 0 || apex_error_is_set(&err),
                   "failed without an error");
        apex_template_ctx_t ctx = {.vars = (const char *const *)vars,
                                   .rng = &rng};
        apex_buf_reset(&out);
        s_expand(r->http->path, &ctx, &out);
        for (size_t i = 0; i < r->http->nquery; i++)
            s_expand(r->http->query[i].value, &ctx, &out);
        for (size_t i = 0; i < r->http->nheaders; i++)
            s_expand(r->http->headers[i].value, &ctx, &out);
        size_t before = out.len;
        s_expand(r->http->body, &ctx, &out);
        if (t == APEX_FUZZ_JSON_TASK && utf8) {
            json_error_t jerr;
            json_t *doc =
                json_loadb(out.data + before, out.len - before, 0, &jerr);
            FUZZ_CHECK(doc, "JSON body is not JSON (%s): %s", jerr.text,
                       out.data + before);
            json_decref(doc);
        }
    }
    for (size_t i = 0; i < sc->nvars; i++)
        free(vars[i]);
    free(vars);
    apex_buf_fini(&out);
    free(h);
    free(b);
    return 0;
}
