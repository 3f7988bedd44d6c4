// common/template_expand.c - templates expanded per request (see
// template.h): literal segments copied, variables substituted (escaped
// in JSON mode, or with their own type for a segment that is a whole JSON
// string), the template functions, the built-ins and data cells; and the
// read-only questions the worker asks of a compiled template.
#include "common/template_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "common/rng.h"

#define APEX_RANDOM_CHARSET                                                    \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define APEX_RANDOM_CHARSET_LEN (sizeof APEX_RANDOM_CHARSET - 1)
#define APEX_UUID_VERSION_MASK 0xF000ULL // in the high word
#define APEX_UUID_VERSION_4 0x4000ULL
#define APEX_UUID_VARIANT_MASK 0xC000000000000000ULL // in the low word
#define APEX_UUID_VARIANT_RFC 0x8000000000000000ULL
#define APEX_UUID_NODE_MASK 0xFFFFFFFFFFFFULL // the last 48 bits
#define APEX_UUID_GROUP_MASK 0xFFFFu          // a 16-bit group
#define APEX_MSEC_PER_SEC 1000LL
#define APEX_NSEC_PER_MSEC 1000000L

// Append substituted text: escaped in JSON mode, as is otherwise.
void apex_template_put_value(apex_buf_t *out, const char *s, size_t len,
                             bool json)
{
    if (json)
        apex_json_escape(out, s, len);
    else
        apex_buf_append(out, s, len);
}

// A uniform integer in [lo, hi], without modulo bias.
static long long s_random_int(uint64_t *rng, long long lo, long long hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo; // range - 1
    if (span == UINT64_MAX)
        return (long long)((uint64_t)lo + apex_rng_next(rng));
    return (long long)((uint64_t)lo + apex_rng_below(rng, span + 1));
}

static void s_put_uuid(apex_buf_t *out, uint64_t *rng)
{
    uint64_t hi = apex_rng_next(rng);
    uint64_t lo = apex_rng_next(rng);
    hi = (hi & ~APEX_UUID_VERSION_MASK) | APEX_UUID_VERSION_4;
    lo = (lo & ~APEX_UUID_VARIANT_MASK) | APEX_UUID_VARIANT_RFC;
    apex_buf_printf(out, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
                    (unsigned)(hi >> 16) & APEX_UUID_GROUP_MASK,
                    (unsigned)hi & APEX_UUID_GROUP_MASK, (unsigned)(lo >> 48),
                    (unsigned long long)(lo & APEX_UUID_NODE_MASK));
}

static void s_put_func(apex_buf_t *out, const apex_tseg_t *seg, uint64_t *rng)
{
    switch (seg->func) {
    case APEX_FN_UUID:
        s_put_uuid(out, rng);
        break;
    case APEX_FN_RANDOM_INT:
        apex_buf_printf(out, "%lld",
                        s_random_int(rng, seg->args[0], seg->args[1]));
        break;
    case APEX_FN_RANDOM_STRING:
        for (long long i = 0; i < seg->args[0]; i++)
            apex_buf_putc(out, APEX_RANDOM_CHARSET[apex_rng_next(rng) %
                                                   APEX_RANDOM_CHARSET_LEN]);
        break;
    case APEX_FN_NOW_MS: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        apex_buf_printf(out, "%lld",
                        (long long)ts.tv_sec * APEX_MSEC_PER_SEC +
                            ts.tv_nsec / APEX_NSEC_PER_MSEC);
        break;
    }
    }
}

// Append a value: a typed segment writes JSON as is and a string
// quoted; otherwise as apex_template_put_value() does.
static void s_put_typed(apex_buf_t *out, const char *s, bool json_text,
                        bool typed, bool json_mode)
{
    if (typed && json_text) {
        apex_buf_puts(out, s);
        return;
    }
    if (typed)
        apex_buf_putc(out, '"');
    apex_template_put_value(out, s, strlen(s), json_mode);
    if (typed)
        apex_buf_putc(out, '"');
}

static int64_t s_builtin_value(const apex_tseg_t *seg,
                               const apex_template_ctx_t *ctx)
{
    const apex_template_user_t *u = ctx->user;
    if (!u)
        return 0;
    return seg->builtin == APEX_BUILTIN_USER_INDEX     ? u->user_index
           : seg->builtin == APEX_BUILTIN_WORKER_INDEX ? u->worker_index
                                                       : u->iteration;
}

