// common/scenario_ws.c - the JSON form of a WebSocket step (kind
// APEX_STEP_WS, marked by "ws"), parsed into apex_ws_step_t. A user has
// one connection across its steps (worker/step_ws.c runs them):
//
//   {"ws": "connect", "url": "${WS_URL:-ws://127.0.0.1:8080}/ws/echo",
//    "headers": {"Authorization": "Bearer ${AUTH_TOKEN}"},  // optional
//    "subprotocols": ["chat"],  // optional: Sec-WebSocket-Protocol
//    "ping_interval": 30}       // optional: keep-alive pings, seconds
//   {"ws": "send", "text": "hi ${uuid()}"}   // or "json": VALUE, or
//                                            // "binary": "raw text"
//   {"ws": "receive", "match": {"json": "$.type", "equals": "event"}}
//                     // or {"json": "$.id"} (present), {"regex": "..."},
//                     // {"text": "exact"}; no "match": any message
//   {"ws": "request", "json": {"id": "${uuid()}", "op": "echo"},
//    "correlate": "$.id"}       // the reply repeats the value at $.id
//   {"ws": "listen", "duration": 10, "count": 100, "timestamp": "$.ts"}
//                     // for a time and/or a count; "timestamp": the
//                     // server's unix time in ms, for push latency
//   {"ws": "ping"}
//   {"ws": "close", "code": 1000, "reason": "bye"}  // both optional
//
// Every step may have "name" (the stats name), "capture" (from the
// message that ended it: receive, request) and "timeout". Stats rows are
// of type "WS", named "connect /ws/echo" (the URL's path) or after the
// operation ("receive"), unless "name" says otherwise. A send and a close
// are not samples; a listen with "timestamp" records each push's latency.
// A key that does not apply to the operation is an error.
#include "common/scenario_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/template.h"

#define APEX_WS_TYPE "WS"              // stats request type
#define APEX_WS_CODE_MIN 1000          // lowest close code we may send
#define APEX_WS_CODE_MAX 4999          // highest
#define APEX_WS_NORMAL 1000            // the default close code
#define APEX_WS_REASON_MAX 123         // bytes of a close reason
#define APEX_WS_COUNT_MAX 1000000000LL // messages of a listen
#define APEX_WS_NAME_MAX 256           // bytes of a default name

static const char *const s_keys[] = {
    "ws",       "url",     "headers",   "subprotocols", "ping_interval",
    "text",     "json",    "binary",    "match",        "correlate",
    "duration", "count",   "timestamp", "code",         "reason",
    "name",     "capture", "timeout",   "check",        NULL};

static const char *const s_ops[] = {"connect", "send", "receive", "request",
                                    "listen",  "ping", "close",   NULL};

// The keys each operation takes beyond name, capture and timeout.
static const char *const *const s_op_keys[] = {
    [APEX_WS_CONNECT] = (const char *const[]){"url", "headers", "subprotocols",
                                              "ping_interval", NULL},
    [APEX_WS_SEND] = (const char *const[]){"text", "json", "binary", NULL},
    [APEX_WS_RECEIVE] = (const char *const[]){"match", "check", NULL},
    [APEX_WS_REQUEST] = (const char *const[]){"text", "json", "binary",
                                              "correlate", "check", NULL},
    [APEX_WS_LISTEN] =
        (const char *const[]){"duration", "count", "timestamp", NULL},
    [APEX_WS_PING] = (const char *const[]){NULL},
    [APEX_WS_CLOSE] = (const char *const[]){"code", "reason", NULL},
};

static const char *const s_common_keys[] = {"ws", "name", "capture", "timeout",
                                            NULL};

// Every key of obj applies to op.
static int s_check_op_keys(apex_parser_t *p, const json_t *obj, apex_ws_op_t op)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (apex_parse_in_list(key, s_common_keys) ||
            apex_parse_in_list(key, s_op_keys[op]))
            continue;
        size_t old = apex_parse_path_key(p, key);
        int rc =
            apex_parse_fail(p, "does not apply to a ws %s step", s_ops[op]);
        apex_parse_path_restore(p, old);
        return rc;
    }
    return 0;
}

