// target/options.c - see options.h. getopt_long with opterr off, so every
// message is ours and names the option and the value; numbers are parsed
// whole (no trailing junk, no sign where none is allowed).
#include "target/options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    APEX_TARGET_OPT_PORT = 256,
    APEX_TARGET_OPT_BIND,
    APEX_TARGET_OPT_THREADS,
    APEX_TARGET_OPT_WS_THREADS,
    APEX_TARGET_OPT_DELAY_MS,
    APEX_TARGET_OPT_ERROR_RATE,
    APEX_TARGET_OPT_LOGLEVEL,
    APEX_TARGET_OPT_REQUIRE_LOGIN,
};

static const struct option s_long_options[] = {
    {"port", required_argument, NULL, APEX_TARGET_OPT_PORT},
    {"bind", required_argument, NULL, APEX_TARGET_OPT_BIND},
    {"threads", required_argument, NULL, APEX_TARGET_OPT_THREADS},
    {"ws-threads", required_argument, NULL, APEX_TARGET_OPT_WS_THREADS},
    {"delay-ms", required_argument, NULL, APEX_TARGET_OPT_DELAY_MS},
    {"error-rate", required_argument, NULL, APEX_TARGET_OPT_ERROR_RATE},
    {"loglevel", required_argument, NULL, APEX_TARGET_OPT_LOGLEVEL},
    {"require-login", no_argument, NULL, APEX_TARGET_OPT_REQUIRE_LOGIN},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

// The CPUs this process may run on (its affinity mask, which containers
// and taskset narrow), or the online CPUs if that cannot be read.
static unsigned s_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

// Parse text as a whole decimal number in min..max.
static int s_parse_uint(const char *name, const char *text, unsigned long min,
                        unsigned long max, unsigned long *value,
                        apex_error_t *err)
{
    if (!isdigit((unsigned char)text[0]))
        goto bad;
    errno = 0;
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        goto bad;
    *value = v;
    return 0;
bad:
    return apex_error_set(err, "--%s: '%s': expected an integer %lu..%lu", name,
                          text, min, max);
}

static int s_parse_rate(const char *text, double *value, apex_error_t *err)
{
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || isnan(v) || v < 0.0 ||
        v > 1.0)
        return apex_error_set(err, "--error-rate: '%s': expected a number 0..1",
                              text);
    *value = v;
    return 0;
}

static int s_parse_bind(const char *text, apex_error_t *err)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, text, buf) == 1 ||
        inet_pton(AF_INET6, text, buf) == 1)
        return 0;
    return apex_error_set(err, "--bind: '%s': expected an IPv4 or IPv6 address",
                          text);
}

// One option getopt returned (c), with its value. Returns 0, or -1 with
// err set.
static int s_option(target_options_t *opts, int c, const char *arg,
                    const char *word, apex_error_t *err)
{
    unsigned long v = 0;
    switch (c) {
    case APEX_TARGET_OPT_PORT:
        if (s_parse_uint("port", arg, 0, UINT16_MAX, &v, err) != 0)
            return -1;
        opts->port = (uint16_t)v;
        return 0;
    case APEX_TARGET_OPT_BIND:
        if (s_parse_bind(arg, err) != 0)
            return -1;
        opts->bind = arg;
        return 0;
    case APEX_TARGET_OPT_THREADS:
        if (s_parse_uint("threads", arg, 1, APEX_TARGET_MAX_THREADS, &v, err))
            return -1;
        opts->threads = (unsigned)v;
        return 0;
    case APEX_TARGET_OPT_WS_THREADS:
        if (s_parse_uint("ws-threads", arg, 1, APEX_TARGET_WS_MAX_THREADS, &v,
                         err) != 0)
            return -1;
        opts->ws_threads = (unsigned)v;
        return 0;
    case APEX_TARGET_OPT_DELAY_MS:
        if (s_parse_uint("delay-ms", arg, 0, APEX_TARGET_MAX_DELAY_MS, &v, err))
            return -1;
        opts->delay_ms = (unsigned)v;
        return 0;
    case APEX_TARGET_OPT_ERROR_RATE:
        return s_parse_rate(arg, &opts->error_rate, err);
    case APEX_TARGET_OPT_LOGLEVEL:
        if (apex_log_level_parse(arg, &opts->log_level) != 0)
            return apex_error_set(err,
                                  "--loglevel: '%s': expected DEBUG, "
                                  "INFO, WARNING, ERROR or CRITICAL",
                                  arg);
        return 0;
    case APEX_TARGET_OPT_REQUIRE_LOGIN:
        opts->require_login = true;
        return 0;
    case 'h':
        opts->help = true;
        return 0;
    case 'V':
        opts->version = true;
        return 0;
    case ':':
        return apex_error_set(err, "%s: missing value", word);
    default:
        if (optopt != 0)
            return apex_error_set(err, "unknown option '-%c'", optopt);
        return apex_error_set(err, "unknown option '%s'", word);
    }
}

