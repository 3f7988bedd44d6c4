// tests/unit/test_cli.c - value parsers (integers, numbers, Locust's
// durations) and apex_cli_parse with a small option table: environment
// variables first, then argv; flags from the environment; long, short,
// "--name=value" and clustered options; unknown options, missing values,
// stray arguments and handler errors with their "--name" / variable
// prefixes; --help and --version (printed to a temporary file, which is
// checked); configuration files (Locust's locust.conf format), LOCUST_*
// aliases and their precedence (files < environment < command line), and
// values that are the next option. Parsing several times in one process
// must not leak state.
#include "tests/unit/tests.h"

#include <math.h>
#include <unistd.h>

#include "common/cli.h"

#define S_MAX_USERS 1000000
#define S_MAX_ARGS 16

enum {
    S_USERS = 1,
    S_RATE,
    S_RUN_TIME,
    S_HEADLESS,
    S_VERBOSE,
    S_MASTER_HOST,
    S_QUIET,
    S_TAGS,
};

static const apex_cli_option_t s_options[] = {
    {"users", 'u', true, "APEX_TEST_USERS", "N",
     "peak number of users (default 1)", S_USERS},
    {"spawn-rate", 'r', true, "APEX_TEST_SPAWN_RATE", "R",
     "users started per second (default 1)", S_RATE},
    {"run-time", 't', true, "APEX_TEST_RUN_TIME", "TIME",
     "stop after TIME, e.g. 1h30m (default: never)", S_RUN_TIME},
    {"headless", 0, false, "APEX_TEST_HEADLESS", NULL, "run without the web UI",
     S_HEADLESS},
    {"verbose", 'v', false, NULL, NULL, "more logging", S_VERBOSE},
    {"master-host", 0, true, "APEX_TEST_MASTER_HOST", "HOST",
     "master to connect to (default 127.0.0.1)", S_MASTER_HOST},
    {"quiet", 'q', false, NULL, NULL, "always refused by the handler", S_QUIET},
    {"tags", 'T', APEX_CLI_LIST, NULL, "TAG", "tags, a list", S_TAGS},
};
#define S_NOPTIONS (sizeof s_options / sizeof s_options[0])

static const char *const s_env_vars[] = {
    "APEX_TEST_USERS",      "APEX_TEST_SPAWN_RATE",  "APEX_TEST_RUN_TIME",
    "APEX_TEST_HEADLESS",   "APEX_TEST_MASTER_HOST", "LOCUST_TEST_USERS",
    "LOCUST_TEST_HEADLESS", "LOCUST_TEST_NODE",      "LOCUST_TEST_MASTER_HOST",
};

// What the handler saw.
typedef struct {
    long users;      // -1 until set
    double rate;     // -1 until set
    double run_time; // -1 until set
    int headless;    // times the flag was given
    int verbose;     // times the flag was given
    char host[64];   // "" until set
    char tags[64];   // list values joined by '|'

    int calls;                            // handler calls
    int order[S_MAX_ARGS];                // option ids in call order
    apex_cli_source_t source[S_MAX_ARGS]; // where each value came from
} s_conf_t;