// A JSON path string at key into *out.
static int s_parse_path(apex_parser_t *p, const json_t *v, apex_jsonpath_t *out)
{
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, "a JSON path");
    apex_error_t err = {""};
    if (apex_jsonpath_compile(out, json_string_value(v), &err) != 0)
        return apex_parse_fail(p, "%s", err.msg);
    return 0;
}

// A member parsed by fn at its own path, when present.
static int s_member(apex_parser_t *p, const json_t *obj, const char *key,
                    apex_ws_step_t *ws,
                    int (*fn)(apex_parser_t *, const json_t *,
                              apex_ws_step_t *))
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t old = apex_parse_path_key(p, key);
    if (fn(p, v, ws) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    return 0;
}

// What a send or request sends: exactly one of text, json, binary.
static int s_parse_message(apex_parser_t *p, const json_t *obj,
                           apex_ws_step_t *ws)
{
    static const char *const forms[] = {"text", "json", "binary"};
    const char *form = NULL;
    for (size_t i = 0; i < 3; i++) {
        if (!json_object_get(obj, forms[i]))
            continue;
        if (form)
            return apex_parse_fail(p, "expected one of \"text\", \"json\" "
                                      "or \"binary\", not several");
        form = forms[i];
    }
    if (!form)
        return apex_parse_fail_missing(p, "text",
                                       "the message: \"text\", \"json\" or "
                                       "\"binary\"");
    json_t *v = json_object_get(obj, form);
    size_t old = apex_parse_path_key(p, form);
    bool json = strcmp(form, "json") == 0;
    if (json) {
        char *text = json_dumps(v, APEX_JSON_DUMP_FLAGS | JSON_ENCODE_ANY);
        if (!text)
            return apex_parse_fail(p, "cannot serialize the message");
        ws->message = apex_parse_template(p, text, true);
        free(text);
    } else if (!json_is_string(v)) {
        return apex_parse_fail_got(p, v, "a string");
    } else {
        ws->message = apex_parse_template(p, json_string_value(v), false);
    }
    if (!ws->message)
        return -1;
    ws->binary = strcmp(form, "binary") == 0;
    apex_parse_path_restore(p, old);
    return 0;
}

static int s_parse_url(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    static const char what[] = "a ws:// or wss:// URL";
    if (!json_is_string(v))
        return apex_parse_fail_got(p, v, what);
    ws->url = apex_parse_template(p, json_string_value(v), false);
    if (!ws->url)
        return -1;
    const char *lead = apex_template_lead(ws->url);
    if (lead && strncasecmp(lead, "ws://", 5) != 0 &&
        strncasecmp(lead, "wss://", 6) != 0)
        return apex_parse_fail_got(p, v, what);
    return 0;
}

static int s_parse_headers(apex_parser_t *p, const json_t *v,
                           apex_ws_step_t *ws)
{
    return apex_parse_headers(p, v, &ws->headers, &ws->nheaders);
}

// "subprotocols": tokens, sent as one comma-separated header value.
static int s_parse_protocols(apex_parser_t *p, const json_t *v,
                             apex_ws_step_t *ws)
{
    static const char what[] = "a non-empty array of subprotocol names";
    if (!json_is_array(v) || json_array_size(v) == 0)
        return apex_parse_fail_got(p, v, what);
    apex_buf_t list;
    apex_buf_init(&list);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        if (!json_is_string(item) ||
            !apex_parse_is_token(json_string_value(item))) {
            apex_buf_fini(&list);
            apex_parse_path_index(p, i);
            return apex_parse_fail_got(p, item, "a subprotocol name (a token)");
        }
        apex_buf_printf(&list, "%s%s", i ? ", " : "", json_string_value(item));
    }
    ws->protocols = apex_buf_take(&list);
    apex_buf_fini(&list);
    return 0;
}

// A number of seconds >= 0 into *out.
static int s_get_seconds(apex_parser_t *p, const json_t *v, double *out)
{
    if (!json_is_number(v) || json_number_value(v) < 0)
        return apex_parse_fail_got(p, v, "a number of seconds >= 0");
    *out = json_number_value(v);
    return 0;
}

