// common/scenario.h - the scenario model: user classes with weights, wait
// times, on_start steps and weighted tasks of HTTP requests, parsed from
// JSON (jansson). Errors name the JSON path of the bad node and what was
// expected, e.g. "$.users[0].tasks[2].weight: expected an integer from 1 to
// 10000, got \"x\"".
//
// The model is immutable after parsing and shared read-only by every user
// of a worker. Text that varies per request is a compiled template
// (common/template.h), so the hot path never parses anything; values a
// step takes from its response are captures (common/capture.h). Both
// headers come with this one.
#ifndef APEX_SCENARIO_H
#define APEX_SCENARIO_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/capture.h"
#include "common/check.h"
#include "common/data.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/script.h"
#include "common/template.h"

#define APEX_SCENARIO_MAX_BYTES (16u * 1024u * 1024u) // file size limit
#define APEX_SCENARIO_MAX_WEIGHT 10000 // per task and per user class
#define APEX_SCENARIO_MAX_VARS 256     // distinct capture variables
#define APEX_SCENARIO_MAX_SCRIPTS 16   // scripted user classes
#define APEX_SCENARIO_MAX_WIRE                                                 \
    (2u * APEX_SCENARIO_MAX_BYTES + 2u * APEX_DATA_MAX_TOTAL +                 \
     2u * APEX_SCENARIO_MAX_SCRIPTS * APEX_LUA_SCRIPT_MAX) // wire text
#define APEX_SCRIPT_HEADERS 16 // header values a scripted request varies

// ---------------------------------------------------------------------
// Model

typedef enum {
    APEX_WAIT_CONSTANT,           // a = seconds
    APEX_WAIT_BETWEEN,            // uniform in [a, b] seconds
    APEX_WAIT_CONSTANT_PACING,    // a task starts every a seconds
    APEX_WAIT_CONSTANT_THROUGHPUT // a = task runs per second per user
} apex_wait_kind_t;

typedef struct {
    apex_wait_kind_t kind; // which rule
    double a;              // first parameter (see apex_wait_kind_t)
    double b;              // second parameter (between only)
} apex_wait_t;

typedef struct {
    char *name;             // header name
    apex_template_t *value; // value; a header expanding to "" is omitted
} apex_header_t;

typedef struct {
    char *name;             // query parameter name
    apex_template_t *value; // value, URL-encoded when expanded
} apex_query_t;

// Which HTTP engine runs a step: the plain HTTP/1.1 one where it can
// (auto), libcurl, or the plain one whatever the step needs.
typedef enum {
    APEX_ENGINE_UNSET, // not said here: the run's --engine (else auto)
    APEX_ENGINE_AUTO,  // http1 for plain http:// steps it can run
    APEX_ENGINE_CURL,  // libcurl for every step
    APEX_ENGINE_HTTP1  // the plain HTTP/1.1 engine (others fail)
} apex_http_engine_t;

// "auto", "curl" or "http1" into *out; -1 for any other text.
int apex_http_engine_parse(const char *text, apex_http_engine_t *out);

// The name of an engine ("auto" for UNSET).
const char *apex_http_engine_name(apex_http_engine_t engine);

// --http-debug's levels (k6's name): requests and responses logged.
#define APEX_HTTP_DEBUG_OFF 0     // nothing
#define APEX_HTTP_DEBUG_HEADERS 1 // request and response headers
#define APEX_HTTP_DEBUG_FULL 2    // and bodies (cut)

// The level a --http-debug value names: NULL, "", "headers", "true", "1"
// or "yes" HEADERS; "full" FULL; "off", "false", "0" or "no" OFF; -1 for
// anything else.
int apex_http_debug_parse(const char *text);

typedef enum {
    APEX_HTTP2_UNSET, // not said (HTTP/1.1)
    APEX_HTTP2_OFF,   // HTTP/1.1
    APEX_HTTP2_ON,    // HTTP/2 when TLS offers it (ALPN), else HTTP/1.1
    APEX_HTTP2_PRIOR  // HTTP/2 with prior knowledge (h2c on http://)
} apex_http2_t;

