// common/scenario_http_opts.c - the HTTP engine and the TLS and HTTP
// options of HTTP steps, at three levels: the document, a user class and
// a step, each one an "http" object (and "engine" on the first two):
//
//   "engine": "auto",            // or "curl", "http1" (document, class)
//   "http": {
//     "insecure": true,          // skip TLS verification
//     "ca_bundle": "ca.pem",     // CA bundle (PEM) instead of the system's
//     "client_cert": "me.pem",   // client certificate (PEM)
//     "client_key": "me.key",    // its key, when not in client_cert
//     "http2": true,             // or false, or "prior_knowledge" (h2c)
//     "proxy": "http://127.0.0.1:3128",  // "" for none; default: the
//                                // environment's, as libcurl reads it
//     "compression": true,       // Accept-Encoding, bodies decoded
//     "auth": ["user", "password"],  // basic auth
//     "connect_timeout": 5       // seconds, apart from "timeout"
//   }
//
// Strings take environment placeholders only (${CA_FILE}), resolved at
// load like "host". A step's options are the document's, overridden by
// its class's, overridden by its own (apex_http_options_merge()).
#include "common/scenario_parse.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static const char *const s_keys[] = {
    "insecure", "ca_bundle",   "client_cert", "client_key",      "http2",
    "proxy",    "compression", "auth",        "connect_timeout", NULL};

static const char *const s_engines[] = {"auto", "curl", "http1", NULL};

int apex_http_engine_parse(const char *text, apex_http_engine_t *out)
{
    for (int i = 0; s_engines[i]; i++) {
        if (strcmp(text, s_engines[i]) == 0) {
            *out = (apex_http_engine_t)(APEX_ENGINE_AUTO + i);
            return 0;
        }
    }
    return -1;
}

const char *apex_http_engine_name(apex_http_engine_t engine)
{
    if (engine <= APEX_ENGINE_AUTO || engine > APEX_ENGINE_HTTP1)
        return "auto";
    return s_engines[engine - APEX_ENGINE_AUTO];
}

int apex_http_debug_parse(const char *text)
{
    if (!text || !*text || strcmp(text, "headers") == 0 ||
        strcmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
        strcmp(text, "yes") == 0)
        return APEX_HTTP_DEBUG_HEADERS;
    if (strcmp(text, "full") == 0)
        return APEX_HTTP_DEBUG_FULL;
    if (strcmp(text, "off") == 0 || strcmp(text, "false") == 0 ||
        strcmp(text, "0") == 0 || strcmp(text, "no") == 0)
        return APEX_HTTP_DEBUG_OFF;
    return -1;
}

int apex_parse_engine(apex_parser_t *p, const json_t *v,
                      apex_http_engine_t *out)
{
    if (!json_is_string(v) ||
        apex_http_engine_parse(json_string_value(v), out) != 0)
        return apex_parse_fail_got(p, v,
                                   "one of \"auto\", \"curl\", "
                                   "\"http1\"");
    return 0;
}

// A string with environment placeholders only, into *out (a new string).
static int s_env_text(apex_parser_t *p, const json_t *v, char **out)
{
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, "a string");
    apex_template_t *t = apex_parse_template(p, json_string_value(v), false);
    if (!t)
        return -1;
    const char *text = apex_template_constant(t);
    if (!text) {
        apex_template_destroy(&t);
        return apex_parse_fail(p, "expected a string with environment "
                                  "placeholders only (no capture variables "
                                  "or functions)");
    }
    *out = apex_strdup(text);
    apex_template_destroy(&t);
    return 0;
}

static int s_bool(apex_parser_t *p, const json_t *v, signed char *out)
{
    if (!json_is_boolean(v))
        return apex_parse_fail_got(p, v, "true or false");
    *out = json_is_true(v) ? 1 : 0;
    return 0;
}

static int s_http2(apex_parser_t *p, const json_t *v, apex_http2_t *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? APEX_HTTP2_ON : APEX_HTTP2_OFF;
        return 0;
    }
    if (json_is_string(v) &&
        strcmp(json_string_value(v), "prior_knowledge") == 0) {
        *out = APEX_HTTP2_PRIOR;
        return 0;
    }
    return apex_parse_fail_got(p, v, "true, false or \"prior_knowledge\"");
}

