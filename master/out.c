// master/out.c - see out.h. URLs are taken apart and put back together by
// libcurl's URL API (CURLU), so hosts, ports and IPv6 literals are read as
// libcurl will read them when writing. The last path segment names the
// database (1.x) or the default bucket (2.x); what comes before it is kept
// as a prefix, for an InfluxDB behind a reverse proxy's path. Credentials
// never come from the URL: a command line is visible to every user of the
// machine, so they are the APEX_INFLUXDB_* variables' job.
#include "master/out.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/cli.h"
#include "common/url.h"
#include "master/influx_line.h"

#define S_KIND "influxdb"
#define S_DEFAULT_DATABASE "k6" // k6's, when the URL has no path

// Tag keys Apex sets itself: a user tag of the same name would repeat a
// key in a point, which InfluxDB refuses.
static const char *const s_reserved_tags[] = {"name",      "method", "status",
                                              "run_id",    "worker", "state",
                                              "threshold", "time"};

void master_out_env_read(master_out_env_t *env)
{
    *env = (master_out_env_t){
        .username = getenv("APEX_INFLUXDB_USERNAME"),
        .password = getenv("APEX_INFLUXDB_PASSWORD"),
        .token = getenv("APEX_INFLUXDB_TOKEN"),
        .organization = getenv("APEX_INFLUXDB_ORGANIZATION"),
        .bucket = getenv("APEX_INFLUXDB_BUCKET"),
        .tags = getenv("APEX_INFLUXDB_TAGS"),
        .push_interval = getenv("APEX_INFLUXDB_PUSH_INTERVAL"),
        .queue_points = getenv("APEX_INFLUXDB_QUEUE_POINTS"),
        .insecure = getenv("APEX_INFLUXDB_INSECURE"),
    };
}

void master_out_fini(master_out_t *out)
{
    free(out->shown);
    free(out->write_url);
    free(out->create_url);
    free(out->create_body);
    free(out->username);
    free(out->password);
    free(out->auth_header);
    free(out->tags);
    memset(out, 0, sizeof *out);
}

static bool s_set(const char *value)
{
    return value && value[0];
}

static bool s_has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// A percent-decoded copy of text[0..len), or NULL when an escape is bad
// or decodes to a control character (a NUL included).
static char *s_decode(const char *text, size_t len)
{
    char *out = apex_calloc(len + 1, 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') {
            int hi = i + 2 < len ? s_hex(text[i + 1]) : -1;
            int lo = i + 2 < len ? s_hex(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto bad;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            goto bad;
        out[n++] = (char)c;
    }
    return out;
bad:
    free(out);
    return NULL;
}

static bool s_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof s_reserved_tags / sizeof *s_reserved_tags;
         i++)
        if (strcmp(key, s_reserved_tags[i]) == 0)
            return true;
    return false;
}

// One "key=value" of APEX_INFLUXDB_TAGS (len bytes at p), appended to b
// escaped as ",key=value". 0, or -1 with err set.
static int s_tag(const char *p, size_t len, apex_buf_t *b, apex_error_t *err)
{
    const char *eq = memchr(p, '=', len);
    if (!eq || eq == p || eq + 1 == p + len ||
        memchr(eq + 1, '=', (size_t)(p + len - eq - 1)))
        return apex_error_set(err, "expected key=value,key=value (no empty "
                                   "keys or values)");
    char *key = apex_strndup(p, (size_t)(eq - p));
    char *value = apex_strndup(eq + 1, (size_t)(p + len - eq - 1));
    int rc = 0;
    if (s_reserved(key))
        rc = apex_error_set(err, "'%s' is a tag Apex sets itself", key);
    else if (s_has_control(key) || s_has_control(value) ||
             key[strlen(key) - 1] == '\\' || value[strlen(value) - 1] == '\\')
        rc = apex_error_set(err,
                            "control characters or a final backslash "
                            "in '%s'",
                            key);
    if (rc == 0) {
        apex_buf_putc(b, ',');
        master_lp_escape_tag(b, key);
        apex_buf_putc(b, '=');
        master_lp_escape_tag(b, value);
    }
    free(key);
    free(value);
    return rc;
}

// APEX_INFLUXDB_TAGS "k=v,k2=v2" as escaped line-protocol tags ",k=v,...",
// a new string ("" when unset), or NULL with err set.
static char *s_tags(const char *text, apex_error_t *err)
{
    apex_buf_t b;
    apex_buf_init(&b);
    apex_buf_puts(&b, "");
    size_t n = 0;
    for (const char *p = s_set(text) ? text : ""; *p;) {
        size_t len = strcspn(p, ",");
        if (++n > MASTER_OUT_MAX_TAGS) {
            apex_error_set(err, "more than %d tags", MASTER_OUT_MAX_TAGS);
            goto bad;
        }
        if (s_tag(p, len, &b, err) != 0)
            goto bad;
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) {
                apex_error_set(err, "a comma at the end");
                goto bad;
            }
        }
    }
    return apex_buf_take(&b);