static int s_handler(int id, const char *arg, void *user, apex_error_t *err)
{
    s_conf_t *conf = user;
    CHECK(conf->calls < S_MAX_ARGS);
    conf->source[conf->calls] = apex_cli_source();
    conf->order[conf->calls++] = id;
    switch (id) {
    case S_USERS:
        CHECK(arg != NULL);
        return apex_parse_long(arg, 1, S_MAX_USERS, &conf->users, err);
    case S_RATE:
        CHECK(arg != NULL);
        return apex_parse_double(arg, 0.001, 1e6, &conf->rate, err);
    case S_RUN_TIME:
        CHECK(arg != NULL);
        return apex_parse_duration(arg, &conf->run_time, err);
    case S_HEADLESS:
        CHECK(arg == NULL); // a flag has no value
        conf->headless++;
        return 0;
    case S_VERBOSE:
        CHECK(arg == NULL);
        conf->verbose++;
        return 0;
    case S_MASTER_HOST:
        CHECK(arg != NULL);
        if (!*arg)
            return apex_error_set(err, "expected a host name");
        snprintf(conf->host, sizeof conf->host, "%s", arg);
        return 0;
    case S_QUIET:
        return apex_error_set(err, "not allowed here");
    case S_TAGS:
        CHECK(arg != NULL);
        if (strcmp(arg, "bad") == 0)
            return apex_error_set(err, "not a tag");
        snprintf(conf->tags + strlen(conf->tags),
                 sizeof conf->tags - strlen(conf->tags), "%s%s",
                 conf->tags[0] ? "|" : "", arg);
        return 0;
    default:
        CHECK(false);
        return -1;
    }
}

static void s_conf_init(s_conf_t *conf)
{
    memset(conf, 0, sizeof *conf);
    conf->users = -1;
    conf->rate = -1;
    conf->run_time = -1;
}

static void s_clear_env(void)
{
    for (size_t i = 0; i < sizeof s_env_vars / sizeof s_env_vars[0]; i++)
        CHECK(unsetenv(s_env_vars[i]) == 0);
}

