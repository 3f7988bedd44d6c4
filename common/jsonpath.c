// common/jsonpath.c - see jsonpath.h. The compiler reads the path once,
// left to right, into an array of steps: a key (unquoted keys run to the
// next "." or "["), an index (strtol, so it fits a long) or ANY. The
// evaluator walks the steps from the root with jansson's lookups, which
// return NULL for a key on a non-object, so a path never faults on a
// document of another shape; [*] draws from the caller's PRNG, so a
// user's choices replay with its seed.
#include "common/jsonpath.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/rng.h"

static apex_jsonpath_step_t *s_add(apex_jsonpath_t *self,
                                   apex_jsonpath_kind_t kind)
{
    self->steps =
        apex_realloc(self->steps, self->nsteps + 1, sizeof *self->steps);
    apex_jsonpath_step_t *step = &self->steps[self->nsteps++];
    memset(step, 0, sizeof *step);
    step->kind = kind;
    return step;
}

static int s_fail(apex_jsonpath_t *self, const char *expr, size_t at,
                  const char *what, apex_error_t *err)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    apex_error_quote(expr, quoted, sizeof quoted);
    apex_jsonpath_fini(self);
    return apex_error_set(err, "bad JSON path %s: %s at offset %zu", quoted,
                          what, at);
}

// ["key"] or ['key'] at e + *i; *i moves past the "]".
static int s_quoted_key(apex_jsonpath_t *self, const char *e, size_t *i,
                        apex_error_t *err)
{
    char quote = e[*i + 1];
    apex_buf_t key;
    apex_buf_init(&key);
    size_t at = *i + 2;
    for (; e[at] && e[at] != quote; at++) {
        if (e[at] == '\\' && e[at + 1])
            at++;
        apex_buf_putc(&key, e[at]);
    }
    if (e[at] != quote || e[at + 1] != ']') {
        apex_buf_fini(&key);
        return s_fail(self, e, at, "expected a quoted key, then \"]\"", err);
    }
    s_add(self, APEX_JSONPATH_KEY)->key = apex_buf_take(&key);
    *i = at + 2;
    return 0;
}

// [3] or [-1] at e + *i; *i moves past the "]".
static int s_index(apex_jsonpath_t *self, const char *e, size_t *i,
                   apex_error_t *err)
{
    const char *digits = e + *i + 1;
    bool ok = (*digits >= '0' && *digits <= '9') ||
              (*digits == '-' && digits[1] >= '0' && digits[1] <= '9');
    char *end = (char *)digits;
    errno = 0;
    long index = ok ? strtol(digits, &end, 10) : 0;
    if (!ok || errno != 0)
        return s_fail(self, e, *i + 1,
                      "expected an index, \"*\" or a quoted key", err);
    if (*end != ']')
        return s_fail(self, e, (size_t)(end - e), "expected \"]\"", err);
    s_add(self, APEX_JSONPATH_INDEX)->index = index;
    *i = (size_t)(end - e) + 1;
    return 0;
}

int apex_jsonpath_compile(apex_jsonpath_t *self, const char *expr,
                          apex_error_t *err)
{
    assert(self && expr && self->nsteps == 0);
    const char *e = expr;
    if (e[0] != '$')
        return s_fail(self, e, 0, "expected \"$\"", err);
    size_t i = 1;
    while (e[i]) {
        int rc = 0;
        if (e[i] == '.') {
            size_t start = ++i;
            while (e[i] && e[i] != '.' && e[i] != '[')
                i++;
            if (i == start)
                return s_fail(self, e, i, "expected a key after \".\"", err);
            s_add(self, APEX_JSONPATH_KEY)->key =
                apex_strndup(e + start, i - start);
        } else if (e[i] != '[') {
            return s_fail(self, e, i, "expected \".\" or \"[\"", err);
        } else if (e[i + 1] == '*' && e[i + 2] == ']') {
            s_add(self, APEX_JSONPATH_ANY);
            i += 3;
        } else if (e[i + 1] == '"' || e[i + 1] == '\'') {
            rc = s_quoted_key(self, e, &i, err);
        } else {
            rc = s_index(self, e, &i, err);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

void apex_jsonpath_fini(apex_jsonpath_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->nsteps; i++)
        free(self->steps[i].key);
    free(self->steps);
    self->steps = NULL;
    self->nsteps = 0;
}

const json_t *apex_jsonpath_eval(const apex_jsonpath_t *self,
                                 const json_t *root, uint64_t *rng)
{
    assert(self);
    const json_t *cur = root;
    for (size_t i = 0; cur && i < self->nsteps; i++) {
        const apex_jsonpath_step_t *step = &self->steps[i];
        if (step->kind == APEX_JSONPATH_KEY) {
            cur = json_object_get(cur, step->key); // NULL for non-objects
            continue;
        }
        if (!json_is_array(cur))
            return NULL;
        long long n = (long long)json_array_size(cur);
        long long at = step->index;
        if (step->kind == APEX_JSONPATH_ANY) {
            if (n == 0)
                return NULL;
            assert(rng);
            at = (long long)(apex_rng_next(rng) % (uint64_t)n);
        } else if (at < 0) {
            at += n;
        }
        if (at < 0 || at >= n)
            return NULL;
        cur = json_array_get(cur, (size_t)at);
    }
    return cur;
}
