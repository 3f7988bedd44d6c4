// master/main.c - apex-master: coordinates workers (ours or Locust's),
// runs a headless test and writes its results. Exit codes are the
// MASTER_EXIT_* values of master/master.h.
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/cli.h"
#include "common/log.h"
#include "common/url.h"
#include "common/loop.h"
#include "common/version.h"
#include "revision.h" // $(BUILD)/gen: APEX_REVISION, from git
#include "master/cli_options.h"
#include "master/limits.h"
#include "master/master.h"
#include "master/out.h"
#include "master/web_auth.h"
#include "proto/curve.h"

#define MASTER_MAX_THRESHOLD_ARGS 256
#define MASTER_MAX_TAGS 64 // each of --tags and --exclude-tags

typedef struct {
    master_options_t o;      // options being built
    bool expect_workers_set; // --expect-workers was given
    bool processes_set;      // --processes was given
    const char *thresholds[MASTER_MAX_THRESHOLD_ARGS]; // --threshold values
    char *tags[MASTER_MAX_TAGS];                       // --tags
    char *exclude_tags[MASTER_MAX_TAGS];               // --exclude-tags
    const char *outs[MASTER_OUT_MAX];                  // --out values
    apex_cli_source_t outs_source;                     // where they came from
    const char *gen_keys;      // --gen-keys DIR: write keys and exit
    const char *web_auth_file; // --web-auth-file FILE
    char *web_auth;            // the credentials, copied (freed at exit)
    apex_http_options_t http;  // --insecure, --ca-bundle, ... (borrowed)
} s_args_t;

// Add the tags of one value ("a,b", "a b" or Locust's "[a, b]") to list.
static int s_add_tags(const char *arg, char **list, size_t *n,
                      apex_error_t *err)
{
    static const char seps[] = ", \t[]";
    for (const char *p = arg + strspn(arg, seps); *p; p += strspn(p, seps)) {
        size_t len = strcspn(p, seps);
        if (*n >= MASTER_MAX_TAGS)
            return apex_error_set(err, "more than %d tags", MASTER_MAX_TAGS);
        list[(*n)++] = apex_strndup(p, len);
        p += len;
    }
    return 0;
}

// The tags s_add_tags() copied.
static void s_args_free(s_args_t *args)
{
    for (size_t i = 0; i < args->o.ntags; i++)
        free(args->tags[i]);
    for (size_t i = 0; i < args->o.nexclude_tags; i++)
        free(args->exclude_tags[i]);
    args->o.ntags = args->o.nexclude_tags = 0;
    if (args->web_auth)
        explicit_bzero(args->web_auth, strlen(args->web_auth));
    free(args->web_auth);
    args->web_auth = NULL;
}

// The machine's online cores (at least 1).
static int s_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

// --out: checked now (the APEX_INFLUXDB_* variables later, by the
// master). Repeatable; the values of a stronger source (a file <
// APEX_OUT < the command line) replace those of a weaker one.
static int s_option_out(s_args_t *args, const char *arg, apex_error_t *err)
{
    master_options_t *o = &args->o;
    apex_cli_source_t source = apex_cli_source();
    if (o->nouts && source != args->outs_source)
        o->nouts = 0;
    args->outs_source = source;
    if (o->nouts >= MASTER_OUT_MAX)
        return apex_error_set(err, "more than %d outputs", MASTER_OUT_MAX);
    master_out_t out;
    if (master_out_parse(arg, NULL, &out, err) != 0)
        return -1;
    master_out_fini(&out);
    args->outs[o->nouts++] = arg;
    o->outs = args->outs;
    return 0;
}

