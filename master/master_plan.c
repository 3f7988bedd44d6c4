// master/master_plan.c - what a run takes from the command line and the
// scenario before it starts (see master_int.h): the scenario loaded with
// the command line's HTTP options and tag filter, and the runner's plan:
// the host, the load shape (scaled by -u and -t) and the thresholds.
#include "master/master_int.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/log.h"

// The scenario with the command line's HTTP options (--insecure, ...).
static apex_scenario_t *s_with_http(const master_options_t *o,
                                    apex_scenario_t *scn, apex_error_t *err)
{
    if (!scn || !o->http)
        return scn;
    apex_scenario_t *out = apex_scenario_with_http(scn, o->http, err);
    apex_scenario_destroy(&scn);
    return out;
}

apex_scenario_t *master_load_scenario(const master_options_t *o,
                                      apex_error_t *err)
{
    apex_scenario_t *scn =
        s_with_http(o, apex_scenario_load(o->scenario_path, err), err);
    if (!scn || (!o->tags && !o->exclude_tags))
        return scn;
    apex_tag_filter_t filter = {o->tags, o->ntags, o->exclude_tags,
                                o->nexclude_tags};
    char *dropped = NULL;
    apex_scenario_t *kept = apex_scenario_filter(scn, &filter, &dropped, err);
    apex_scenario_destroy(&scn);
    if (dropped)
        apex_warn("user class(es) %s have no task left after the tag "
                  "filter: they are not run",
                  dropped);
    free(dropped);
    return kept;
}

// -H, else $API_URL (the benchmark suite's variable), else the
// scenario's host; a new string or NULL.
static char *s_resolve_host(const master_options_t *o,
                            const apex_scenario_t *scn)
{
    if (o->host && o->host[0])
        return apex_strdup(o->host);
    const char *env = getenv("API_URL");
    if (env && env[0])
        return apex_strdup(env);
    if (scn->host && scn->host[0])
        return apex_strdup(scn->host);
    return NULL;
}

// The load shape: --stages, else the scenario's "shape" (*shape_p stays
// NULL without one). With a shape, -u scales its user numbers (and rates)
// so the peak is -u, and -t scales its durations so it lasts -t.
static int s_setup_shape(const master_options_t *o, const apex_scenario_t *scn,
                         master_shape_t **shape_p, apex_error_t *err)
{
    if (o->stages) {
        apex_error_t e = {""};
        *shape_p = master_shape_parse_stages(o->stages, &e);
        if (!*shape_p)
            return apex_error_set(err, "--stages: %s", e.msg);
    } else if (scn->shape) {
        *shape_p = master_shape_parse(scn->shape, scn->origin, err);
        if (!*shape_p)
            return -1;
    }
    double load = 1, time = 1;
    if (*shape_p &&
        master_shape_fit(*shape_p, o->users_set ? o->users : -1,
                         o->run_time_set ? o->run_time : 0, &load, &time)) {
        char *text = master_shape_describe(*shape_p);
        apex_info("load shape scaled by -u/-t (users x%g, time x%g): %s", load,
                  time, text);
        free(text);
    }
    return 0;
}

// The scenario's thresholds, then those of --threshold.
static int s_setup_thresholds(const master_options_t *o,
                              const apex_scenario_t *scn,
                              master_thresholds_t *th, apex_error_t *err)
{
    th->custom = scn->scripts != NULL; // apex.trend() and apex.counter()
    if (scn->thresholds && master_thresholds_parse_json(th, scn->thresholds,
                                                        scn->origin, err) != 0)
        return -1;
    for (size_t i = 0; i < o->nthresholds; i++)
        if (master_thresholds_parse_arg(th, o->thresholds[i], err) != 0)
            return -1;
    return 0;
}

int master_plan(const master_options_t *o, const apex_scenario_t *scn,
                master_runner_config_t *config, apex_error_t *err)
{
    config->host = s_resolve_host(o, scn);
    if (s_setup_shape(o, scn, &config->shape, err) ||
        s_setup_thresholds(o, scn, &config->thresholds, err))
        return -1;
    return 0;
}

void master_plan_fini(master_runner_config_t *config)
{
    free(config->host);
    config->host = NULL;
    master_shape_destroy(&config->shape);
    master_thresholds_fini(&config->thresholds);
}