static int s_parse_ping_interval(apex_parser_t *p, const json_t *v,
                                 apex_ws_step_t *ws)
{
    return s_get_seconds(p, v, &ws->ping_interval);
}

static int s_parse_duration(apex_parser_t *p, const json_t *v,
                            apex_ws_step_t *ws)
{
    return s_get_seconds(p, v, &ws->duration);
}

static int s_parse_count(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    long long n;
    if (apex_parse_get_int(p, v, 1, APEX_WS_COUNT_MAX, &n) != 0)
        return -1;
    ws->count = (uint64_t)n;
    return 0;
}

static int s_parse_timestamp(apex_parser_t *p, const json_t *v,
                             apex_ws_step_t *ws)
{
    ws->has_timestamp = true;
    return s_parse_path(p, v, &ws->timestamp);
}

static int s_parse_correlate(apex_parser_t *p, const json_t *v,
                             apex_ws_step_t *ws)
{
    return s_parse_path(p, v, &ws->correlate);
}

static int s_parse_code(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    long long code;
    if (apex_parse_get_int(p, v, APEX_WS_CODE_MIN, APEX_WS_CODE_MAX, &code))
        return -1;
    ws->code = (int)code;
    return 0;
}

static int s_parse_reason(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    if (!json_is_string(v) || json_string_length(v) > APEX_WS_REASON_MAX)
        return apex_parse_fail_got(p, v, "a string of at most 123 bytes");
    ws->reason = apex_strdup(json_string_value(v));
    return 0;
}

// "match": {"json": PATH[, "equals": VALUE]}, {"regex": RE} or
// {"text": TEXT}.
static int s_parse_match(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    static const char *const keys[] = {"json", "equals", "regex", "text", NULL};
    apex_ws_match_t *m = &ws->match;
    if (!json_is_object(v))
        return apex_parse_fail_got(p, v,
                                   "an object with \"json\" (and \"equals\"), "
                                   "\"regex\" or \"text\"");
    if (apex_parse_check_keys(p, v, keys, NULL) != 0)
        return -1;
    json_t *path = json_object_get(v, "json");
    json_t *equals = json_object_get(v, "equals");
    json_t *regex = json_object_get(v, "regex");
    json_t *text = json_object_get(v, "text");
    if ((path != NULL) + (regex != NULL) + (text != NULL) != 1 ||
        (equals && !path))
        return apex_parse_fail_got(p, v,
                                   "exactly one of \"json\" (with an optional "
                                   "\"equals\"), \"regex\" or \"text\"");
    size_t old;
    if (path) {
        m->kind = APEX_WS_MATCH_JSON;
        old = apex_parse_path_key(p, "json");
        if (s_parse_path(p, path, &m->path) != 0)
            return -1;
        apex_parse_path_restore(p, old);
        if (equals)
            m->text = apex_json_text(equals);
        return 0;
    }
    const char *key = regex ? "regex" : "text";
    json_t *s = regex ? regex : text;
    old = apex_parse_path_key(p, key);
    if (!json_is_string(s))
        return apex_parse_fail_got(p, s, "a string");
    m->text = apex_strdup(json_string_value(s));
    if (text) {
        m->kind = APEX_WS_MATCH_TEXT;
    } else {
        if (apex_parse_regex(p, m->text, REG_EXTENDED | REG_NOSUB, &m->regex) !=
            0)
            return -1;
        m->has_regex = true;
        m->kind = APEX_WS_MATCH_REGEX;
    }
    apex_parse_path_restore(p, old);
    return 0;
}

// The stats name: "name", else "connect PATH" or the operation.
static int s_parse_name(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    const apex_ws_step_t *ws = step->ws;
    if (ws->op != APEX_WS_CONNECT)
        return apex_parse_step_name(p, obj, step, s_ops[ws->op]);
    // "ws://host:port/a/b?x" -> "connect /a/b?x"
    const char *url = apex_template_display(ws->url);
    const char *after = strstr(url, "://");
    const char *path = after ? strchr(after + 3, '/') : NULL;
    char *fallback = apex_sprintf("connect %s", path ? path : "/");
    int rc = apex_parse_step_name(p, obj, step, fallback);
    free(fallback);
    return rc;
}