// --run-id: what tags and labels can carry without surprises.
static int s_option_run_id(s_args_t *args, const char *arg, apex_error_t *err)
{
    size_t len = strlen(arg);
    if (len == 0 || len > MASTER_RUN_ID_MAX ||
        strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._:-") != len)
        return apex_error_set(err,
                              "expected 1 to %d letters, digits, '.', '_', "
                              "':' or '-', got '%s'",
                              MASTER_RUN_ID_MAX, arg);
    args->o.run_id = arg;
    return 0;
}

// What the s_option_* helpers return for an option of another group.
#define S_NOT_MINE 1

// The test: scenario, host, users, rate, run time, shape, thresholds.
static int s_option_test(s_args_t *args, int id, const char *arg,
                         apex_error_t *err)
{
    master_options_t *o = &args->o;
    long n = 0;
    switch (id) {
    case OPT_SCENARIO:
        o->scenario_path = arg;
        return 0;
    case OPT_HOST:
        if (!apex_url_is_absolute(arg))
            return apex_error_set(err,
                                  "expected a URL starting with http:// "
                                  "or https://, got '%s'",
                                  arg);
        o->host = arg;
        return 0;
    case OPT_USERS:
        if (apex_parse_long(arg, 0, MASTER_MAX_USERS, &n, err) != 0)
            return -1;
        o->users = n;
        o->users_set = true;
        return 0;
    case OPT_SPAWN_RATE:
        return apex_parse_double(arg, MASTER_MIN_SPAWN_RATE,
                                 MASTER_MAX_SPAWN_RATE, &o->spawn_rate, err);
    case OPT_RUN_TIME:
        o->run_time_set = true;
        return apex_parse_duration(arg, &o->run_time, err);
    case OPT_STAGES:
        o->stages = arg;
        return 0;
    case OPT_THRESHOLD:
        if (o->nthresholds >= MASTER_MAX_THRESHOLD_ARGS)
            return apex_error_set(err, "more than %d thresholds",
                                  MASTER_MAX_THRESHOLD_ARGS);
        args->thresholds[o->nthresholds++] = arg;
        o->thresholds = args->thresholds;
        return 0;
    case OPT_STOP_TIMEOUT:
        return apex_parse_duration(arg, &o->stop_timeout, err);
    case OPT_TAGS:
        o->tags = (const char *const *)args->tags;
        return s_add_tags(arg, args->tags, &o->ntags, err);
    case OPT_EXCLUDE_TAGS:
        o->exclude_tags = (const char *const *)args->exclude_tags;
        return s_add_tags(arg, args->exclude_tags, &o->nexclude_tags, err);
    case OPT_RESET_STATS:
        o->reset_stats = true;
        return 0;
    case OPT_ENGINE: {
        apex_http_engine_t e;
        if (apex_http_engine_parse(arg, &e) != 0)
            return apex_error_set(err, "expected auto, curl or http1");
        o->http_engine = (int)e;
        return 0;
    }
    case OPT_HTTP_DEBUG:
        o->http_debug = apex_http_debug_parse(arg);
        if (o->http_debug < 0)
            return apex_error_set(err, "expected headers, full or off");
        return 0;
    default:
        return S_NOT_MINE;
    }
}

// What the run writes and how it ends: files, console, exit code, logs.
static int s_option_output(s_args_t *args, int id, const char *arg,
                           apex_error_t *err)
{
    master_options_t *o = &args->o;
    long n = 0;
    switch (id) {
    case OPT_HEADLESS:
        o->headless = true;
        return 0;
    case OPT_CSV:
        if (!*arg)
            return apex_error_set(err, "expected a file prefix");
        o->csv_prefix = arg;
        return 0;
    case OPT_CSV_FULL_HISTORY:
        o->csv_full_history = true;
        return 0;
    case OPT_JSON:
        o->json_stdout = true;
        return 0;
    case OPT_JSON_FILE:
    case OPT_HTML:
    case OPT_LOGFILE:
        if (!*arg)
            return apex_error_set(err, "expected a file name");
        *(id == OPT_JSON_FILE ? &o->json_path
          : id == OPT_HTML    ? &o->html_path
                              : &o->logfile) = arg;
        return 0;
    case OPT_SKIP_LOG:
        o->level = APEX_LOG_OFF;
        return 0;
    case OPT_PRINT_STATS:
        o->print_stats = true;
        return 0;
    case OPT_EXIT_CODE_ON_ERROR:
        if (apex_parse_long(arg, 0, MASTER_MAX_EXIT_CODE, &n, err) != 0)
            return -1;
        o->exit_code_on_error = (int)n;
        return 0;
    case OPT_ONLY_SUMMARY:
        o->only_summary = true;
        return 0;
    case OPT_LOGLEVEL:
        return apex_log_level_arg(arg, &o->level, err);
    case OPT_OUT:
        return s_option_out(args, arg, err);
    case OPT_RUN_ID:
        return s_option_run_id(args, arg, err);
    default:
        return S_NOT_MINE;
    }
}

// The web UI: address, auth, autostart and autoquit, /metrics.
static int s_option_web(s_args_t *args, int id, const char *arg,
                        apex_error_t *err)
{
    master_options_t *o = &args->o;
    long n = 0;
    switch (id) {
    case OPT_WEB_HOST:
        o->web_host = arg;
        return 0;
    case OPT_WEB_PORT:
        if (apex_parse_long(arg, 0, MASTER_MAX_PORT, &n, err) != 0)
            return -1;
        o->web_port = (int)n;
        return 0;
    case OPT_WEB_AUTH:
        if (!strchr(arg, ':') || arg[0] == ':')
            return apex_error_set(err, "expected user:password");
        o->web_auth = arg; // copied, then wiped from argv, by main()
        return 0;
    case OPT_WEB_AUTH_FILE:
    case OPT_TLS_CERT:
    case OPT_TLS_KEY:
        if (!*arg)
            return apex_error_set(err, "expected a file name");
        *(id == OPT_WEB_AUTH_FILE ? &args->web_auth_file
          : id == OPT_TLS_CERT    ? &o->tls_cert
                                  : &o->tls_key) = arg;
        return 0;
    case OPT_AUTOSTART:
        o->autostart = true;
        return 0;
    case OPT_AUTOQUIT:
        return apex_parse_duration(arg, &o->autoquit, err);
    case OPT_METRICS:
        o->metrics = true;
        return 0;
    default:
        return S_NOT_MINE;
    }
}

// CURVE on the worker link: keys, and which workers are admitted.
static int s_option_curve(s_args_t *args, int id, const char *arg,
                          apex_error_t *err)
{
    master_options_t *o = &args->o;
    switch (id) {
    case OPT_GEN_KEYS:
        if (!*arg)
            return apex_error_set(err, "expected a folder name");
        args->gen_keys = arg;
        return 0;
    case OPT_MASTER_KEY:
    case OPT_AUTHORIZED_WORKERS:
    case OPT_WORKER_KEY:
        if (!*arg)
            return apex_error_set(err, "expected a %s name",
                                  id == OPT_AUTHORIZED_WORKERS ? "folder"
                                                               : "file");
        *(id == OPT_MASTER_KEY           ? &o->master_key
          : id == OPT_AUTHORIZED_WORKERS ? &o->authorized_workers
                                         : &o->worker_key) = arg;
        return 0;
    case OPT_ALLOW_ANY_WORKER:
        o->allow_any_worker = true;
        return 0;
    default:
        return S_NOT_MINE;
    }
}

// --http2's value: bare or true/on/1, false/off/0, prior_knowledge.
static int s_http2_arg(const char *arg, apex_http2_t *out, apex_error_t *err)
{
    if (!arg || !*arg || !strcmp(arg, "true") || !strcmp(arg, "on") ||
        !strcmp(arg, "1"))
        *out = APEX_HTTP2_ON;
    else if (!strcmp(arg, "false") || !strcmp(arg, "off") || !strcmp(arg, "0"))
        *out = APEX_HTTP2_OFF;
    else if (!strcmp(arg, "prior_knowledge"))
        *out = APEX_HTTP2_PRIOR;
    else
        return apex_error_set(err, "expected true, false or prior_knowledge");
    return 0;
}

// The HTTP options every step gets (see master/cli_options.c): checked here,
// put into the scenario by the master (apex_scenario_with_http()).
static int s_option_http(s_args_t *args, int id, const char *arg,
                         apex_error_t *err)
{
    apex_http_options_t *h = &args->http;
    switch (id) {
    case OPT_INSECURE:
        h->insecure = 1;
        break;
    case OPT_COMPRESSION:
        h->compression = 1;
        break;
    case OPT_HTTP2:
        if (s_http2_arg(arg, &h->http2, err) != 0)
            return -1;
        break;
    case OPT_CONNECT_TIMEOUT:
        if (apex_parse_duration(arg, &h->connect_timeout, err) != 0)
            return -1;
        if (h->connect_timeout <= 0)
            return apex_error_set(err, "expected a time > 0");
        break;
    case OPT_HTTP_AUTH:
        if (!strchr(arg, ':') || arg[0] == ':')
            return apex_error_set(err, "expected user:password");
        h->auth = (char *)arg;
        break;
    case OPT_CA_BUNDLE:
    case OPT_CLIENT_CERT:
    case OPT_CLIENT_KEY:
        if (!*arg)
            return apex_error_set(err, "expected a file name");
        *(id == OPT_CA_BUNDLE     ? &h->ca_bundle
          : id == OPT_CLIENT_CERT ? &h->client_cert
                                  : &h->client_key) = (char *)arg;
        break;
    case OPT_PROXY:
        h->proxy = (char *)arg;
        break;
    default:
        return S_NOT_MINE;
    }
    args->o.http = h;
    return 0;
}

// The workers: how many to wait for, where they connect, local ones.
static int s_option_workers(s_args_t *args, int id, const char *arg,
                            apex_error_t *err)
{
    master_options_t *o = &args->o;
    long n = 0;
    switch (id) {
    case OPT_EXPECT_WORKERS:
        if (apex_parse_long(arg, 1, MASTER_MAX_EXPECT_WORKERS, &n, err) != 0)
            return -1;
        o->expect_workers = (int)n;
        args->expect_workers_set = true;
        return 0;
    case OPT_EXPECT_WORKERS_MAX_WAIT:
        return apex_parse_duration(arg, &o->expect_workers_max_wait, err);
    case OPT_BIND_HOST:
        o->bind_host = arg;
        return 0;
    case OPT_BIND_PORT:
        if (apex_parse_long(arg, 0, MASTER_MAX_PORT, &n, err) != 0)
            return -1;
        o->bind_port = (int)n;
        return 0;
    case OPT_PROCESSES:
        if (apex_parse_long(arg, -1, MASTER_MAX_PROCESSES, &n, err) != 0)
            return -1;
        if (n == -1)
            n = s_cores();
        o->processes = (int)n;
        args->processes_set = true;
        return 0;
    default:
        return s_option_curve(args, id, arg, err);
    }
}

static int s_option(int id, const char *arg, void *user, apex_error_t *err)
{
    s_args_t *args = user;
    int (*const groups[])(s_args_t *, int, const char *, apex_error_t *) = {
        s_option_test, s_option_output, s_option_web, s_option_workers,
        s_option_http};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        int rc = groups[i](args, id, arg, err);
        if (rc != S_NOT_MINE)
            return rc;
    }
    return apex_error_set(err, "unhandled option");
}