// "auth": [user, password] into "user:password".
static int s_auth(apex_parser_t *p, const json_t *v, char **out)
{
    const char *what = "[\"user\", \"password\"] (strings)";
    if (!json_is_array(v) || json_array_size(v) != 2)
        return apex_parse_fail_got(p, v, what);
    char *part[2] = {NULL, NULL};
    for (size_t i = 0; i < 2; i++) {
        size_t old = apex_parse_path_index(p, i);
        if (s_env_text(p, json_array_get(v, i), &part[i]) != 0) {
            free(part[0]);
            return -1;
        }
        apex_parse_path_restore(p, old);
    }
    if (strchr(part[0], ':')) {
        free(part[0]);
        free(part[1]);
        apex_parse_path_index(p, 0);
        return apex_parse_fail(p, "expected a user name without ':'");
    }
    *out = apex_sprintf("%s:%s", part[0], part[1]);
    free(part[0]);
    free(part[1]);
    return 0;
}

static int s_member(apex_parser_t *p, const char *key, const json_t *v,
                    apex_http_options_t *o)
{
    if (strcmp(key, "insecure") == 0)
        return s_bool(p, v, &o->insecure);
    if (strcmp(key, "compression") == 0)
        return s_bool(p, v, &o->compression);
    if (strcmp(key, "http2") == 0)
        return s_http2(p, v, &o->http2);
    if (strcmp(key, "auth") == 0)
        return s_auth(p, v, &o->auth);
    if (strcmp(key, "connect_timeout") == 0) {
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return apex_parse_fail_got(p, v, "a number of seconds > 0");
        o->connect_timeout = json_number_value(v);
        return 0;
    }
    char **dest = strcmp(key, "ca_bundle") == 0     ? &o->ca_bundle
                  : strcmp(key, "client_cert") == 0 ? &o->client_cert
                  : strcmp(key, "client_key") == 0  ? &o->client_key
                                                    : &o->proxy;
    return s_env_text(p, v, dest);
}

static int s_parse_member(apex_parser_t *p, const char *key,
                          const json_t *value, size_t index, void *arg)
{
    (void)index;
    return s_member(p, key, value, arg);
}

int apex_parse_http_options(apex_parser_t *p, const json_t *obj,
                            apex_http_options_t *out)
{
    memset(out, 0, sizeof *out);
    out->insecure = out->compression = -1;
    if (!json_is_object(obj))
        return apex_parse_fail_got(p, obj, "an object of HTTP options");
    if (apex_parse_check_keys(p, obj, s_keys, NULL) != 0)
        return -1;
    return apex_parse_members(p, obj, s_parse_member, out);
}