static int s_parse_op(apex_parser_t *p, const json_t *v, apex_ws_step_t *ws)
{
    for (size_t i = 0; s_ops[i]; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), s_ops[i]) == 0) {
            ws->op = (apex_ws_op_t)i;
            return 0;
        }
    }
    return apex_parse_fail_got(p, v,
                               "one of connect, send, receive, request, "
                               "listen, ping, close");
}

// The operation's own members.
static int s_parse_op_members(apex_parser_t *p, const json_t *obj,
                              apex_ws_step_t *ws)
{
    switch (ws->op) {
    case APEX_WS_CONNECT:
        if (!json_object_get(obj, "url"))
            return apex_parse_fail_missing(p, "url", "a ws:// or wss:// URL");
        return s_member(p, obj, "url", ws, s_parse_url) ||
               s_member(p, obj, "headers", ws, s_parse_headers) ||
               s_member(p, obj, "subprotocols", ws, s_parse_protocols) ||
               s_member(p, obj, "ping_interval", ws, s_parse_ping_interval);
    case APEX_WS_SEND:
        return s_parse_message(p, obj, ws);
    case APEX_WS_REQUEST:
        if (s_parse_message(p, obj, ws) != 0)
            return -1;
        if (!json_object_get(obj, "correlate"))
            return apex_parse_fail_missing(
                p, "correlate", "the JSON path of the value the reply repeats");
        return s_member(p, obj, "correlate", ws, s_parse_correlate);
    case APEX_WS_RECEIVE:
        return s_member(p, obj, "match", ws, s_parse_match);
    case APEX_WS_LISTEN:
        if (s_member(p, obj, "duration", ws, s_parse_duration) ||
            s_member(p, obj, "count", ws, s_parse_count) ||
            s_member(p, obj, "timestamp", ws, s_parse_timestamp))
            return -1;
        if (ws->duration <= 0 && ws->count == 0)
            return apex_parse_fail(p, "a ws listen step needs \"duration\" "
                                      "(seconds > 0) or \"count\"");
        return 0;
    case APEX_WS_CLOSE:
        ws->code = APEX_WS_NORMAL;
        return s_member(p, obj, "code", ws, s_parse_code) ||
               s_member(p, obj, "reason", ws, s_parse_reason);
    case APEX_WS_PING:
        return 0;
    }
    return 0;
}

static int s_parse(apex_parser_t *p, const json_t *obj, apex_step_t *step)
{
    apex_ws_step_t *ws = step->ws = apex_calloc(1, sizeof *step->ws);
    size_t old = apex_parse_path_key(p, "ws");
    if (s_parse_op(p, json_object_get(obj, "ws"), ws) != 0)
        return -1;
    apex_parse_path_restore(p, old);
    if (s_check_op_keys(p, obj, ws->op) != 0 ||
        s_parse_op_members(p, obj, ws) != 0 || s_parse_name(p, obj, step) != 0)
        return -1;
    step->type = apex_strdup(APEX_WS_TYPE);
    step->timed = ws->op != APEX_WS_SEND && ws->op != APEX_WS_CLOSE;
    return 0;
}

static void s_fini(apex_step_t *step)
{
    apex_ws_step_t *ws = step->ws;
    if (!ws)
        return;
    apex_template_destroy(&ws->url);
    apex_headers_free(ws->headers, ws->nheaders);
    free(ws->protocols);
    apex_template_destroy(&ws->message);
    free(ws->match.text);
    if (ws->match.has_regex)
        regfree(&ws->match.regex);
    apex_jsonpath_fini(&ws->match.path);
    apex_jsonpath_fini(&ws->correlate);
    apex_jsonpath_fini(&ws->timestamp);
    free(ws->reason);
    free(ws);
    step->ws = NULL;
}

const apex_step_parser_t apex_ws_step_parser = {
    .key = "ws",
    .keys = s_keys,
    .parse = s_parse,
    .fini = s_fini,
};