// CURVE's options, which need each other.
static int s_check_curve(const master_options_t *o, apex_error_t *err)
{
    bool admitted = o->authorized_workers || o->allow_any_worker;
    if (!o->master_key && (admitted || o->worker_key))
        return apex_error_set(err, "--%s needs --master-key FILE (CURVE)",
                              o->worker_key           ? "worker-key"
                              : o->authorized_workers ? "authorized-workers"
                                                      : "allow-any-worker");
    if (o->master_key && !admitted)
        return apex_error_set(
            err, "--master-key needs --authorized-workers DIR (admit only the "
                 "workers whose keys are there) or --allow-any-worker (any "
                 "worker that knows the master's public key)");
    if (o->authorized_workers && o->allow_any_worker)
        return apex_error_set(err, "--authorized-workers and "
                                   "--allow-any-worker exclude each other");
    if (o->authorized_workers && o->processes > 0 && !o->worker_key)
        return apex_error_set(err,
                              "local workers (--processes, or the default "
                              "without --expect-workers) with "
                              "--authorized-workers need --worker-key FILE "
                              "(a key pair whose public key is in %s)",
                              o->authorized_workers);
    return 0;
}

// Options that need others.
static int s_check(const s_args_t *args, apex_error_t *err)
{
    const master_options_t *o = &args->o;
    if (!o->scenario_path)
        return apex_error_set(err, "-f/--scenario FILE is required");
    if (o->csv_full_history && !o->csv_prefix)
        return apex_error_set(err, "--csv-full-history needs --csv");
    if (o->autoquit >= 0 && !o->autostart)
        return apex_error_set(err, "--autoquit needs --autostart");
    if (o->print_stats && o->headless)
        return apex_error_set(err, "--print-stats is for web UI runs "
                                   "(--headless prints the table already)");
    if (!o->tls_cert != !o->tls_key)
        return apex_error_set(err, "--tls-cert and --tls-key go together");
    if (o->web_auth && args->web_auth_file)
        return apex_error_set(err, "--web-auth and --web-auth-file exclude "
                                   "each other");
    return 0;
}