// TLS and HTTP options of a step: the document's "http", its user
// class's and its own, merged (the most specific wins). Files are paths
// on the worker's machine.
typedef struct {
    signed char insecure;    // 1 skip TLS verification, 0 verify, -1 unset
    signed char compression; // 1 Accept-Encoding with decoding, -1 unset
    apex_http2_t http2;      // HTTP/2 wish
    char *ca_bundle;         // CA bundle (PEM), or NULL: the system's
    char *client_cert;       // client certificate (PEM), or NULL
    char *client_key;        // its key (PEM), or NULL: in client_cert
    char *proxy;             // proxy URL; "": none; NULL: environment
                             // (http_proxy, HTTPS_PROXY, NO_PROXY...)
    char *auth;              // basic auth "user:password", or NULL
    double connect_timeout;  // seconds for the connection, 0: unset
} apex_http_options_t;

// dst (unset everywhere) becomes a copy of base with what over sets on
// top (scenario_http_opts.c).
void apex_http_options_merge(apex_http_options_t *dst,
                             const apex_http_options_t *base,
                             const apex_http_options_t *over);

// Free what opts holds; it is unset afterwards.
void apex_http_options_fini(apex_http_options_t *opts);

// The HTTP part of a step (kind APEX_STEP_HTTP).
typedef struct {
    char *method;              // "GET", "POST", ... (upper case)
    apex_template_t *path;     // "/api/v1/tasks/${id}" or an absolute URL
    apex_query_t *query;       // query parameters appended to the path
    size_t nquery;             // number of query parameters
    apex_header_t *headers;    // scenario headers merged with the step's
    size_t nheaders;           // number of headers
    apex_template_t *body;     // request body, or NULL
    int *expect;               // accepted statuses; empty: any below 400
    size_t nexpect;            // number of accepted statuses
    apex_http_options_t opts;  // TLS and HTTP options (merged)
    apex_http_engine_t engine; // its class's or document's "engine"
} apex_http_step_t;

// True when type (a stats row's method column) is an HTTP method a
// scenario can name: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS.
bool apex_http_is_method(const char *type);

// What a WebSocket step does (kind APEX_STEP_WS).
typedef enum {
    APEX_WS_CONNECT, // open the user's connection (closing an older one)
    APEX_WS_SEND,    // send a message
    APEX_WS_RECEIVE, // wait for a message that matches
    APEX_WS_REQUEST, // send, then wait for the reply that correlates
    APEX_WS_LISTEN,  // take messages for a time or a count
    APEX_WS_PING,    // a ping and its pong
    APEX_WS_CLOSE    // the close handshake
} apex_ws_op_t;

typedef enum {
    APEX_WS_MATCH_ANY,   // any message
    APEX_WS_MATCH_TEXT,  // exactly this text
    APEX_WS_MATCH_REGEX, // a regex finds a match in it
    APEX_WS_MATCH_JSON   // a JSON path leads to a value (equal to text)
} apex_ws_match_kind_t;

// Which message a receive waits for.
typedef struct {
    apex_ws_match_kind_t kind; // how to tell
    char *text;                // TEXT: the message; JSON: the value the
                               // path must lead to, or NULL for any
    regex_t regex;             // REGEX: compiled (REG_EXTENDED)
    bool has_regex;            // regex is compiled (to free)
    apex_jsonpath_t path;      // JSON: the path
} apex_ws_match_t;

// The WebSocket part of a step (kind APEX_STEP_WS).
typedef struct {
    apex_ws_op_t op;           // what it does
    apex_template_t *url;      // CONNECT: ws:// or wss:// URL
    apex_header_t *headers;    // CONNECT: extra upgrade request headers
    size_t nheaders;           // their number
    char *protocols;           // CONNECT: Sec-WebSocket-Protocol, or NULL
    double ping_interval;      // CONNECT: seconds between keep-alive pings
    apex_template_t *message;  // SEND, REQUEST: what to send
    bool binary;               // SEND, REQUEST: a binary message
    apex_ws_match_t match;     // RECEIVE: which message ends it
    apex_jsonpath_t correlate; // REQUEST: the path to the value a reply
                               // repeats ($.id)
    double duration;           // LISTEN: seconds (0: until count)
    uint64_t count;            // LISTEN: messages (0: until duration)
    apex_jsonpath_t timestamp; // LISTEN: the server's time in ms in each
    bool has_timestamp;        // message (push latency), when given
    int code;                  // CLOSE: the close code
    char *reason;              // CLOSE: the close reason, or NULL
} apex_ws_step_t;

