// common/scenario_parse.h - internal to the scenario loader: the parser's
// state and the helpers shared by the files that each parse one part of
// a scenario (scenario.c the document, users, tasks and what every step
// has; scenario_http.c, scenario_ws.c and scenario_sql.c a step of their
// kind; capture.c a step's captures). Only
// those files, and their unit tests, include it; the rest of the tree
// sees the model through common/scenario.h.
//
// Every helper that fails writes "ORIGIN: $.json.path: what" into the
// parser's error and returns -1 (or NULL), so a part's parser reads as a
// list of checks, each `return apex_parse_fail...(p, ...)` on bad input.
#ifndef APEX_SCENARIO_PARSE_H
#define APEX_SCENARIO_PARSE_H

#include <stdbool.h>
#include <regex.h>
#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/scenario.h"

typedef struct {
    apex_scenario_t *sc;          // the model being built
    apex_error_t *err;            // where the first error goes
    apex_buf_t path;              // JSON path of the node being parsed
    json_t *env;                  // the document's "env" object, or NULL
    json_t *used_env;             // each environment name looked up -> value
    apex_header_t *headers;       // the document's "headers", compiled
    size_t nheaders;              // number of them
    double regex_size;            // expanded size of the capture regexes so far
    const char *base_dir;         // where data files are, or NULL: none read
    apex_step_t *step;            // the step being parsed, or NULL
    unsigned char *set;           // per variable slot: some step before this
                                  // one, in every path to it, captures it
    unsigned char *start_set;     // the same after the class's on_start
    bool unset_env_ok;            // an unset environment variable reads ""
    apex_http_options_t doc_http; // the document's "http"
    apex_http_options_t class_http;  // the user class's "http"
    apex_http_engine_t doc_engine;   // the document's "engine"
    apex_http_engine_t class_engine; // the user class's "engine"
} apex_parser_t;

// Start parsing into sc (origin set): the path is "$", no environment
// looked up yet. err may be NULL.
void apex_parser_init(apex_parser_t *p, apex_scenario_t *sc, apex_error_t *err);

// Free what the parser holds (not the model).
void apex_parser_fini(apex_parser_t *p);

// Parse json (what apex_scenario_parse(), _parse_wire() and _load() do):
// data files are read relative to base_dir (NULL: none are read), and
// json is at most limit bytes.
apex_scenario_t *apex_scenario_parse_in(const char *json, size_t size,
                                        const char *origin,
                                        const char *base_dir, size_t limit,
                                        apex_error_t *err);

// The first pass over the document: every capture variable name, in
// document order, into the scenario's slot table (malformed nodes are
// skipped; the second pass reports them).
void apex_parse_collect_vars(apex_parser_t *p, const json_t *root);

// ---------------------------------------------------------------------
// The JSON path of the node being parsed

// Append .key, or ["key"] when key is not a plain name. Returns the old
// length for apex_parse_path_restore().
size_t apex_parse_path_key(apex_parser_t *p, const char *key);

// Append [index]. Returns the old length.
size_t apex_parse_path_index(apex_parser_t *p, size_t index);

// Cut the path back to len bytes (a value from the two above).
void apex_parse_path_restore(apex_parser_t *p, size_t len);

// ---------------------------------------------------------------------
// Errors, each returning -1