// The credentials of --web-auth (copied: argv's is wiped) or
// --web-auth-file.
static int s_web_auth(s_args_t *args, apex_error_t *err)
{
    master_options_t *o = &args->o;
    if (args->web_auth_file) {
        apex_error_t e = {""};
        args->web_auth = master_web_auth_read_file(args->web_auth_file, &e);
        if (!args->web_auth)
            return apex_error_set(err, "--web-auth-file %s", e.msg);
        if (!strchr(args->web_auth, ':') || args->web_auth[0] == ':')
            return apex_error_set(err,
                                  "--web-auth-file %s: expected "
                                  "user:password",
                                  args->web_auth_file);
    } else if (o->web_auth) {
        args->web_auth = apex_strdup(o->web_auth);
    }
    o->web_auth = args->web_auth;
    return 0;
}

// Locust's files and names: apex.conf here or ~/.apex.conf (like
// locust.conf and ~/.locust.conf), LOCUST_LOCUSTFILE and "locustfile" for
// the scenario; a file's "master = true" means nothing here (this is the
// master).
static const char *const s_config_files[] = {"~/.apex.conf", "apex.conf", NULL};
static const char *const s_config_ignored[] = {"master", NULL};
static const apex_cli_alias_t s_aliases[] = {
    {"APEX_SCENARIO", "LOCUST_LOCUSTFILE", "locustfile"},
};
static const apex_cli_config_t s_config = {
    s_config_files, s_config_ignored, s_aliases,
    sizeof s_aliases / sizeof s_aliases[0]};