// Parse a NULL-terminated list of arguments (after the program name)
// into a fresh conf; returns apex_cli_parse's result. getopt may permute
// argv, so it is copied into a mutable array first.
static int s_parse_config(s_conf_t *conf, apex_error_t *err,
                          const char *const *args,
                          const apex_cli_config_t *config)
{
    char *argv[S_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"apex-test";
    for (; *args; args++) {
        CHECK(argc <= S_MAX_ARGS);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    s_conf_init(conf);
    err->msg[0] = '\0';
    return apex_cli_parse(s_options, S_NOPTIONS, argc, argv, s_handler, conf,
                          "usage: apex-test [options]", "apex-test 1.2.3",
                          config, err);
}

static int s_parse(s_conf_t *conf, apex_error_t *err, const char *const *args)
{
    return s_parse_config(conf, err, args, NULL);
}

// Parse expecting failure with a message containing `what`.
static void s_parse_fails(const char *const *args, const char *what)
{
    s_conf_t conf;
    apex_error_t err;
    int rc = s_parse(&conf, &err, args);
    if (rc != -1 || !strstr(err.msg, what))
        fprintf(stderr, "parse: rc %d, \"%s\", expected \"%s\"\n", rc, err.msg,
                what);
    CHECK_EQ(rc, -1);
    CHECK(strstr(err.msg, what) != NULL);
}

// Run a parse with stdout sent to a temporary file; returns the parse
// result and what was printed (the caller frees it).
static int s_parse_printing(const char *const *args, char **out)
{
    char path[] = "/tmp/apex-test-cli-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0);
    CHECK(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
    s_conf_t conf;
    apex_error_t err;
    int rc = s_parse(&conf, &err, args);
    fflush(stdout);
    CHECK(dup2(saved, STDOUT_FILENO) == STDOUT_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    CHECK(size >= 0);
    *out = calloc(1, (size_t)size + 1);
    CHECK(*out != NULL);
    CHECK(pread(fd, *out, (size_t)size, 0) == size);
    close(fd);
    CHECK_STR(err.msg, "");
    return rc;
}

typedef struct {
    const char *text; // as typed
    double seconds;   // what it means
} s_duration_t;

static void s_test_values(void)
{
    apex_error_t err = {""};
    long l = 0;
    CHECK_EQ(apex_parse_long("20", 1, 100, &l, &err), 0);
    CHECK_EQ(l, 20);
    CHECK_EQ(apex_parse_long("-5", -10, 10, &l, &err), 0);
    CHECK_EQ(l, -5);
    CHECK_EQ(apex_parse_long("1000000", 1, S_MAX_USERS, &l, &err), 0);
    CHECK_EQ(l, 1000000);
    static const char *const bad_longs[] = {
        "",        "x", "5y", "1.5", "0x10",
        "1000001", "0", "-1", "5 ",  "99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad_longs / sizeof bad_longs[0]; i++) {
        l = 77;
        err.msg[0] = '\0';
        CHECK_EQ(apex_parse_long(bad_longs[i], 1, S_MAX_USERS, &l, &err), -1);
        CHECK_EQ(l, 77); // untouched
        CHECK(strstr(err.msg, "expected an integer from 1 to 1000000") != NULL);
        char got[64];
        snprintf(got, sizeof got, "got '%s'", bad_longs[i]);
        CHECK(strstr(err.msg, got) != NULL);
    }
    CHECK_EQ(apex_parse_long(NULL, 1, 2, &l, &err), -1);
    CHECK_EQ(apex_parse_long("x", 1, 2, &l, NULL), -1);

    double d = 0;
    CHECK_EQ(apex_parse_double("1.5", 0, 10, &d, &err), 0);
    CHECK(d == 1.5);
    CHECK_EQ(apex_parse_double("2", 0, 10, &d, &err), 0);
    CHECK(d == 2);
    CHECK_EQ(apex_parse_double("1e3", 0, 1e6, &d, &err), 0);
    CHECK(d == 1000);
    CHECK_EQ(apex_parse_double("-0.25", -1, 1, &d, &err), 0);
    CHECK(d == -0.25);
    static const char *const bad_doubles[] = {
        "", "x", "1.5x", "nan", "inf", "-inf", "11", "-1", "1e999",
    };
    for (size_t i = 0; i < sizeof bad_doubles / sizeof bad_doubles[0]; i++) {
        d = 77;
        err.msg[0] = '\0';
        CHECK_EQ(apex_parse_double(bad_doubles[i], 0, 10, &d, &err), -1);
        CHECK(d == 77);
        CHECK(strstr(err.msg, "expected a number from 0 to 10") != NULL);
    }
    CHECK_EQ(apex_parse_double(NULL, 0, 10, &d, &err), -1);

    // Locust's duration formats, plus milliseconds and fractions.
    static const s_duration_t good[] = {
        {"20", 20},     {"20s", 20},     {"3m", 180},
        {"2h", 7200},   {"1h30m", 5400}, {"3h30m10s", 12610},
        {"500ms", 0.5}, {"1.5s", 1.5},   {"0", 0},
        {"1m30s", 90},  {"90m", 5400},   {"2h500ms", 7200.5},
        {"0.5h", 1800},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        d = -1;
        err.msg[0] = '\0';
        if (apex_parse_duration(good[i].text, &d, &err) != 0)
            fprintf(stderr, "duration '%s': %s\n", good[i].text, err.msg);
        CHECK_STR(err.msg, "");
        CHECK_NEAR(d, good[i].seconds, 1e-9);
    }
    static const char *const bad[] = {
        "",     "x",    "5y",  "-1",  "1h-2m", "s",     "ms",  "h1",
        "20 s", "1h30", "+5s", "nan", "inf",   "1h 30", "--1", "5m-",
    };
    // Too long: seconds * 1e6 must stay an integer (found by fuzzing).
    static const char *const too_long[] = {"1e308", "1e308h", "2e9",
                                           "400000000h"};
    for (size_t i = 0; i < sizeof too_long / sizeof too_long[0]; i++) {
        d = -1;
        CHECK(apex_parse_duration(too_long[i], &d, &err) == -1);
        CHECK(d == -1);
        CHECK(strstr(err.msg, "longer than 1e+09 seconds") != NULL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = -1;
        err.msg[0] = '\0';
        if (apex_parse_duration(bad[i], &d, &err) != -1)
            fprintf(stderr, "duration '%s' accepted as %g\n", bad[i], d);
        CHECK(d == -1);
        CHECK(strstr(err.msg, "expected a duration such as 20, 20s") != NULL);
        char got[64];
        snprintf(got, sizeof got, "got '%s'", bad[i]);
        CHECK(strstr(err.msg, got) != NULL);
    }
    CHECK_EQ(apex_parse_duration(NULL, &d, &err), -1);
    CHECK_EQ(apex_parse_duration("x", &d, NULL), -1);
}

static void s_test_parse(void)
{
    s_conf_t conf;
    apex_error_t err;
    s_clear_env();

    // No arguments: nothing called.
    const char *const none[] = {NULL};
    CHECK_EQ(s_parse(&conf, &err, none), 0);
    CHECK_EQ(conf.calls, 0);

    // Long, short, "=value" and a cluster of short flags with a value.
    const char *const mixed[] = {
        "--users",          "10",         "-r", "2.5",
        "--run-time=1h30m", "-vvu",       "12", "--master-host",
        "10.0.0.1",         "--headless", NULL};
    CHECK_EQ(s_parse(&conf, &err, mixed), 0);
    CHECK_STR(err.msg, "");
    CHECK_EQ(conf.users, 12);
    CHECK(conf.rate == 2.5);
    CHECK(conf.run_time == 5400);
    CHECK_EQ(conf.verbose, 2);
    CHECK_EQ(conf.headless, 1);
    CHECK_STR(conf.host, "10.0.0.1");
    static const int mixed_order[] = {S_USERS,       S_RATE,    S_RUN_TIME,
                                      S_VERBOSE,     S_VERBOSE, S_USERS,
                                      S_MASTER_HOST, S_HEADLESS};
    CHECK_EQ(conf.calls, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(conf.order[i], mixed_order[i]);

    // The environment is applied first; argv overrides it.
    CHECK(setenv("APEX_TEST_USERS", "5", 1) == 0);
    CHECK(setenv("APEX_TEST_RUN_TIME", "3m", 1) == 0);
    CHECK(setenv("APEX_TEST_MASTER_HOST", "master.local", 1) == 0);
    const char *const override[] = {"-u", "7", NULL};
    CHECK_EQ(s_parse(&conf, &err, override), 0);
    CHECK_EQ(conf.users, 7);
    CHECK(conf.run_time == 180);
    CHECK_STR(conf.host, "master.local");
    CHECK_EQ(conf.calls, 4);
    CHECK_EQ(conf.order[0], S_USERS); // from the environment
    CHECK_EQ(conf.order[3], S_USERS); // from argv, last
    CHECK_EQ(s_parse(&conf, &err, none), 0);
    CHECK_EQ(conf.users, 5);
    // An empty variable counts as unset (CI systems pass empty inputs).
    s_clear_env();
    CHECK(setenv("APEX_TEST_MASTER_HOST", "", 1) == 0);
    CHECK_EQ(s_parse(&conf, &err, none), 0);
    CHECK_EQ(conf.calls, 0);
    s_clear_env();

    // Flags from the environment: 1/true/yes/on in any case set them;
    // 0/false/no/off and anything else leave them unset.
    static const char *const truthy[] = {"1", "true", "TRUE", "yes", "On"};
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        CHECK(setenv("APEX_TEST_HEADLESS", truthy[i], 1) == 0);
        CHECK_EQ(s_parse(&conf, &err, none), 0);
        CHECK_EQ(conf.headless, 1);
    }
    static const char *const falsy[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
        CHECK(setenv("APEX_TEST_HEADLESS", falsy[i], 1) == 0);
        CHECK_EQ(s_parse(&conf, &err, none), 0);
        CHECK_EQ(conf.headless, 0);
        CHECK_EQ(conf.calls, 0);
    }
    s_clear_env();
}

// Errors: handler errors with the option's or variable's name, unknown
// options, missing values, stray arguments; getopt's state after them.
static void s_test_parse_errors(void)
{
    s_conf_t conf;
    apex_error_t err;
    s_clear_env();
    const char *const none[] = {NULL};
    const char *const override[] = {"-u", "7", NULL};

    // Handler errors carry the option's long name, also when given short,
    // or the variable's name.
    const char *const zero[] = {"--users", "0", NULL};
    s_parse_fails(zero, "--users: expected an integer from 1 to 1000000, "
                        "got '0'");
    const char *const short_bad[] = {"-u", "many", NULL};
    s_parse_fails(short_bad, "--users: expected an integer");
    const char *const bad_time[] = {"--run-time", "5y", NULL};
    s_parse_fails(bad_time, "--run-time: expected a duration");
    const char *const bad_rate[] = {"-r", "0", NULL};
    s_parse_fails(bad_rate, "--spawn-rate: expected a number");
    CHECK(setenv("APEX_TEST_USERS", "abc", 1) == 0);
    s_parse_fails(none, "APEX_TEST_USERS: expected an integer from 1 to "
                        "1000000, got 'abc'");
    // A bad variable fails even when argv would override it.
    s_parse_fails(override, "APEX_TEST_USERS: ");
    s_clear_env();
    // A handler error stops the parse: later options are not applied.
    const char *const stops[] = {"-u", "0", "-v", NULL};
    CHECK_EQ(s_parse(&conf, &err, stops), -1);
    CHECK_EQ(conf.verbose, 0);

    // Unknown options, missing values and stray arguments.
    const char *const unknown[] = {"--bogus", NULL};
    s_parse_fails(unknown, "--bogus: unknown option (see --help)");
    const char *const unknown_short[] = {"-x", NULL};
    s_parse_fails(unknown_short, "-x: unknown option");
    const char *const flag_value[] = {"--headless=yes", NULL};
    s_parse_fails(flag_value, "--headless=yes");
    const char *const missing[] = {"--users", NULL};
    s_parse_fails(missing, "--users: expected a value");
    const char *const missing_short[] = {"-v", "-u", NULL};
    s_parse_fails(missing_short, "-u: expected a value");
    const char *const stray[] = {"-u", "3", "locustfile.py", NULL};
    s_parse_fails(stray, "locustfile.py: unexpected argument (see --help)");
    const char *const stray_first[] = {"extra", "--users", "3", NULL};
    s_parse_fails(stray_first, "extra: unexpected argument");
    const char *const after_dashes[] = {"--", "-u", NULL};
    s_parse_fails(after_dashes, "-u: unexpected argument");

    // A failure in the middle of a cluster of short flags ("-qv") must
    // not leave getopt's position behind for the next parse.
    const char *const cluster[] = {"-qv", NULL};
    s_parse_fails(cluster, "--quiet: not allowed here");
    const char *const fresh[] = {"--users", "9", NULL};
    CHECK_EQ(s_parse(&conf, &err, fresh), 0);
    CHECK_EQ(conf.verbose, 0);
    CHECK_EQ(conf.calls, 1);
    CHECK_EQ(conf.users, 9);
    // Parsing the same arguments twice gives the same result.
    const char *const twice[] = {"-vvu", "12", "--headless", NULL};
    CHECK_EQ(s_parse(&conf, &err, twice), 0);
    CHECK_EQ(conf.calls, 4);
    CHECK_EQ(s_parse(&conf, &err, twice), 0);
    CHECK_EQ(conf.calls, 4);
    CHECK_EQ(conf.verbose, 2);
}

static void s_test_help(void)
{
    // --help and -h print the usage and every option, then return 1
    // without calling the handler for later options.
    char *out = NULL;
    const char *const help[] = {"--help", "--users", "0", NULL};
    CHECK_EQ(s_parse_printing(help, &out), 1);
    CHECK(strncmp(out, "usage: apex-test [options]\n", 27) == 0);
    static const char *const expected[] = {
        "-u, --users N",
        "peak number of users (default 1)",
        "[env APEX_TEST_USERS]",
        "    --headless ",
        "run without the web UI [env APEX_TEST_HEADLESS]",
        "    --master-host HOST",
        "-v, --verbose ",
        "-h, --help",
        "-V, --version",
        "--config FILE",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!strstr(out, expected[i]))
            fprintf(stderr, "help lacks \"%s\":\n%s", expected[i], out);
        CHECK(strstr(out, expected[i]) != NULL);
    }
    // One line per option, plus usage, a blank line, "options:", config,
    // help and version.
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK_EQ(lines, S_NOPTIONS + 6);
    // -v has no env: no "[env" on its line.
    const char *v = strstr(out, "-v, --verbose");
    CHECK(v != NULL);
    const char *eol = strchr(v, '\n');
    CHECK(eol != NULL);
    CHECK(memmem(v, (size_t)(eol - v), "[env", 4) == NULL);
    free(out);
    const char *const short_help[] = {"-h", NULL};
    CHECK_EQ(s_parse_printing(short_help, &out), 1);
    CHECK(strstr(out, "-V, --version") != NULL);
    free(out);

    // --version and -V print the version only.
    const char *const version[] = {"--version", NULL};
    CHECK_EQ(s_parse_printing(version, &out), 1);
    CHECK_STR(out, "apex-test 1.2.3\n");
    free(out);
    const char *const short_version[] = {"-u", "3", "-V", NULL};
    CHECK_EQ(s_parse_printing(short_version, &out), 1);
    CHECK_STR(out, "apex-test 1.2.3\n");
    free(out);

    // apex_cli_help to any stream, with an empty table.
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f != NULL);
    apex_cli_help(f, "usage: x", s_options, 0);
    fclose(f);
    CHECK(strncmp(text, "usage: x\n\noptions:\n", 19) == 0);
    CHECK(strstr(text, "--users") == NULL);
    CHECK(strstr(text, "-h, --help") != NULL);
    free(text);

    // An empty table parses an empty command line.
    char *argv[] = {(char *)"x", NULL};
    apex_error_t err = {""};
    CHECK_EQ(apex_cli_parse(s_options, 0, 1, argv, s_handler, NULL, "u", "v",
                            NULL, &err),
             0);
}

// Write text to dir/name; returns the path (static buffer of the caller).
static void s_write(char *path, size_t size, const char *dir, const char *name,
                    const char *text)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

// Parse with config expecting failure with a message containing what.
static void s_config_fails(const char *const *args,
                           const apex_cli_config_t *config, const char *what)
{
    s_conf_t conf;
    apex_error_t err;
    int rc = s_parse_config(&conf, &err, args, config);
    if (rc != -1 || !strstr(err.msg, what))
        fprintf(stderr, "parse: rc %d, \"%s\", expected \"%s\"\n", rc, err.msg,
                what);
    CHECK_EQ(rc, -1);
    CHECK(strstr(err.msg, what) != NULL);
}

// LOCUST_* variables: derived names, an alias's own name, APEX_* wins.
static void s_test_locust_env(const apex_cli_config_t *config)
{
    s_conf_t conf;
    apex_error_t err;
    const char *const none[] = {NULL};
    s_clear_env();
    CHECK(setenv("LOCUST_TEST_USERS", "4", 1) == 0);
    CHECK(setenv("LOCUST_TEST_HEADLESS", "true", 1) == 0);
    CHECK(setenv("LOCUST_TEST_NODE", "10.1.1.1", 1) == 0);
    CHECK(setenv("LOCUST_TEST_MASTER_HOST", "10.9.9.9", 1) == 0);
    CHECK_EQ(s_parse_config(&conf, &err, none, config), 0);
    CHECK_EQ(conf.users, 4);
    CHECK_EQ(conf.headless, 1);
    CHECK_STR(conf.host, "10.1.1.1"); // the alias, not the derived name
    CHECK(setenv("APEX_TEST_USERS", "5", 1) == 0);
    CHECK_EQ(s_parse_config(&conf, &err, none, config), 0);
    CHECK_EQ(conf.users, 5);
    CHECK(setenv("LOCUST_TEST_USERS", "many", 1) == 0);
    CHECK(unsetenv("APEX_TEST_USERS") == 0);
    s_config_fails(none, config, "LOCUST_TEST_USERS: expected an integer");
    s_clear_env();
}

// Files < environment < command line; later files win; --config last.
static void s_test_config_precedence(const char *dir,
                                     const apex_cli_config_t *config)
{
    s_conf_t conf;
    apex_error_t err;
    char path[512], other[512];
    s_write(path, sizeof path, dir, "first.conf",
            "# comment\n; another\n[locust]\nusers = 3\nspawn_rate: 2\n"
            "headless = true\nrun-time = \"1m\"\nworker = true\n"
            "node = 10.2.2.2\n\n");
    const char *const none[] = {NULL};
    CHECK_EQ(s_parse_config(&conf, &err, none, config), 0);
    CHECK_STR(err.msg, "");
    CHECK_EQ(conf.users, 3);
    CHECK(conf.rate == 2);
    CHECK_EQ(conf.headless, 1);
    CHECK(conf.run_time == 60);
    CHECK_STR(conf.host, "10.2.2.2"); // the alias's key

    CHECK(setenv("APEX_TEST_USERS", "7", 1) == 0);
    CHECK_EQ(s_parse_config(&conf, &err, none, config), 0);
    CHECK_EQ(conf.users, 7);
    const char *const cli[] = {"-u", "9", NULL};
    CHECK_EQ(s_parse_config(&conf, &err, cli, config), 0);
    CHECK_EQ(conf.users, 9);
    // Each value says where it came from, in the order applied.
    CHECK_EQ(conf.order[0], S_USERS);
    CHECK_EQ(conf.source[0], APEX_CLI_FROM_FILE);
    CHECK_EQ(conf.order[conf.calls - 2], S_USERS);
    CHECK_EQ(conf.source[conf.calls - 2], APEX_CLI_FROM_ENV);
    CHECK_EQ(conf.order[conf.calls - 1], S_USERS);
    CHECK_EQ(conf.source[conf.calls - 1], APEX_CLI_FROM_ARGV);
    s_clear_env();

    // --config FILE comes after the default files, before the variables.
    s_write(other, sizeof other, dir, "other.conf",
            "users = 4\nheadless = off\n");
    const char *const explicit[] = {"--config", other, NULL};
    CHECK_EQ(s_parse_config(&conf, &err, explicit, config), 0);
    CHECK_EQ(conf.users, 4);
    CHECK_EQ(conf.headless, 1); // "off" leaves the first file's flag
    char eq[600];
    snprintf(eq, sizeof eq, "--config=%s", other);
    const char *const explicit_eq[] = {eq, "-u", "11", NULL};
    CHECK_EQ(s_parse_config(&conf, &err, explicit_eq, config), 0);
    CHECK_EQ(conf.users, 11);
    unlink(other);
    unlink(path);
}

// What a bad file or value says, with the file and line.
static void s_test_config_errors(const char *dir,
                                 const apex_cli_config_t *config)
{
    char path[512], want[600];
    const char *const none[] = {NULL};
    static const struct {
        const char *text;
        const char *what;
    } bad[] = {
        {"users = 3\nusers = x\n", ":2: users: expected an integer"},
        {"bogus = 1\n", ":1: unknown option 'bogus'"},
        {"users 3\n", ":1: expected 'key = value', got 'users 3'"},
        {"headless = maybe\n", ":1: headless: expected true or false"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write(path, sizeof path, dir, "first.conf", bad[i].text);
        snprintf(want, sizeof want, "%s%s", path, bad[i].what);
        s_config_fails(none, config, want);
    }
    unlink(path);
    const char *const missing[] = {"--config", "/nonexistent/apex.conf", NULL};
    s_config_fails(missing, config,
                   "/nonexistent/apex.conf: cannot read: No such file");
    // A value that is the next option is refused (Locust's habit of
    // "--json --only-summary" must not write a file "--only-summary").
    const char *const next[] = {"--master-host", "--headless", NULL};
    s_config_fails(next, config,
                   "--master-host: expected a value, got the option "
                   "'--headless'");
    const char *const next_short[] = {"-u", "--headless", NULL};
    s_config_fails(next_short, config, "--users: expected a value");
}

// A list option takes the words after it, up to the next option.
static void s_test_list(void)
{
    s_conf_t conf;
    apex_error_t err;
    s_clear_env();
    const char *const words[] = {"--tags", "a",  "b", "-u",
                                 "3",      "-T", "c", NULL};
    CHECK_EQ(s_parse(&conf, &err, words), 0);
    CHECK_STR(conf.tags, "a|b|c");
    CHECK_EQ(conf.users, 3);
    const char *const eq[] = {"--tags=x", "y", "--headless", NULL};
    CHECK_EQ(s_parse(&conf, &err, eq), 0);
    CHECK_STR(conf.tags, "x|y");
    CHECK_EQ(conf.headless, 1);
    // After another option, a stray word is no tag.
    const char *const stray[] = {"--tags", "a", "-u", "3", "c", NULL};
    s_parse_fails(stray, "c: unexpected argument");
    const char *const after_flag[] = {"-T", "a", "--headless", "c", NULL};
    s_parse_fails(after_flag, "c: unexpected argument");
    const char *const bad[] = {"--tags", "a", "bad", NULL};
    s_parse_fails(bad, "--tags: not a tag");
    const char *const next[] = {"--tags", "--users", "3", NULL};
    s_parse_fails(next, "--tags: expected a value, got the option '--users'");
}

static void s_test_config(void)
{
    char dir[] = "/tmp/apex-test-cli-conf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char first[600];
    snprintf(first, sizeof first, "%s/first.conf", dir);
    // "~/" is $HOME: the second default file lives there.
    const char *home = getenv("HOME");
    char *saved_home = home ? strdup(home) : NULL;
    CHECK(setenv("HOME", dir, 1) == 0);
    const char *const files[] = {first, "~/second.conf", NULL};
    const char *const ignored[] = {"worker", NULL};
    const apex_cli_alias_t aliases[] = {
        {"APEX_TEST_MASTER_HOST", "LOCUST_TEST_NODE", "node"},
    };
    const apex_cli_config_t config = {files, ignored, aliases, 1};

    s_test_locust_env(&config);
    s_test_config_precedence(dir, &config);
    s_test_config_errors(dir, &config);

    // A later default file wins over an earlier one.
    s_conf_t conf;
    apex_error_t err;
    char path[512], second[512];
    const char *const none[] = {NULL};
    s_write(path, sizeof path, dir, "first.conf", "users = 3\n");
    s_write(second, sizeof second, dir, "second.conf", "users = 6\n");
    CHECK_EQ(s_parse_config(&conf, &err, none, &config), 0);
    CHECK_EQ(conf.users, 6);
    unlink(second);
    unlink(path);
    // No files at all: nothing called.
    CHECK_EQ(s_parse_config(&conf, &err, none, &config), 0);
    CHECK_EQ(conf.calls, 0);

    if (saved_home)
        CHECK(setenv("HOME", saved_home, 1) == 0);
    free(saved_home);
    CHECK(rmdir(dir) == 0);
}

void test_cli(bool verbose)
{
    (void)verbose;
    s_test_values();
    s_test_parse();
    s_test_parse_errors();
    s_test_help();
    s_test_config();
    s_test_list();
}