// "ORIGIN: PATH: message" (printf-style).
int apex_parse_fail(apex_parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// "expected WHAT, got VALUE", VALUE as compact JSON cut after
// APEX_ERROR_EXCERPT bytes.
int apex_parse_fail_got(apex_parser_t *p, const json_t *value,
                        const char *what);

// "missing (expected WHAT)" for a required key, named in the path.
int apex_parse_fail_missing(apex_parser_t *p, const char *key,
                            const char *what);

// Every key of obj must be in allowed or, when more is not NULL, in more
// (both NULL-terminated); else "unknown key (expected one of: ...)"
// with both lists, the path naming the key.
int apex_parse_check_keys(apex_parser_t *p, const json_t *obj,
                          const char *const *allowed, const char *const *more);

// Call fn on each element of array, in order, with its index in the
// path; the first failure stops the walk and is returned.
typedef int (*apex_parse_item_fn)(apex_parser_t *p, const json_t *item,
                                  size_t index, void *arg);
int apex_parse_items(apex_parser_t *p, const json_t *array,
                     apex_parse_item_fn fn, void *arg);

// Call fn on each member of object, in document order, with its key in
// the path; the first failure stops the walk and is returned.
typedef int (*apex_parse_member_fn)(apex_parser_t *p, const char *key,
                                    const json_t *value, size_t index,
                                    void *arg);
int apex_parse_members(apex_parser_t *p, const json_t *object,
                       apex_parse_member_fn fn, void *arg);

// A step's "name" (the stats name, a non-empty string) from obj, or
// fallback when obj has none (copied either way).
int apex_parse_step_name(apex_parser_t *p, const json_t *obj, apex_step_t *step,
                         const char *fallback);

// obj's "tags", if any: an array of non-empty strings
// (common/scenario_tags.c).
int apex_parse_tags(apex_parser_t *p, const json_t *obj);

// An integer in [min, max] (JSON integers only: 1.0 is not one).
int apex_parse_get_int(apex_parser_t *p, const json_t *v, long long min,
                       long long max, long long *out);

// ---------------------------------------------------------------------
// Names and templates

// True for [A-Za-z_][A-Za-z0-9_]* (class and variable names).
bool apex_parse_is_name(const char *s);

// True for an HTTP header name (an RFC 9110 token).
bool apex_parse_is_token(const char *s);

// True for a name templates resolve themselves (user_index,
// worker_index, iteration, data): no capture may take it.
bool apex_parse_is_reserved(const char *s);

// True when s is one of the NULL-terminated list.
bool apex_parse_in_list(const char *s, const char *const *list);

// The slot of capture variable name (len bytes), or -1.
long apex_parse_var_slot(const apex_parser_t *p, const char *name, size_t len);

// Compile a template found at the current path: ${NAME} is a user
// variable when a capture defines NAME, else an environment variable
// looked up in the document's "env" (when it has one) or the process
// environment, and recorded for the wire text. NULL with the error set
// ("ORIGIN: PATH: unterminated ...") on failure.
apex_template_t *apex_parse_template(apex_parser_t *p, const char *src,
                                     bool json);

// The step being parsed reads template t's user variables (a template
// it holds): the worker checks them before it starts the step.
void apex_parse_step_uses(apex_parser_t *p, const apex_template_t *t);

// A warning at the current path ("ORIGIN: PATH: message"), kept in the
// scenario's warnings once.
void apex_parse_warn(apex_parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// ---------------------------------------------------------------------
// Parts, each parsed in the file of its concept

// capture.c: a step's "capture" object into step->captures (and its
// needs_body / needs_headers).
int apex_parse_captures(apex_parser_t *p, const json_t *obj, apex_step_t *step);

// check.c: a step's "check" object into step->checks (and its
// needs_body / needs_headers), names into the scenario's check table.
int apex_parse_checks(apex_parser_t *p, const json_t *obj, apex_step_t *step);

// capture.c: compile a regex a step gives (a capture, a WebSocket match)
// with flags, after bounding its cost (APEX_REGEX_MAX_SIZE, per regex
// and for the whole scenario). 0, or -1 with the error set ("regex
// \"...\": ..." or "bad regex \"...\": ..."); *out needs regfree() only
// on success.
int apex_parse_regex(apex_parser_t *p, const char *expr, int flags,
                     regex_t *out);

// scenario_http.c: a "headers" object (the document's or a request's):
// names are tokens, unique in any case; values are templates.
int apex_parse_headers(apex_parser_t *p, const json_t *obj, apex_header_t **out,
                       size_t *nout);

// scenario_http_opts.c: an "http" options object (the document's, a
// class's or a step's) into *out (zeroed first: everything unset).
int apex_parse_http_options(apex_parser_t *p, const json_t *obj,
                            apex_http_options_t *out);

// scenario_http_opts.c: an "engine" value into *out.
int apex_parse_engine(apex_parser_t *p, const json_t *v,
                      apex_http_engine_t *out);

// scenario_http_opts.c: the document's and the class's "engine" and
// "http" of obj (a document or a user class) into p (class: true).
int apex_parse_http_level(apex_parser_t *p, const json_t *obj, bool cls);

// scenario_http.c: free n headers and the array.
void apex_headers_free(apex_header_t *headers, size_t n);

// One kind of step: how the loader tells it, parses it and frees it.
// Each kind's file defines one; scenario.c lists them by kind.
typedef struct {
    const char *key;         // the key that marks a step of this kind
    const char *const *keys; // every key such a step may have
    // Parse obj (an object whose keys were checked) into step->kind's
    // part of step, and step->type and step->name. The loader parses
    // what every kind has ("capture", "timeout") afterwards.
    int (*parse)(apex_parser_t *p, const json_t *obj, apex_step_t *step);
    // Free the kind's part of step; a NULL part (a step that failed
    // early) is fine.
    void (*fini)(apex_step_t *step);
} apex_step_parser_t;

// scenario_http.c: APEX_STEP_HTTP, marked by "path".
extern const apex_step_parser_t apex_http_step_parser;

// scenario_ws.c: APEX_STEP_WS, marked by "ws".
extern const apex_step_parser_t apex_ws_step_parser;

// scenario_sleep.c: APEX_STEP_SLEEP, marked by "sleep".
extern const apex_step_parser_t apex_sleep_step_parser;

// scenario_data.c: the document's "data" object into sc->data; each data
// set's file text is put into obj as its "content" for the wire text.
int apex_parse_data(apex_parser_t *p, json_t *obj);

// scenario_data.c: read file (relative to p->base_dir unless absolute),
// at most max bytes, into *out (a new string, NUL-terminated) and *len.
// 0, or -1 with the error set at the current path.
int apex_parse_read_file(apex_parser_t *p, const char *file, size_t max,
                         char **out, size_t *len);

// scenario_parse.c: look an environment variable up as templates do (in
// the document's "env" when it has one) and record it for the wire
// text; *value is NULL when unset. 0, or -1 with err set.
int apex_parse_env(apex_parser_t *p, const char *name, const char **value,
                   apex_error_t *err);

// scenario_script.c: when a user class of root has a "script", make
// sc->scripts and reserve its variable slots (after the first pass).
int apex_parse_scripts_begin(apex_parser_t *p, const json_t *root);

// scenario_script.c: a scripted user class (obj has "script"): its
// script read (from "source", else the file, put into obj as "source"
// for the wire text) and defined, its tasks and wait time from it.
int apex_parse_script_user(apex_parser_t *p, json_t *obj, apex_user_class_t *u);

// scenario_script.c: after the users: what scripts read from the
// document (its headers; the environment looked up, for the workers).
void apex_parse_scripts_end(apex_parser_t *p);

// scenario_script.c: free a class's script and the scenario's scripts
// part (NULL is fine).
void apex_script_free(apex_script_t *s);
void apex_scenario_scripts_free(apex_scenario_scripts_t *s);
// scenario_sql.c: APEX_STEP_SQL, marked by "sql".
extern const apex_step_parser_t apex_sql_step_parser;

// scenario_sql.c: a "database" (the document's or a step's): a libpq
// connection string or URL with environment placeholders only, checked
// with libpq's own parser, into *out (a new string).
int apex_parse_database(apex_parser_t *p, const json_t *v, char **out);

#endif