// The SQL part of a step (kind APEX_STEP_SQL): a PostgreSQL query run
// with libpq, prepared once per connection.
typedef struct {
    char *query;              // the SQL text, with $1, $2, ... for params
    char *database;           // libpq connection string (the step's, else
                              // the scenario's "database")
    apex_template_t **params; // $1, $2, ...: text templates, each bound as
                              // a parameter; a NULL entry is SQL NULL
    size_t nparams;           // their number
    bool has_expect;          // expect_rows was given
    uint64_t min_rows;        // expect_rows: at least this many rows
    uint64_t max_rows;        // and at most this many
} apex_sql_step_t;

// An SQL step's default stats name: the query with runs of white space
// as one space, cut to 64 bytes (never inside a UTF-8 sequence) with
// "..." after it. A new string.
char *apex_sql_default_name(const char *query);

// Which protocol runs a step. Each kind has its part of the model here
// (apex_http_step_t, ...) and one module in worker/ that runs it.
typedef enum {
    APEX_STEP_HTTP,      // an HTTP request
    APEX_STEP_WS,        // a WebSocket operation
    APEX_STEP_SLEEP,     // a pause inside a flow (not a request)
    APEX_STEP_SQL,       // a PostgreSQL query
    APEX_STEP_KIND_COUNT // number of kinds
} apex_step_kind_t;

// A pause (kind APEX_STEP_SLEEP): uniform in [min, max] seconds.
typedef struct {
    double min; // seconds
    double max; // seconds (== min for a fixed pause)
} apex_sleep_step_t;

// One step of a task: what every kind has (stats name, captures,
// timeout) and the kind's own part.
typedef struct apex_step {
    apex_step_kind_t kind;        // which protocol runs it
    char *type;                   // stats request type: "GET", "POST", ...
    char *name;                   // stats name ("/api/v1/tasks/{id}")
    bool name_given;              // name came from the scenario, not the path
    apex_check_t *checks;         // conditions on the response (check.h)
    size_t nchecks;               // number of checks
    apex_capture_t *captures;     // values to capture from the response
    size_t ncaptures;             // number of captures
    bool needs_body;              // a JSON or regex capture reads the body
                                  // (SQL: the result's rows are wanted)
    bool needs_headers;           // a header capture reads the headers
    double timeout;               // seconds for the whole step (> 0)
    bool timed;                   // its time is a sample in the stats (a
                                  // request); false for a WebSocket send
    apex_http_step_t *http;       // APEX_STEP_HTTP: the request
    apex_ws_step_t *ws;           // APEX_STEP_WS: the operation
    apex_sleep_step_t *sleep;     // APEX_STEP_SLEEP: the pause
    apex_sql_step_t *sql;         // APEX_STEP_SQL: the query
    const apex_template_t **uses; // templates of the step that read user
    size_t nuses;                 // variables (checked set before a start)
} apex_step_t;

typedef struct {
    char *name;         // task name (for task ratios), or NULL
    unsigned weight;    // relative weight, >= 1
    apex_step_t *steps; // one step, or a sequence run in order
    size_t nsteps;      // number of steps
} apex_task_t;

typedef struct {
    char *name;            // class name the Locust protocol dispatches by
    unsigned weight;       // relative share of users, >= 1
    unsigned fixed_count;  // users of this class spawned first (0: none)
    bool cookies;          // each user keeps a cookie jar (default true)
    apex_wait_t wait;      // think time after each task
    apex_step_t *on_start; // steps run once when a user starts
    size_t non_start;      // number of on_start steps
    apex_task_t *tasks;    // weighted tasks
    size_t ntasks;         // number of tasks
    uint32_t *pick;        // task indexes repeated by weight
    size_t npick;          // length of pick (sum of task weights)
    apex_script_t *script; // a scripted class: its script (the tasks
                           // above are its tasks that run, by name,
                           // with no steps), else NULL
} apex_user_class_t;

// What scripted users' requests read that JSON steps have compiled in:
// the document's headers, and the user variable slots through which a
// request's URL, body and header values reach the HTTP step kind.
typedef struct {
    apex_header_t *headers; // the document's "headers" (templates)
    size_t nheaders;        // their number
    size_t url_slot;        // the variable holding a request's URL
    size_t body_slot;       // its body
    size_t header_slot;     // the first of APEX_SCRIPT_HEADERS for
                            // header values
    char **env_names;       // environment names looked up, and
    char **env_values;      // their values (NULL: unset)
    size_t nenv;            // their number
} apex_scenario_scripts_t;