// --help's text above the options: the InfluxDB variables are listed as
// [env NAME] too, like the options' (tests/deploy reads them there).
static const char s_usage[] =
    "usage: apex-master -f SCENARIO [--headless] [-u USERS] [-r RATE] "
    "[-t TIME] [--host URL] [--csv PREFIX] [--processes N | "
    "--expect-workers N]\n"
    "Without --headless the web UI is served on --web-port (8089).\n"
    "\n"
    "--out influxdb=URL reads these variables:\n"
    "  [env APEX_INFLUXDB_USERNAME] [env APEX_INFLUXDB_PASSWORD]  "
    "InfluxDB 1.x basic auth\n"
    "  [env APEX_INFLUXDB_TOKEN]  a token (\"Authorization: Token\")\n"
    "  [env APEX_INFLUXDB_ORGANIZATION]  use InfluxDB 2's /api/v2/write "
    "for this organization\n"
    "  [env APEX_INFLUXDB_BUCKET]  its bucket (default: the URL's last "
    "path segment)\n"
    "  [env APEX_INFLUXDB_TAGS]  tags on every point: key=value,...\n"
    "  [env APEX_INFLUXDB_PUSH_INTERVAL]  time between two batches "
    "(default 1s)\n"
    "  [env APEX_INFLUXDB_QUEUE_POINTS]  points kept while InfluxDB is "
    "slow or down (default 100000); older ones are dropped\n"
    "  [env APEX_INFLUXDB_INSECURE]  true: do not verify InfluxDB's TLS "
    "certificate";