int target_options_parse(target_options_t *opts, int argc, char **argv,
                         apex_error_t *err)
{
    *opts = (target_options_t){
        .bind = APEX_TARGET_DEFAULT_BIND,
        .port = APEX_TARGET_DEFAULT_PORT,
        .threads = s_cpu_count(),
        .delay_ms = 0,
        .error_rate = 0.0,
        .log_level = APEX_LOG_INFO,
    };
    if (opts->threads > APEX_TARGET_MAX_THREADS)
        opts->threads = APEX_TARGET_MAX_THREADS;
    opts->ws_threads = opts->threads < APEX_TARGET_WS_MAX_THREADS
                           ? opts->threads
                           : APEX_TARGET_WS_MAX_THREADS;

    opterr = 0;
    optind = 0; // 0 makes glibc reinitialize, so parsing can be repeated
    for (;;) {
        int index = -1;
        int c = getopt_long(argc, argv, ":hV", s_long_options, &index);
        if (c == -1)
            break;
        if (s_option(opts, c, optarg, argv[optind - 1], err) != 0)
            return -1;
    }
    if (optind < argc)
        return apex_error_set(err, "unexpected argument '%s'", argv[optind]);
    return 0;
}

void target_options_usage(FILE *out)
{
    fprintf(out,
            "Usage: apex-target [OPTIONS]\n"
            "The demo Project Apex API: an in-memory HTTP server for the "
            "demo, tests\nand benchmarks.\n"
            "\n"
            "  --port N          TCP port (default %d; 0 = pick a free one)\n"
            "  --bind ADDR       IPv4 or IPv6 address (default %s)\n"
            "  --threads N       worker threads (default: number of CPUs)\n"
            "  --ws-threads N    WebSocket threads (default: number of "
            "CPUs)\n"
            "  --delay-ms N      latency added to every request except "
            "/stats\n"
            "                    (0..%d; ?delay_ms=N adds more per request)\n"
            "  --error-rate F    fraction 0..1 of requests to /health and "
            "/api/*\n"
            "                    answered 500 {\"error\":\"injected "
            "failure\"}\n"
            "  --require-login   /api/* answers 401 without the session "
            "cookie\n"
            "                    POST /api/v1/login sets\n"
            "  --loglevel LEVEL  DEBUG, INFO, WARNING, ERROR or CRITICAL\n"
            "  -h, --help        show this help and exit\n"
            "  -V, --version     show the version and exit\n"
            "\n"
            "Routes: GET /health, GET|POST /api/v1/tasks, GET "
            "/api/v1/tasks/{id},\n"
            "GET /api/v1/agents, GET /api/v1/dags, POST "
            "/api/v1/dags/{id}/execute,\n"
            "POST /api/v1/login {\"username\", \"password\"},\n"
            "GET /stats, POST /stats/reset; WebSocket: GET /ws/echo,\n"
            "GET /ws/events?rate=N (1..1000 a second), GET /ws/chat.\n",
            APEX_TARGET_DEFAULT_PORT, APEX_TARGET_DEFAULT_BIND,
            APEX_TARGET_MAX_DELAY_MS);
}