typedef struct {
    char *origin;                     // file name, or "scenario" (for messages)
    char *host;                       // resolved "host", or NULL when not given
    char *database;                   // resolved "database" (a libpq connection
                                      // string for SQL steps), or NULL
    apex_user_class_t *users;         // user classes sorted by name
    size_t nusers;                    // number of user classes
    char **vars;                      // capture variable names by slot
    size_t nvars;                     // number of capture variables
    char *wire;                       // the JSON sent to workers (see below)
    char *shape;                      // the "shape" node as JSON text, or NULL
    char *thresholds;                 // the "thresholds" node as JSON, or NULL
    char *description;                // the "description" node as JSON, or NULL
    apex_dataset_t *data;             // data sets ("data"), in document order
    size_t ndata;                     // their number
    char **check_names;               // every check name, by slot
    size_t ncheck_names;              // their number
    char **warnings;                  // "ORIGIN: PATH: ..." found at load (a
    size_t nwarnings;                 // variable maybe read before it is set)
    apex_scenario_scripts_t *scripts; // when a class is scripted, else
                                      // NULL
    apex_http_options_t http;         // the document's "http" (and the
                                      // command line's): scripted
                                      // users' requests take these
    apex_http_engine_t engine;        // the document's "engine"
} apex_scenario_t;

// Parse a scenario from JSON text. origin names the source in messages.
// When the document has an "env" object, environment placeholders are
// resolved from it only; otherwise from the process environment. Returns
// a new scenario the caller owns, or NULL with err set to
// "ORIGIN: $.json.path: what was expected".
apex_scenario_t *apex_scenario_parse(const char *json, size_t size,
                                     const char *origin, apex_error_t *err);

// The same for a master's wire text (self->wire), which may be up to
// APEX_SCENARIO_MAX_WIRE bytes (it carries the data files).
apex_scenario_t *apex_scenario_parse_wire(const char *json, size_t size,
                                          const char *origin,
                                          apex_error_t *err);

// Read and parse a file (at most APEX_SCENARIO_MAX_BYTES). Data files
// ("data") are read relative to the file's folder; apex_scenario_parse()
// reads none (a data set must carry its "content", as the wire text
// does). NULL with err set on failure ("FILE: cannot read: ...", or a
// parse error).
apex_scenario_t *apex_scenario_load(const char *path, apex_error_t *err);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void apex_scenario_destroy(apex_scenario_t **self_p);

// Locust's --tags and --exclude-tags. A task's tags are its "tags" and
// its user class's.
typedef struct {
    const char *const *tags;    // run only tasks with one of these; NULL:
                                // no such rule
    size_t ntags;               // their number
    const char *const *exclude; // never tasks with one of these, or NULL
    size_t nexclude;            // their number
} apex_tag_filter_t;

// A new scenario with only the tasks f lets through, without the user
// classes left with none (*dropped: their names, comma-separated, for the
// caller to free; NULL when none was). NULL with err set when no task is
// left, or when what is left does not parse (a shape naming a dropped
// class).
apex_scenario_t *apex_scenario_filter(const apex_scenario_t *sc,
                                      const apex_tag_filter_t *f,
                                      char **dropped, apex_error_t *err);

// A new scenario whose document-level "http" options take o's values
// where o sets one (a user class's or a step's own still win): a
// master's --insecure, --ca-bundle, ... Strings are taken as they are
// (one holding "${" is refused); auth is "user:password". NULL with err
// set when the result does not parse.
apex_scenario_t *apex_scenario_with_http(const apex_scenario_t *sc,
                                         const apex_http_options_t *o,
                                         apex_error_t *err);

// The user class with this name, or NULL.
const apex_user_class_t *apex_scenario_find_user(const apex_scenario_t *self,
                                                 const char *name);

// self->wire is the document as parsed plus an "env" object holding the
// value (or null) of every environment variable it refers to, and each
// data set's file text as its "content", so a worker parsing it resolves
// them exactly as this process did and needs no file. It is what a master
// sends to workers (at most APEX_SCENARIO_MAX_WIRE bytes).

#endif
