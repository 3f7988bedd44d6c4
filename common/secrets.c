// common/secrets.c - see secrets.h.
//
// The values are kept longest first, so a value that contains another is
// masked whole. Masking scans the text once per value with memmem():
// texts are short (names, failure texts, log lines) and values few, and
// the masked text only shrinks, so the scan writes as it reads.
#include "common/secrets.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

struct apex_secrets {
    char **values; // masked values, longest first
    size_t n;      // their number
    char *sent;    // "A, B": the variables sent with a value, or NULL
};

static int s_longest_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

// Add value unless the rules leave it out or it is there already.
static void s_add(apex_secrets_t *self, size_t cap, const char *value,
                  const char *host)
{
    if (!value || strlen(value) < APEX_SECRET_MIN || self->n >= cap)
        return;
    if (host && strcmp(value, host) == 0 && !strchr(value, '@'))
        return;
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->values[i], value) == 0)
            return;
    self->values[self->n++] = apex_strdup(value);
}

apex_secrets_t *apex_secrets_from(const char *const *values, size_t n,
                                  const char *host)
{
    apex_secrets_t *self = apex_calloc(1, sizeof *self);
    self->values = apex_calloc(n + 1, sizeof *self->values);
    for (size_t i = 0; i < n; i++)
        s_add(self, n, values[i], host);
    qsort(self->values, self->n, sizeof *self->values, s_longest_first);
    return self;
}

apex_secrets_t *apex_secrets_new(const apex_scenario_t *sc, const char *host)
{
    json_t *root = sc && sc->wire ? json_loads(sc->wire, 0, NULL) : NULL;
    json_t *env = json_object_get(root, "env");
    size_t n = json_is_object(env) ? json_object_size(env) : 0;
    const char **values = apex_calloc(n + 1, sizeof *values);
    apex_buf_t names;
    apex_buf_init(&names);
    size_t k = 0;
    const char *key;
    json_t *value;
    json_object_foreach(env, key, value)
    {
        if (!json_is_string(value))
            continue;
        values[k++] = json_string_value(value);
        apex_buf_printf(&names, "%s%s", names.len ? ", " : "", key);
    }
    apex_secrets_t *self = apex_secrets_from(values, k, host);
    self->sent = names.len ? apex_buf_take(&names) : NULL;
    apex_buf_fini(&names);
    free(values);
    json_decref(root);
    return self;
}

void apex_secrets_destroy(apex_secrets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    apex_secrets_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->values[i]);
    free(self->values);
    free(self->sent);
    free(self);
    *self_p = NULL;
}

size_t apex_secrets_count(const apex_secrets_t *self)
{
    return self ? self->n : 0;
}

char *apex_secrets_sent(const apex_secrets_t *self)
{
    return self && self->sent ? apex_strdup(self->sent) : NULL;
}

// Replace value in text, in place; true when it was there.
static bool s_mask_one(char *text, const char *value)
{
    size_t vlen = strlen(value), mlen = strlen(APEX_SECRET_MASK);
    size_t len = strlen(text);
    char *found = memmem(text, len, value, vlen);
    if (!found)
        return false;
    char *out = found;
    const char *in = found;
    const char *end = text + len;
    while (in < end) {
        if ((size_t)(end - in) >= vlen && memcmp(in, value, vlen) == 0) {
            memcpy(out, APEX_SECRET_MASK, mlen);
            out += mlen;
            in += vlen;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return true;
}

bool apex_secrets_mask_in_place(const apex_secrets_t *self, char *text)
{
    if (!self || !text)
        return false;
    bool changed = false;
    for (size_t i = 0; i < self->n; i++)
        changed |= s_mask_one(text, self->values[i]);
    return changed;
}

char *apex_secrets_mask(const apex_secrets_t *self, const char *text)
{
    if (!text)
        return NULL;
    char *copy = apex_strdup(text);
    apex_secrets_mask_in_place(self, copy);
    return copy;
}

bool apex_secrets_mask_fn(const void *arg, char *text)
{
    return apex_secrets_mask_in_place(arg, text);
}