bad:
    apex_buf_fini(&b);
    apex_error_prefix(err, "APEX_INFLUXDB_TAGS");
    return NULL;
}

// The writer's settings: interval, queue bound, TLS checks.
static int s_settings(const master_out_env_t *env, master_out_t *out,
                      apex_error_t *err)
{
    out->interval = 1;
    if (s_set(env->push_interval)) {
        if (apex_parse_duration(env->push_interval, &out->interval, err) != 0)
            goto interval;
        if (out->interval < MASTER_OUT_MIN_INTERVAL_S ||
            out->interval > MASTER_OUT_MAX_INTERVAL_S) {
            apex_error_set(err, "expected %gs to %gs, got '%s'",
                           MASTER_OUT_MIN_INTERVAL_S, MASTER_OUT_MAX_INTERVAL_S,
                           env->push_interval);
            goto interval;
        }
    }
    out->queue_points = MASTER_OUT_DEFAULT_QUEUE;
    if (s_set(env->queue_points)) {
        long n = 0;
        if (apex_parse_long(env->queue_points, 1, MASTER_OUT_MAX_QUEUE, &n,
                            err) != 0) {
            apex_error_prefix(err, "APEX_INFLUXDB_QUEUE_POINTS");
            return -1;
        }
        out->queue_points = (size_t)n;
    }
    if (s_set(env->insecure)) {
        const char *v = env->insecure;
        if (!strcasecmp(v, "1") || !strcasecmp(v, "true") ||
            !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
            out->insecure = true;
        else if (strcasecmp(v, "0") && strcasecmp(v, "false") &&
                 strcasecmp(v, "no") && strcasecmp(v, "off"))
            return apex_error_set(err,
                                  "APEX_INFLUXDB_INSECURE: expected "
                                  "true or false, got '%s'",
                                  v);
    }
    return 0;
interval:
    apex_error_prefix(err, "APEX_INFLUXDB_PUSH_INTERVAL");
    return -1;
}

// A copy of a string libcurl allocated, which is freed (with curl_free).
static char *s_take(char *curl_string)
{
    char *copy = apex_strdup(curl_string);
    curl_free(curl_string);
    return copy;
}

// u's URL with this path and query (NULL: none), a new string.
static char *s_url_with(CURLU *u, const char *path, const char *query)
{
    char *url = NULL;
    if (curl_url_set(u, CURLUPART_PATH, path, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_QUERY, query, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        return NULL;
    return s_take(url);
}

// The database (or bucket) and the path before it, from u's path.
static int s_path(CURLU *u, char **prefix, char **database, apex_error_t *err)
{
    char *path = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        return apex_error_set(err, "the URL has no path");
    const char *slash = strrchr(path, '/');
    const char *segment = slash ? slash + 1 : path;
    *database = s_decode(segment, strlen(segment));
    *prefix = apex_strndup(path, slash ? (size_t)(slash - path) : 0);
    curl_free(path);
    if (!*database)
        return apex_error_set(err, "the database name (the URL's last path "
                                   "segment) has a bad %%-escape or a "
                                   "control character");
    if (!(*database)[0]) {
        free(*database);
        *database = apex_strdup(S_DEFAULT_DATABASE);
    }
    return 0;
}

// InfluxQL's CREATE DATABASE "name" as a form body (q=...).
static char *s_create_body(const char *database)
{
    apex_buf_t q, body;
    apex_buf_init(&q);
    apex_buf_init(&body);
    apex_buf_puts(&q, "CREATE DATABASE \"");
    for (const char *p = database; *p; p++) {
        if (*p == '"' || *p == '\\')
            apex_buf_putc(&q, '\\');
        apex_buf_putc(&q, *p);
    }
    apex_buf_putc(&q, '"');
    apex_buf_puts(&body, "q=");
    apex_url_encode(&body, q.data, q.len);
    apex_buf_fini(&q);
    return apex_buf_take(&body);
}

// Where to write (and, on 1.x, how to create the database).
static int s_endpoints(CURLU *u, const char *prefix, const char *database,
                       const master_out_env_t *env, master_out_t *out)
{
    apex_buf_t path, query;
    apex_buf_init(&path);
    apex_buf_init(&query);
    apex_buf_printf(&path, "%s%s", prefix,
                    out->v2 ? "/api/v2/write" : "/write");
    if (out->v2) {
        const char *bucket = s_set(env->bucket) ? env->bucket : database;
        apex_buf_puts(&query, "org=");
        apex_url_encode(&query, env->organization, strlen(env->organization));
        apex_buf_puts(&query, "&bucket=");
        apex_url_encode(&query, bucket, strlen(bucket));
    } else {
        apex_buf_puts(&query, "db=");
        apex_url_encode(&query, database, strlen(database));
    }
    apex_buf_puts(&query, "&precision=ms");
    out->write_url = s_url_with(u, apex_buf_str(&path), apex_buf_str(&query));
    if (!out->v2) {
        apex_buf_reset(&path);
        apex_buf_printf(&path, "%s/query", prefix);
        out->create_url = s_url_with(u, apex_buf_str(&path), NULL);
        out->create_body = s_create_body(database);
    }
    apex_buf_fini(&path);
    apex_buf_fini(&query);
    return out->write_url && (out->v2 || out->create_url) ? 0 : -1;
}

// The URL's parts into out: endpoints and what the logs show.
static int s_url(const char *url, const master_out_env_t *env,
                 master_out_t *out, apex_error_t *err)
{
    char quoted[APEX_ERROR_QUOTE_MAX];
    apex_error_quote(url, quoted, sizeof quoted);
    if (!apex_url_is_absolute(url))
        return apex_error_set(err,
                              "expected a URL starting with http:// or "
                              "https://, got %s",
                              quoted);
    CURLU *u = curl_url();
    char *part = NULL, *prefix = NULL, *database = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        apex_error_set(err, "not a valid URL: %s", quoted);
        goto done;
    }
    static const CURLUPart unwanted[] = {CURLUPART_USER, CURLUPART_PASSWORD,
                                         CURLUPART_QUERY, CURLUPART_FRAGMENT};
    for (size_t i = 0; i < sizeof unwanted / sizeof *unwanted; i++) {
        if (curl_url_get(u, unwanted[i], &part, 0) == CURLUE_OK) {
            curl_free(part);
            apex_error_set(err, "%s: %s", quoted,
                           i < 2 ? "credentials go in APEX_INFLUXDB_USERNAME "
                                   "and _PASSWORD (or _TOKEN), not the URL"
                                 : "expected no query or fragment");
            goto done;
        }
    }
    if (s_path(u, &prefix, &database, err) != 0)
        goto done;
    if (curl_url_get(u, CURLUPART_URL, &part, 0) != CURLUE_OK) {
        apex_error_set(err, "not a valid URL: %s", quoted);
        goto done;
    }
    out->shown = s_take(part);
    if (s_endpoints(u, prefix, database, env, out) != 0) {
        apex_error_set(err, "cannot build the write URL from %s", quoted);
        goto done;
    }
    rc = 0;
done:
    free(prefix);
    free(database);
    curl_url_cleanup(u);
    return rc;
}

// Credentials: basic auth (1.x) and a token (2.x, or 1.x behind 2.x's
// compatibility API).
static int s_auth(const master_out_env_t *env, master_out_t *out,
                  apex_error_t *err)
{
    const struct {
        const char *name;
        const char *value;
    } vars[] = {{"APEX_INFLUXDB_USERNAME", env->username},
                {"APEX_INFLUXDB_PASSWORD", env->password},
                {"APEX_INFLUXDB_TOKEN", env->token},
                {"APEX_INFLUXDB_ORGANIZATION", env->organization},
                {"APEX_INFLUXDB_BUCKET", env->bucket}};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (s_set(vars[i].value) && s_has_control(vars[i].value))
            return apex_error_set(err, "%s: control characters", vars[i].name);
    if (s_set(env->password) && !s_set(env->username))
        return apex_error_set(err, "APEX_INFLUXDB_PASSWORD needs "
                                   "APEX_INFLUXDB_USERNAME");
    if (s_set(env->username)) {
        out->username = apex_strdup(env->username);
        out->password = apex_strdup(s_set(env->password) ? env->password : "");
    }
    if (s_set(env->token))
        out->auth_header = apex_sprintf("Authorization: Token %s", env->token);
    return 0;
}

int master_out_parse(const char *arg, const master_out_env_t *env,
                     master_out_t *out, apex_error_t *err)
{
    static const master_out_env_t none = {0};
    memset(out, 0, sizeof *out);
    env = env ? env : &none;
    const char *eq = strchr(arg, '=');
    size_t kind_len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (kind_len != strlen(S_KIND) || strncmp(arg, S_KIND, kind_len) != 0) {
        char *kind = apex_strndup(arg, kind_len);
        char quoted[APEX_ERROR_QUOTE_MAX];
        apex_error_quote(kind, quoted, sizeof quoted);
        free(kind);
        return apex_error_set(err, "unknown output %s (known: %s=URL)", quoted,
                              S_KIND);
    }
    if (eq && !eq[1])
        return apex_error_set(err, "expected %s=URL, e.g. %s=%s", S_KIND,
                              S_KIND, MASTER_OUT_DEFAULT_URL);
    if (s_set(env->bucket) && !s_set(env->organization))
        return apex_error_set(err, "APEX_INFLUXDB_BUCKET needs "
                                   "APEX_INFLUXDB_ORGANIZATION (InfluxDB 2's "
                                   "API)");
    out->v2 = s_set(env->organization);
    if (s_url(eq ? eq + 1 : MASTER_OUT_DEFAULT_URL, env, out, err) == 0 &&
        s_auth(env, out, err) == 0 && s_settings(env, out, err) == 0)
        out->tags = s_tags(env->tags, err);
    if (!out->tags) {
        master_out_fini(out);
        return -1;
    }
    return 0;
}