int apex_parse_http_level(apex_parser_t *p, const json_t *obj, bool cls)
{
    apex_http_engine_t *engine = cls ? &p->class_engine : &p->doc_engine;
    apex_http_options_t *opts = cls ? &p->class_http : &p->doc_http;
    apex_http_options_fini(opts);
    *engine = APEX_ENGINE_UNSET;
    json_t *v = json_object_get(obj, "engine");
    if (v) {
        size_t old = apex_parse_path_key(p, "engine");
        if (apex_parse_engine(p, v, engine) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    v = json_object_get(obj, "http");
    if (v) {
        size_t old = apex_parse_path_key(p, "http");
        if (apex_parse_http_options(p, v, opts) != 0)
            return -1;
        apex_parse_path_restore(p, old);
    }
    return 0;
}

static char *s_pick(const char *base, const char *over)
{
    const char *v = over ? over : base;
    return v ? apex_strdup(v) : NULL;
}

void apex_http_options_merge(apex_http_options_t *dst,
                             const apex_http_options_t *base,
                             const apex_http_options_t *over)
{
    dst->insecure = over->insecure >= 0 ? over->insecure : base->insecure;
    dst->compression =
        over->compression >= 0 ? over->compression : base->compression;
    dst->http2 = over->http2 != APEX_HTTP2_UNSET ? over->http2 : base->http2;
    dst->connect_timeout = over->connect_timeout > 0 ? over->connect_timeout
                                                     : base->connect_timeout;
    dst->ca_bundle = s_pick(base->ca_bundle, over->ca_bundle);
    dst->client_cert = s_pick(base->client_cert, over->client_cert);
    dst->client_key = s_pick(base->client_key, over->client_key);
    dst->proxy = s_pick(base->proxy, over->proxy);
    dst->auth = s_pick(base->auth, over->auth);
}

void apex_http_options_fini(apex_http_options_t *opts)
{
    free(opts->ca_bundle);
    free(opts->client_cert);
    free(opts->client_key);
    free(opts->proxy);
    free(opts->auth);
    memset(opts, 0, sizeof *opts);
    opts->insecure = opts->compression = -1;
}

// ---------------------------------------------------------------------
// Options from a command line

// key: value, a string taken as it is (so no placeholder in it).
static int s_set_text(json_t *http, const char *key, const char *value,
                      apex_error_t *err)
{
    if (!value)
        return 0;
    if (strstr(value, "${"))
        return apex_error_set(err,
                              "HTTP option %s from the command line: "
                              "no ${...} placeholders there, got '%s'",
                              key, value);
    json_t *v = json_string(value);
    if (!v)
        return apex_error_set(err,
                              "HTTP option %s from the command line: "
                              "not UTF-8",
                              key);
    json_object_set_new(http, key, v);
    return 0;
}

static int s_set_options(json_t *http, const apex_http_options_t *o,
                         apex_error_t *err)
{
    if (o->insecure >= 0)
        json_object_set_new(http, "insecure", json_boolean(o->insecure));
    if (o->compression >= 0)
        json_object_set_new(http, "compression", json_boolean(o->compression));
    if (o->http2 != APEX_HTTP2_UNSET)
        json_object_set_new(http, "http2",
                            o->http2 == APEX_HTTP2_PRIOR
                                ? json_string("prior_knowledge")
                                : json_boolean(o->http2 == APEX_HTTP2_ON));
    if (o->connect_timeout > 0)
        json_object_set_new(http, "connect_timeout",
                            json_real(o->connect_timeout));
    if (s_set_text(http, "ca_bundle", o->ca_bundle, err) != 0 ||
        s_set_text(http, "client_cert", o->client_cert, err) != 0 ||
        s_set_text(http, "client_key", o->client_key, err) != 0 ||
        s_set_text(http, "proxy", o->proxy, err) != 0)
        return -1;
    if (!o->auth)
        return 0;
    // "auth": [user, password], each checked as the strings above.
    const char *colon = strchr(o->auth, ':');
    if (!colon || colon == o->auth)
        return apex_error_set(err, "HTTP option auth from the command line: "
                                   "expected user:password");
    json_t *parts = json_object();
    char *user = apex_strndup(o->auth, (size_t)(colon - o->auth));
    int rc = s_set_text(parts, "auth", user, err) == 0 &&
                     s_set_text(parts, "password", colon + 1, err) == 0
                 ? 0
                 : -1;
    free(user);
    if (rc == 0)
        json_object_set_new(http, "auth",
                            json_pack("[OO]", json_object_get(parts, "auth"),
                                      json_object_get(parts, "password")));
    json_decref(parts);
    return rc;
}

apex_scenario_t *apex_scenario_with_http(const apex_scenario_t *sc,
                                         const apex_http_options_t *o,
                                         apex_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_loads(sc->wire, 0, &jerr);
    if (!root) {
        apex_error_set(err, "%s: %s", sc->origin, jerr.text);
        return NULL;
    }
    json_t *http = json_object_get(root, "http");
    if (!json_is_object(http)) {
        http = json_object();
        json_object_set_new(root, "http", http);
    }
    apex_scenario_t *out = NULL;
    if (s_set_options(http, o, err) == 0) {
        char *wire = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        out = apex_scenario_parse_wire(wire, strlen(wire), sc->origin, err);
        free(wire);
    }
    json_decref(root);
    return out;
}
