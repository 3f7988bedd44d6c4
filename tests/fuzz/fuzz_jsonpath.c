// tests/fuzz/fuzz_jsonpath.c - JSON paths and conditions (filters,
// length(), recursive descent, comparisons) compiled from any text and
// evaluated on any document a server under test could send.
//
// Input: the first line is a path (or, when it starts with "?", a
// condition: the rest of the line); the rest is the document. Checked:
// a failed compile says why; an evaluation stays within its budget of
// visits; every node found can be printed as text.
#include <jansson.h>

#include "common/json.h"
#include "common/jsonpath.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = size ? memchr(text, '\n', size) : NULL;
    size_t first = nl ? (size_t)(nl - text) : size;
    char *expr = apex_strndup(text, first);
    json_t *doc =
        nl ? json_loadb(nl + 1, size - first - 1, JSON_DECODE_ANY, NULL) : NULL;
    apex_error_t err = {""};
    if (expr[0] == '?') {
        apex_jsonpath_expr_t *e = apex_jsonpath_expr_compile(expr + 1, &err);
        FUZZ_CHECK(e || apex_error_is_set(&err), "failed without an error");
        if (e) {
            int v = apex_jsonpath_expr_eval(e, doc);
            FUZZ_CHECK(v >= -1 && v <= 1, "condition gave %d", v);
        }
        apex_jsonpath_expr_destroy(&e);
    } else {
        apex_jsonpath_t path = {NULL, 0};
        if (apex_jsonpath_compile(&path, expr, &err) == 0) {
            apex_jsonpath_nodes_t nodes;
            apex_jsonpath_nodes_init(&nodes);
            int rc = apex_jsonpath_query(&path, doc, &nodes);
            FUZZ_CHECK(rc == -1 || nodes.visits <= APEX_JSONPATH_MAX_VISITS,
                       "%zu visits", nodes.visits);
            for (size_t i = 0; i < nodes.n; i++)
                free(apex_json_text(nodes.nodes[i]));
            apex_jsonpath_nodes_fini(&nodes);
            uint64_t rng = 0x2545F4914F6CDD1DULL;
            apex_jsonpath_eval(&path, doc, &rng);
        } else {
            FUZZ_CHECK(apex_error_is_set(&err), "failed without an error");
        }
        apex_jsonpath_fini(&path);
    }
    json_decref(doc);
    free(expr);
    return 0;
}
