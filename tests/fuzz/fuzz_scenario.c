// tests/fuzz/fuzz_scenario.c - apex_scenario_parse() on any bytes (a
// scenario file, or the "apex_scenario" a master sends in spawn). A parsed
// scenario is then used as the programs use it:
//   - its wire text (what the master sends) must parse again, to the same
//     classes and variables (what a worker does);
//   - the master reads its "shape" and "thresholds" nodes, and filters it
//     by tags (--tags / --exclude-tags): never more tasks than before;
//   - every template is expanded with variables unset, empty and set to
//     text that needs escaping, and every capture is applied to a small
//     fixed response, and to the rows of a small SQL result (what a
//     worker's users do).
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "common/buf.h"
#include "common/scenario.h"
#include "master/shape.h"
#include "master/thresholds.h"
#include "tests/fuzz/fuzz.h"

static const char s_headers[] = "HTTP/1.1 201 Created\r\n"
                                "Location: /api/v1/tasks/7\r\n"
                                "X-Id: 42\r\n"
                                "\r\n";
static const char s_body[] =
    "{\"id\": 7, \"dags\": [{\"id\": \"a\"}, {\"id\": 2.5}], "
    "\"x\": {\"y\": [true, null, \"q\\\"\"]}, \"n\": -1e300}";

static void s_expand(const apex_template_t *t, const apex_template_ctx_t *ctx,
                     apex_buf_t *out)
{
    if (!t)
        return;
    apex_buf_reset(out);
    apex_template_expand(t, ctx, out);
    (void)apex_template_constant(t);
    FUZZ_CHECK(apex_template_display(t), "template without display text");
}

// Every template an HTTP step sends, expanded with ctx.
static void s_expand_http(const apex_step_t *r, const apex_template_ctx_t *ctx,
                          apex_buf_t *out)
{
    FUZZ_CHECK(r->http->method && r->http->path, "request without %s",
               !r->http->method ? "method" : "path");
    s_expand(r->http->path, ctx, out);
    for (size_t i = 0; i < r->http->nquery; i++)
        s_expand(r->http->query[i].value, ctx, out);
    for (size_t i = 0; i < r->http->nheaders; i++)
        s_expand(r->http->headers[i].value, ctx, out);
    s_expand(r->http->body, ctx, out);
}

// A small SQL result: columns id and v, a NULL in the second row.
static const char *const s_cells[2][2] = {{"7", "a"}, {"8", NULL}};

static int s_row_get(const void *arg, size_t row, const char *name,
                     const char **value)
{
    (void)arg;
    FUZZ_CHECK(row < 2, "row %zu of 2", row);
    int col = strcmp(name, "id") == 0 ? 0 : strcmp(name, "v") == 0 ? 1 : -1;
    if (col < 0)
        return 0;
    *value = s_cells[row][col];
    return *value ? 1 : -1;
}

// Every parameter an SQL step binds.
static void s_expand_sql(const apex_step_t *r, const apex_template_ctx_t *ctx,
                         apex_buf_t *out)
{
    FUZZ_CHECK(r->sql->query && r->sql->query[0] && r->sql->database,
               "SQL step without a query or a database");
    FUZZ_CHECK(!r->sql->has_expect || r->sql->min_rows <= r->sql->max_rows,
               "expect_rows %" PRIu64 " > %" PRIu64, r->sql->min_rows,
               r->sql->max_rows);
    for (size_t i = 0; i < r->sql->nparams; i++)
        s_expand(r->sql->params[i], ctx, out);
}

// Every template a WebSocket step sends.
static void s_expand_ws(const apex_step_t *r, const apex_template_ctx_t *ctx,
                        apex_buf_t *out)
{
    FUZZ_CHECK(r->ws->op != APEX_WS_CONNECT || r->ws->url,
               "ws connect without a URL");
    s_expand(r->ws->url, ctx, out);
    for (size_t i = 0; i < r->ws->nheaders; i++)
        s_expand(r->ws->headers[i].value, ctx, out);
    s_expand(r->ws->message, ctx, out);
}

static void s_use_request(const apex_scenario_t *sc, const apex_step_t *r,
                          char **vars, uint64_t *rng, apex_buf_t *out)
{
    FUZZ_CHECK(r->name && r->type, "step without %s",
               !r->name ? "name" : "type");
    bool passed[APEX_CHECK_MAX_PER_STEP];
    (void)apex_checks_apply(r, s_headers, sizeof s_headers - 1, s_body,
                            sizeof s_body - 1, passed);
    if (r->kind == APEX_STEP_SLEEP)
        return; // nothing to expand
    FUZZ_CHECK(r->kind == APEX_STEP_HTTP ? r->http != NULL
               : r->kind == APEX_STEP_WS ? r->ws != NULL
                                         : r->sql != NULL,
               "step of kind %d without its part", (int)r->kind);
    for (int pass = 0; pass < 3; pass++) {
        // Pass 0: every variable unset; 1: empty; 2: set to hostile text.
        for (size_t i = 0; i < sc->nvars; i++) {
            free(vars[i]);
            vars[i] = pass == 0   ? NULL
                      : pass == 1 ? apex_strdup("")
                                  : apex_strdup("\"\\\n\x01${x}$$%s{}");
        }
        apex_template_ctx_t ctx = {.vars = (const char *const *)vars,
                                   .rng = rng};
        if (r->kind == APEX_STEP_HTTP)
            s_expand_http(r, &ctx, out);
        else if (r->kind == APEX_STEP_WS)
            s_expand_ws(r, &ctx, out);
        else
            s_expand_sql(r, &ctx, out);
    }
    apex_error_t err = {""};
    (void)apex_captures_apply(r, s_headers, sizeof s_headers - 1, s_body,
                              sizeof s_body - 1, vars, rng, &err);
    (void)apex_captures_apply(r, NULL, 0, NULL, 0, vars, rng, &err);
    apex_capture_rows_t rows = {2, s_row_get, NULL, 0, NULL};
    (void)apex_captures_apply_rows(r, &rows, vars, NULL, rng, &err);
    rows.nrows = 0;
    (void)apex_captures_apply_rows(r, &rows, vars, NULL, rng, &err);
    for (size_t i = 0; i < r->ncaptures; i++)
        FUZZ_CHECK(r->captures[i].slot < sc->nvars, "capture slot %zu of %zu",
                   r->captures[i].slot, sc->nvars);
}

