// master/cli_options.c - see cli_options.h. The help texts are what
// --help prints; tests/deploy checks every APEX_* variable against them.
#include "master/cli_options.h"

const apex_cli_option_t master_cli_options[] = {
    {"scenario", 'f', true, "APEX_SCENARIO", "FILE",
     "scenario JSON file (required)", OPT_SCENARIO},
    {"host", 'H', true, "APEX_HOST", "URL",
     "host to load test, e.g. http://127.0.0.1:8080 (default: $API_URL, "
     "else the scenario's host)",
     OPT_HOST},
    {"users", 'u', true, "APEX_USERS", "N",
     "peak number of concurrent users (default 1)", OPT_USERS},
    {"spawn-rate", 'r', true, "APEX_SPAWN_RATE", "RATE",
     "users started per second (default 1)", OPT_SPAWN_RATE},
    {"run-time", 't', true, "APEX_RUN_TIME", "TIME",
     "stop after this long, e.g. 30s, 5m, 1h30m (default: until stopped)",
     OPT_RUN_TIME},
    {"headless", 0, false, "APEX_HEADLESS", NULL,
     "run without the web UI: start at once, quit at the end", OPT_HEADLESS},
    {"csv", 0, true, "APEX_CSV", "PREFIX",
     "write PREFIX_stats.csv, _stats_history.csv, _failures.csv, "
     "_exceptions.csv",
     OPT_CSV},
    {"csv-full-history", 0, false, "APEX_CSV_FULL_HISTORY", NULL,
     "one history row per entry and interval (needs --csv)",
     OPT_CSV_FULL_HISTORY},
    {"expect-workers", 0, true, "APEX_EXPECT_WORKERS", "N",
     "workers to wait for before starting; given alone, start no local "
     "workers (default: --processes' count)",
     OPT_EXPECT_WORKERS},
    {"expect-workers-max-wait", 0, true, "APEX_EXPECT_WORKERS_MAX_WAIT",
     "SECONDS",
     "give up waiting for workers after this long (default 0 = "
     "forever)",
     OPT_EXPECT_WORKERS_MAX_WAIT},
    {"master-bind-host", 0, true, "APEX_MASTER_BIND_HOST", "ADDR",
     "interface for workers (default * = all)", OPT_BIND_HOST},
    {"master-bind-port", 0, true, "APEX_MASTER_BIND_PORT", "PORT",
     "port for workers (default 5557; 0 = any free port)", OPT_BIND_PORT},
    {"gen-keys", 0, true, NULL, "DIR",
     "write CURVE keys into DIR and exit: master.key (public) and "
     "master.key_secret for the master, worker.key and worker.key_secret "
     "for workers, authorized/worker.key (see --authorized-workers)",
     OPT_GEN_KEYS},
    {"master-key", 0, true, "APEX_MASTER_KEY", "FILE",
     "turn CURVE on: encrypt the worker link with this key pair "
     "(DIR/master.key_secret); needs --authorized-workers or "
     "--allow-any-worker",
     OPT_MASTER_KEY},
    {"authorized-workers", 0, true, "APEX_AUTHORIZED_WORKERS", "DIR",
     "with --master-key: admit only workers whose public key file is in DIR "
     "(read again when it changes)",
     OPT_AUTHORIZED_WORKERS},
    {"allow-any-worker", 0, false, "APEX_ALLOW_ANY_WORKER", NULL,
     "with --master-key: admit any worker that knows the master's public "
     "key (encryption without worker keys)",
     OPT_ALLOW_ANY_WORKER},
    {"worker-key", 0, true, "APEX_WORKER_KEY", "FILE",
     "with --master-key and --processes: the key pair of the local workers "
     "(default: a new one, which only --allow-any-worker admits)",
     OPT_WORKER_KEY},
    {"processes", 0, true, "APEX_PROCESSES", "N",
     "start N local apex-worker processes (-1 = one per core, 0 = none; "
     "default: one per core unless --expect-workers is given)",
     OPT_PROCESSES},
    {"stop-timeout", 's', true, "APEX_STOP_TIMEOUT", "TIME",
     "let stopping users finish their task for up to this long "
     "(default: none)",
     OPT_STOP_TIMEOUT},
    {"exit-code-on-error", 0, true, "APEX_EXIT_CODE_ON_ERROR", "CODE",
     "exit code when requests failed (default 1)", OPT_EXIT_CODE_ON_ERROR},
    {"only-summary", 0, false, "APEX_ONLY_SUMMARY", NULL,
     "print only the final summary, not the periodic table", OPT_ONLY_SUMMARY},
    {"loglevel", 'L', true, "APEX_LOGLEVEL", "LEVEL",
     "DEBUG, INFO, WARNING, ERROR (default INFO)", OPT_LOGLEVEL},
    {"logfile", 0, true, "APEX_LOGFILE", "FILE",
     "append the log to FILE instead of stderr", OPT_LOGFILE},
    {"skip-log", 0, false, "APEX_SKIP_LOG", NULL,
     "no log at all: only the results (with --json, only the JSON)",
     OPT_SKIP_LOG},
    {"print-stats", 0, false, "APEX_PRINT_STATS", NULL,
     "print the stats table to the console with the web UI too",
     OPT_PRINT_STATS},
    {"stages", 0, true, "APEX_STAGES", "STAGES",
     "load shape DURATION:USERS[:RATE],... e.g. 1m:50,3m:50,1m:0 (linear "
     "ramps; overrides the scenario's shape)",
     OPT_STAGES},
    {"threshold", 0, true, NULL, "EXPR",
     "k6-style threshold, repeatable: 'http_req_duration: p(95)<500', "
     "'http_req_failed: rate<0.01', 'http_reqs: rate>100', "
     "'http_req_duration{name:GET /health}: p(99)<20'",
     OPT_THRESHOLD},
    {"tags", 'T', APEX_CLI_LIST, "APEX_TAGS", "TAG",
     "run only tasks with one of these tags (\"--tags a b\" or \"a,b\")",
     OPT_TAGS},
    {"exclude-tags", 'E', APEX_CLI_LIST, "APEX_EXCLUDE_TAGS", "TAG",
     "never run tasks with one of these tags", OPT_EXCLUDE_TAGS},
    {"reset-stats", 0, false, "APEX_RESET_STATS", NULL,
     "reset the statistics once the ramp is complete", OPT_RESET_STATS},
    {"engine", 0, true, "APEX_ENGINE", "ENGINE",
     "HTTP engine for user classes whose scenario names none: auto "
     "(default: plain HTTP/1.1 where it can, libcurl for the rest), curl "
     "or http1",
     OPT_ENGINE},
    {"http-debug", 0, APEX_CLI_OPTIONAL, "APEX_HTTP_DEBUG", "full",
     "workers log each HTTP request and response (headers; =full adds "
     "bodies cut at 1 KiB): for short runs",
     OPT_HTTP_DEBUG},
    // The scenario's "http" options (common/scenario_http_opts.c) for
    // every step: they replace the document's own, a user class's or a
    // step's still win.
    {"insecure", 'k', false, "APEX_INSECURE", NULL,
     "HTTPS: do not verify the server's certificate (\"insecure\")",
     OPT_INSECURE},
    {"ca-bundle", 0, true, "APEX_CA_BUNDLE", "FILE",
     "HTTPS: trust the CAs in this PEM file, not the system's (\"ca_bundle\")",
     OPT_CA_BUNDLE},
    {"client-cert", 0, true, "APEX_CLIENT_CERT", "FILE",
     "HTTPS: client certificate, PEM (\"client_cert\")", OPT_CLIENT_CERT},
    {"client-key", 0, true, "APEX_CLIENT_KEY", "FILE",
     "its key, PEM, when not in --client-cert (\"client_key\")",
     OPT_CLIENT_KEY},
    {"http2", 0, APEX_CLI_OPTIONAL, "APEX_HTTP2", "prior_knowledge",
     "ask for HTTP/2 (TLS's ALPN); =prior_knowledge also on http://; =false "
     "not (\"http2\")",
     OPT_HTTP2},
    {"proxy", 0, true, "APEX_PROXY", "URL",
     "proxy for every request; \"\" none (default: http_proxy, HTTPS_PROXY, "
     "NO_PROXY as libcurl reads them)",
     OPT_PROXY},
    {"compression", 0, false, "APEX_COMPRESSION", NULL,
     "send Accept-Encoding and decode the bodies (\"compression\")",
     OPT_COMPRESSION},
    {"http-auth", 0, true, "APEX_HTTP_AUTH", "USER:PASSWORD",
     "basic auth on every request (\"auth\")", OPT_HTTP_AUTH},
    {"connect-timeout", 0, true, "APEX_CONNECT_TIMEOUT", "SECONDS",
     "time for a connection, apart from a step's timeout "
     "(\"connect_timeout\")",
     OPT_CONNECT_TIMEOUT},
    {"json", 0, false, "APEX_JSON", NULL,
     "print the final stats to stdout as JSON (Locust's --json), and no "
     "tables",
     OPT_JSON},
    {"json-file", 0, true, "APEX_JSON_FILE", "FILE",
     "write the run as one JSON document (stats, thresholds, workers)",
     OPT_JSON_FILE},
    {"html", 0, true, "APEX_HTML", "FILE",
     "write a self-contained HTML report with charts", OPT_HTML},
    {"web-host", 0, true, "APEX_WEB_HOST", "ADDR",
     "web UI address (default: all interfaces)", OPT_WEB_HOST},
    {"web-port", 'P', true, "APEX_WEB_PORT", "PORT",
     "web UI port (default 8089; 0 = any free port)", OPT_WEB_PORT},
    {"web-auth", 0, true, "APEX_WEB_AUTH", "USER:PASS",
     "basic auth on every web route (hidden from the process list once read; "
     "prefer --web-auth-file)",
     OPT_WEB_AUTH},
    {"web-auth-file", 0, true, "APEX_WEB_AUTH_FILE", "FILE",
     "--web-auth read from FILE's first line, so the password is on no "
     "command line",
     OPT_WEB_AUTH_FILE},
    {"tls-cert", 0, true, "APEX_TLS_CERT", "FILE",
     "serve the web UI (and --metrics) over HTTPS with this PEM certificate "
     "(chain); needs --tls-key",
     OPT_TLS_CERT},
    {"tls-key", 0, true, "APEX_TLS_KEY", "FILE",
     "the PEM private key of --tls-cert", OPT_TLS_KEY},
    {"autostart", 0, false, "APEX_AUTOSTART", NULL,
     "with the web UI: start at once (like --headless) and stop, not quit, "
     "at the end",
     OPT_AUTOSTART},
    {"autoquit", 0, true, "APEX_AUTOQUIT", "SECONDS",
     "with --autostart: quit this long after the test stops", OPT_AUTOQUIT},
    {"metrics", 0, false, "APEX_METRICS", NULL,
     "with --headless: serve GET /metrics (Prometheus) on --web-host and "
     "--web-port; the web UI always serves it",
     OPT_METRICS},
    {"out", 'o', true, "APEX_OUT", "OUTPUT",
     "send metrics while the test runs, repeatable (k6's syntax): "
     "influxdb=http://HOST:8086/DATABASE (the APEX_INFLUXDB_* variables "
     "above); --out on the command line replaces APEX_OUT's",
     OPT_OUT},
    {"run-id", 0, true, "APEX_RUN_ID", "ID",
     "this run's id, a run_id tag on InfluxDB points and a run_id label in "
     "/metrics: letters, digits, . _ : - (default: the start time and a "
     "random number, e.g. 20250101-120000-3fa2)",
     OPT_RUN_ID},
};

const size_t master_cli_noptions =
    sizeof master_cli_options / sizeof master_cli_options[0];