// --gen-keys DIR: write the keys, say what goes where, exit.
static int s_gen_keys(const char *dir)
{
    apex_error_t err = {""};
    if (proto_curve_generate(dir, &err) != 0) {
        fprintf(stderr, "apex-master: --gen-keys: %s\n", err.msg);
        return MASTER_EXIT_USAGE;
    }
    printf("CURVE keys written to %s:\n"
           "  master:  --master-key %s/master.key_secret "
           "--authorized-workers %s/authorized\n"
           "  workers: --master-public-key %s/master.key "
           "--worker-key %s/worker.key_secret\n"
           "Keep the *_secret files private (mode 0600); give each worker "
           "group its own pair by copying its public key into %s/authorized.\n",
           dir, dir, dir, dir, dir, dir);
    return MASTER_EXIT_OK;
}

static int s_run(s_args_t *args, int argc, char **argv);

int main(int argc, char **argv)
{
    s_args_t args = {
        .o = {.users = 1,
              .spawn_rate = 1,
              .expect_workers = 1,
              .bind_host = "*",
              .bind_port = 5557,
              .stop_timeout = -1,
              .exit_code_on_error = MASTER_EXIT_FAILURES,
              .web_host = "",
              .web_port = 8089,
              .autoquit = -1,
              .level = APEX_LOG_INFO},
        .http = {.insecure = -1, .compression = -1},
    };
    apex_error_t err = {""};
    int rc = apex_cli_parse(
        master_cli_options, master_cli_noptions, argc, argv, s_option, &args,
        s_usage, "apex-master " APEX_VERSION " (git " APEX_REVISION ")",
        &s_config, &err);
    if (rc == 1) {
        s_args_free(&args);
        return MASTER_EXIT_OK;
    }
    if (rc != 0) {
        fprintf(stderr, "apex-master: %s\n", err.msg);
        s_args_free(&args);
        return MASTER_EXIT_USAGE;
    }
    rc = args.gen_keys ? s_gen_keys(args.gen_keys) : s_run(&args, argc, argv);
    s_args_free(&args);
    return rc;
}

// Everything after the command line is read: checks, logs, the run.
static int s_run(s_args_t *args, int argc, char **argv)
{
    apex_error_t err = {""};
    master_options_t *o = &args->o;
    if (s_check(args, &err) != 0 || s_web_auth(args, &err) != 0) {
        fprintf(stderr, "apex-master: %s\n", err.msg);
        return MASTER_EXIT_USAGE;
    }
    // The password is no longer in /proc/PID/cmdline (finding 15).
    apex_cli_wipe(argc, argv, "web-auth");
    if (o->logfile && apex_log_to_file(o->logfile, &err) != 0) {
        fprintf(stderr, "apex-master: --logfile %s\n", err.msg);
        return MASTER_EXIT_USAGE;
    }
    // Like Locust without --master: a run with no word about workers
    // runs locally, one worker per core.
    bool local_note = !args->processes_set && !args->expect_workers_set;
    if (local_note)
        o->processes = s_cores();
    if (o->processes > 0 && !args->expect_workers_set)
        o->expect_workers = o->processes;
    if (s_check_curve(o, &err) != 0) {
        fprintf(stderr, "apex-master: %s\n", err.msg);
        return MASTER_EXIT_USAGE;
    }
    apex_log_init("apex.master", o->level);
    if (local_note)
        apex_info("no --expect-workers or --processes: starting %d local "
                  "workers (one per core); --expect-workers N waits for "
                  "workers started elsewhere instead",
                  o->processes);
    // Workers, web clients and --processes' children: descriptors, and
    // the children inherit the limit.
    apex_error_t nofile = {""};
    if (apex_fs_raise_nofile(&nofile) < 0)
        apex_warn("%s", nofile.msg);

    apex_block_signals(true);
    setenv("ZSYS_SIGHANDLER", "false", 1);
    // Before any thread: the InfluxDB writers use libcurl.
    if (o->nouts && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "apex-master: cannot initialise libcurl\n");
        return MASTER_EXIT_ABORTED;
    }

    int exit_code = MASTER_EXIT_USAGE;
    master_t *master = master_new(o, &err, &exit_code);
    if (!master) {
        fprintf(stderr, "apex-master: %s\n", err.msg);
        return exit_code;
    }
    int rc = master_run(master);
    master_destroy(&master);
    if (o->nouts)
        curl_global_cleanup();
    return rc;
}