static void s_expand_var(const apex_template_t *self, const apex_tseg_t *seg,
                         const apex_template_ctx_t *ctx, apex_buf_t *out)
{
    const char *value = ctx->vars ? ctx->vars[seg->slot] : NULL;
    bool set = value && value[0] != '\0';
    if (seg->op == APEX_VAR_PLAIN || (seg->op == APEX_VAR_DEFAULT && set)) {
        bool json = value && ctx->vars_json && ctx->vars_json[seg->slot];
        s_put_typed(out, value ? value : "", json, seg->typed, self->json);
    } else if (seg->op == APEX_VAR_DEFAULT || set) {
        if (seg->typed)
            apex_buf_putc(out, '"');
        apex_template_expand(seg->sub, ctx, out);
        if (seg->typed)
            apex_buf_putc(out, '"');
    } else if (seg->typed) {
        apex_buf_puts(out, "\"\"");
    }
}

static void s_expand_seg(const apex_template_t *self, const apex_tseg_t *seg,
                         const apex_template_ctx_t *ctx, apex_buf_t *out)
{
    const apex_value_t *row;
    switch (seg->kind) {
    case APEX_SEG_LITERAL:
        apex_buf_append(out, seg->text, seg->len);
        break;
    case APEX_SEG_FUNC: {
        bool number =
            seg->func == APEX_FN_RANDOM_INT || seg->func == APEX_FN_NOW_MS;
        bool quote = seg->typed && !number;
        if (quote)
            apex_buf_putc(out, '"');
        s_put_func(out, seg, ctx->rng);
        if (quote)
            apex_buf_putc(out, '"');
        break;
    }
    case APEX_SEG_BUILTIN:
        apex_buf_printf(out, "%" PRId64, s_builtin_value(seg, ctx));
        break;
    case APEX_SEG_DATA:
        row = ctx->user && ctx->user->rows ? ctx->user->rows[seg->set] : NULL;
        s_put_typed(out, row ? row[seg->column].text : "",
                    row && row[seg->column].json, seg->typed, self->json);
        break;
    case APEX_SEG_VAR:
        s_expand_var(self, seg, ctx, out);
        break;
    }
}

void apex_template_expand(const apex_template_t *self,
                          const apex_template_ctx_t *ctx, apex_buf_t *out)
{
    assert(self && out);
    if (self->constant) {
        apex_buf_append(out, self->constant, self->constlen);
        return;
    }
    assert(ctx);
    for (size_t i = 0; i < self->nsegs; i++)
        s_expand_seg(self, &self->segs[i], ctx, out);
}

const char *apex_template_unset(const apex_template_t *self,
                                const apex_template_ctx_t *ctx)
{
    assert(self && ctx);
    for (size_t i = 0; i < self->nsegs; i++) {
        const apex_tseg_t *seg = &self->segs[i];
        if (seg->kind != APEX_SEG_VAR)
            continue;
        const char *value = ctx->vars ? ctx->vars[seg->slot] : NULL;
        bool set = value && value[0] != '\0';
        const char *inner = NULL;
        if (seg->op == APEX_VAR_PLAIN && !value)
            return seg->name;
        if ((seg->op == APEX_VAR_DEFAULT && !set) ||
            (seg->op == APEX_VAR_ALT && set))
            inner = apex_template_unset(seg->sub, ctx);
        if (inner)
            return inner;
    }
    return NULL;
}

bool apex_template_has_vars(const apex_template_t *self)
{
    assert(self);
    for (size_t i = 0; i < self->nsegs; i++)
        if (self->segs[i].kind == APEX_SEG_VAR)
            return true;
    return false;
}

const char *apex_template_constant(const apex_template_t *self)
{
    assert(self);
    return self->constant;
}

const char *apex_template_lead(const apex_template_t *self)
{
    assert(self);
    if (self->nsegs == 0)
        return self->constant;
    if (self->segs[0].kind != APEX_SEG_LITERAL)
        return NULL;
    return self->segs[0].text;
}

const char *apex_template_display(const apex_template_t *self)
{
    assert(self);
    return self->display;
}