static void s_use(const apex_scenario_t *sc)
{
    char **vars = apex_calloc(sc->nvars + 1, sizeof *vars);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    apex_buf_t out;
    apex_buf_init(&out);
    FUZZ_CHECK(sc->nusers > 0, "no user classes");
    for (size_t u = 0; u < sc->nusers; u++) {
        const apex_user_class_t *uc = &sc->users[u];
        FUZZ_CHECK(apex_scenario_find_user(sc, uc->name) == uc,
                   "find_user(%s) misses", uc->name);
        FUZZ_CHECK(uc->ntasks > 0 && uc->npick > 0, "class %s has no tasks",
                   uc->name);
        for (size_t i = 0; i < uc->npick; i++)
            FUZZ_CHECK(uc->pick[i] < uc->ntasks, "pick %u of %zu", uc->pick[i],
                       uc->ntasks);
        for (size_t i = 0; i < uc->non_start; i++)
            s_use_request(sc, &uc->on_start[i], vars, &rng, &out);
        for (size_t t = 0; t < uc->ntasks; t++)
            for (size_t i = 0; i < uc->tasks[t].nsteps; i++)
                s_use_request(sc, &uc->tasks[t].steps[i], vars, &rng, &out);
    }
    for (size_t i = 0; i < sc->nvars; i++)
        free(vars[i]);
    free(vars);
    apex_buf_fini(&out);
}

// The master's reading of the nodes the scenario parser keeps as text.
static void s_master_nodes(const apex_scenario_t *sc)
{
    apex_error_t err = {""};
    if (sc->shape) {
        master_shape_t *shape = master_shape_parse(sc->shape, sc->origin, &err);
        if (shape) {
            free(master_shape_describe(shape));
            (void)master_shape_at(shape, master_shape_duration(shape) / 2);
        }
        master_shape_destroy(&shape);
    }
    if (sc->thresholds) {
        master_thresholds_t th = {0};
        (void)master_thresholds_parse_json(&th, sc->thresholds, sc->origin,
                                           &err);
        master_thresholds_fini(&th);
    }
}

// --tags a b --exclude-tags c: a scenario with fewer or as many tasks per
// class, or an error.
static void s_filter(const apex_scenario_t *sc)
{
    static const char *const tags[] = {"a", "b"};
    static const char *const exclude[] = {"c"};
    const apex_tag_filter_t filters[] = {
        {tags, 2, NULL, 0}, {NULL, 0, exclude, 1}, {tags, 2, exclude, 1}};
    for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
        apex_error_t err = {""};
        char *dropped = NULL;
        apex_scenario_t *kept =
            apex_scenario_filter(sc, &filters[f], &dropped, &err);
        FUZZ_CHECK(kept || apex_error_is_set(&err), "NULL without an error");
        for (size_t i = 0; kept && i < kept->nusers; i++) {
            const apex_user_class_t *u =
                apex_scenario_find_user(sc, kept->users[i].name);
            FUZZ_CHECK(u && kept->users[i].ntasks <= u->ntasks,
                       "filter made class %s", kept->users[i].name);
        }
        FUZZ_CHECK(!kept || (kept->nusers < sc->nusers) == (dropped != NULL),
                   "dropped classes not named");
        apex_scenario_destroy(&kept);
        free(dropped);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apex_error_t err = {""};
    apex_scenario_t *sc =
        apex_scenario_parse((const char *)data, size, "fuzz.json", &err);
    if (!sc) {
        FUZZ_CHECK(apex_error_is_set(&err), "NULL without an error");
        return 0;
    }
    FUZZ_CHECK(sc->wire, "no wire text");

    // What a worker does with the wire text the master sends.
    apex_error_t werr = {""};
    apex_scenario_t *again =
        apex_scenario_parse(sc->wire, strlen(sc->wire), "wire", &werr);
    FUZZ_CHECK(again, "the wire text does not parse: %s", werr.msg);
    FUZZ_CHECK(again->nusers == sc->nusers && again->nvars == sc->nvars,
               "the wire text parses to %zu classes and %zu variables, "
               "not %zu and %zu",
               again->nusers, again->nvars, sc->nusers, sc->nvars);
    for (size_t i = 0; i < sc->nusers; i++)
        FUZZ_CHECK(strcmp(again->users[i].name, sc->users[i].name) == 0 &&
                       again->users[i].ntasks == sc->users[i].ntasks,
                   "class %zu differs after the wire", i);
    FUZZ_CHECK((again->host == NULL) == (sc->host == NULL) &&
                   (!sc->host || strcmp(again->host, sc->host) == 0),
               "host differs after the wire");
    apex_scenario_destroy(&again);

    s_use(sc);
    s_master_nodes(sc);
    s_filter(sc);
    apex_scenario_destroy(&sc);
    apex_scenario_destroy(&sc); // a second destroy is a no-op
    return 0;
}
