// common/cli.c - see cli.h. Built on getopt_long; the long option table
// is generated from the program's apex_cli_option_t table.
#include "common/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

#define APEX_CLI_HELP_ID -1000
#define APEX_MAX_DURATION_S 1e9 // ~31 years: seconds * 1e6 fits uint64_t
#define APEX_CLI_VERSION_ID -1001
#define APEX_CLI_CONFIG_ID -1002
#define APEX_CLI_ENV_MAX 128   // a derived LOCUST_* name
#define APEX_CLI_KEY_MAX 64    // a configuration key
#define APEX_CLI_LINE_MAX 4096 // a configuration line
#define APEX_CLI_WHERE_MAX 512 // "FILE:LINE: option" in messages
#define APEX_CLI_ENV_PREFIX "APEX_"
#define APEX_CLI_LOCUST_PREFIX "LOCUST_"

int apex_parse_long(const char *text, long min, long max, long *out,
                    apex_error_t *err)
{
    char *end = NULL;
    errno = 0;
    long v = text && *text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || errno || *end || v < min || v > max)
        return apex_error_set(err,
                              "expected an integer from %ld to %ld, "
                              "got '%s'",
                              min, max, text ? text : "");
    *out = v;
    return 0;
}

int apex_parse_double(const char *text, double min, double max, double *out,
                      apex_error_t *err)
{
    char *end = NULL;
    errno = 0;
    double v = text && *text ? strtod(text, &end) : NAN;
    if (!text || !*text || errno || *end || !isfinite(v) || v < min || v > max)
        return apex_error_set(err,
                              "expected a number from %g to %g, got "
                              "'%s'",
                              min, max, text ? text : "");
    *out = v;
    return 0;
}

int apex_parse_duration(const char *text, double *seconds, apex_error_t *err)
{
    const char *p = text ? text : "";
    double total = 0;
    bool any = false;
    while (*p) {
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0 || *p == '-' ||
            *p == '+')
            goto bad;
        p = end;
        double unit = 1;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 0.001;
            p += 2;
        } else if (*p == 'h') {
            unit = 3600;
            p++;
        } else if (*p == 'm') {
            unit = 60;
            p++;
        } else if (*p == 's') {
            p++;
        } else if (*p != '\0' || any) {
            goto bad; // a bare number only on its own
        }
        total += v * unit;
        any = true;
        if (!isfinite(total) || total > APEX_MAX_DURATION_S)
            return apex_error_set(err, "'%s': longer than %g seconds", text,
                                  APEX_MAX_DURATION_S);
    }
    if (!any)
        goto bad;
    *seconds = total;
    return 0;
bad:
    return apex_error_set(err,
                          "expected a duration such as 20, 20s, 3m, "
                          "2h, 1h30m or 500ms, got '%s'",
                          text ? text : "");
}

static bool s_truthy(const char *value)
{
    return strcasecmp(value, "1") == 0 || strcasecmp(value, "true") == 0 ||
           strcasecmp(value, "yes") == 0 || strcasecmp(value, "on") == 0;
}

static bool s_falsy(const char *value)
{
    return strcasecmp(value, "0") == 0 || strcasecmp(value, "false") == 0 ||
           strcasecmp(value, "no") == 0 || strcasecmp(value, "off") == 0;
}

void apex_cli_help(FILE *out, const char *usage,
                   const apex_cli_option_t *options, size_t noptions)
{
    fprintf(out, "%s\n\noptions:\n", usage);
    for (size_t i = 0; i < noptions; i++) {
        const apex_cli_option_t *o = &options[i];
        char left[96];
        const char *sep = o->has_arg == APEX_CLI_OPTIONAL ? "[=" : " ";
        const char *end = o->has_arg == APEX_CLI_OPTIONAL ? "]" : "";
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s%s", o->short_name,
                     o->name, o->has_arg ? sep : "",
                     o->has_arg ? o->arg_name : "", o->has_arg ? end : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s%s", o->name,
                     o->has_arg ? sep : "", o->has_arg ? o->arg_name : "",
                     o->has_arg ? end : "");
        fprintf(out, "  %-34s %s", left, o->help);
        if (o->env)
            fprintf(out, " [env %s]", o->env);
        fputc('\n', out);
    }
    fprintf(out, "  %-34s %s\n", "    --config FILE",
            "read options from FILE (Locust's locust.conf format)");
    fprintf(out, "  %-34s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "  %-34s %s\n", "-V, --version", "show the version and exit");
}

// ---------------------------------------------------------------------
// Other names and configuration files

static apex_cli_source_t s_source = APEX_CLI_FROM_ARGV;

apex_cli_source_t apex_cli_source(void)
{
    return s_source;
}

static const apex_cli_alias_t *s_alias(const apex_cli_config_t *config,
                                       const char *env)
{
    for (size_t i = 0; config && env && i < config->naliases; i++)
        if (strcmp(config->aliases[i].env, env) == 0)
            return &config->aliases[i];
    return NULL;
}

// The option's value in the environment: APEX_<X>, else its Locust name
// (LOCUST_<X> unless an alias names another); *name says which was used.
static const char *s_env_value(const apex_cli_option_t *o,
                               const apex_cli_config_t *config,
                               const char **name)
{
    static char derived[APEX_CLI_ENV_MAX];
    *name = o->env;
    const char *value = o->env ? getenv(o->env) : NULL;
    if ((value && value[0]) || !o->env)
        return value;
    const apex_cli_alias_t *alias = s_alias(config, o->env);
    if (alias && alias->locust_env) {
        *name = alias->locust_env;
    } else if (strncmp(o->env, APEX_CLI_ENV_PREFIX,
                       strlen(APEX_CLI_ENV_PREFIX)) == 0) {
        snprintf(derived, sizeof derived, "%s%s", APEX_CLI_LOCUST_PREFIX,
                 o->env + strlen(APEX_CLI_ENV_PREFIX));
        *name = derived;
    } else {
        return NULL;
    }
    return getenv(*name);
}

// Give one option its value from a variable or a file line; flags take
// truthy or falsy words. where prefixes an error.
static int s_apply(const apex_cli_option_t *o, const char *value,
                   apex_cli_fn *fn, void *user, const char *where,
                   apex_error_t *err)
{
    if (!o->has_arg) {
        if (s_falsy(value))
            return 0;
        if (!s_truthy(value))
            return apex_error_set(err,
                                  "%s: expected true or false for a flag, "
                                  "got '%s'",
                                  where, value);
        value = NULL;
    }
    if (fn(o->id, value, user, err) != 0) {
        apex_error_prefix(err, "%s", where);
        return -1;
    }
    return 0;
}

static int s_apply_env(const apex_cli_option_t *options, size_t noptions,
                       const apex_cli_config_t *config, apex_cli_fn *fn,
                       void *user, apex_error_t *err)
{
    s_source = APEX_CLI_FROM_ENV;
    for (size_t i = 0; i < noptions; i++) {
        const char *name = NULL;
        const char *value = s_env_value(&options[i], config, &name);
        if (!value || !value[0])
            continue; // unset or empty: as if not given
        if (s_apply(&options[i], value, fn, user, name, err) != 0)
            return -1;
    }
    return 0;
}

// The option a configuration key names: its long name (with - or _) or
// its Locust key.
static const apex_cli_option_t *s_by_key(const apex_cli_option_t *options,
                                         size_t noptions,
                                         const apex_cli_config_t *config,
                                         const char *key)
{
    char name[APEX_CLI_KEY_MAX];
    snprintf(name, sizeof name, "%s", key);
    for (char *p = name; *p; p++)
        *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < noptions; i++) {
        const apex_cli_alias_t *alias = s_alias(config, options[i].env);
        if (strcmp(options[i].name, name) == 0 ||
            (alias && alias->key && strcmp(alias->key, name) == 0))
            return &options[i];
    }
    return NULL;
}

static bool s_ignored(const apex_cli_config_t *config, const char *key)
{
    for (size_t i = 0;
         config && config->ignored_keys && config->ignored_keys[i]; i++)
        if (strcmp(config->ignored_keys[i], key) == 0)
            return true;
    return false;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

// Values read from files outlive the parse (handlers keep the pointers,
// as they do argv's and getenv's): each is copied here until exit.
static struct {
    char **values;
    size_t n, cap;
} s_kept;

static void s_free_kept(void)
{
    for (size_t i = 0; i < s_kept.n; i++)
        free(s_kept.values[i]);
    free(s_kept.values);
    s_kept.values = NULL;
    s_kept.n = s_kept.cap = 0;
}

static const char *s_keep(const char *value)
{
    if (s_kept.n == s_kept.cap) {
        if (!s_kept.cap)
            atexit(s_free_kept);
        s_kept.cap = s_kept.cap ? 2 * s_kept.cap : 16;
        s_kept.values =
            apex_realloc(s_kept.values, s_kept.cap, sizeof *s_kept.values);
    }
    return s_kept.values[s_kept.n++] = apex_strdup(value);
}

// One line of a configuration file (number lineno of path).
static int s_config_line(const apex_cli_option_t *options, size_t noptions,
                         const apex_cli_config_t *config, char *line,
                         const char *path, int lineno, apex_cli_fn *fn,
                         void *user, apex_error_t *err)
{
    char *text = s_trim(line);
    if (!*text || *text == '#' || *text == ';' || *text == '[')
        return 0;
    size_t split = strcspn(text, "=:");
    if (!text[split])
        return apex_error_set(err, "%s:%d: expected 'key = value', got '%s'",
                              path, lineno, text);
    text[split] = '\0';
    char *key = s_trim(text);
    char *value = s_trim(text + split + 1);
    if (s_ignored(config, key))
        return 0;
    const apex_cli_option_t *o = s_by_key(options, noptions, config, key);
    if (!o)
        return apex_error_set(err, "%s:%d: unknown option '%s' (see --help)",
                              path, lineno, key);
    char where[APEX_CLI_WHERE_MAX];
    snprintf(where, sizeof where, "%.400s:%d: %.64s", path, lineno, o->name);
    return s_apply(o, s_keep(value), fn, user, where, err);
}

// Read one configuration file; a missing default file is no error.
static int s_config_file(const apex_cli_option_t *options, size_t noptions,
                         const apex_cli_config_t *config, const char *path,
                         bool must_exist, apex_cli_fn *fn, void *user,
                         apex_error_t *err)
{
    char full[PATH_MAX];
    const char *home = getenv("HOME");
    if (strncmp(path, "~/", 2) == 0 && home)
        snprintf(full, sizeof full, "%s/%s", home, path + 2);
    else
        snprintf(full, sizeof full, "%s", path);
    FILE *f = fopen(full, "r");
    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        return apex_error_set(err, "%s: cannot read: %s", full,
                              strerror(errno));
    }
    char line[APEX_CLI_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        rc = s_config_line(options, noptions, config, line, full, lineno, fn,
                           user, err);
    }
    fclose(f);
    return rc;
}

// The value of --config (or --config=FILE) in argv, or NULL.
static const char *s_config_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

static int s_apply_files(const apex_cli_option_t *options, size_t noptions,
                         const apex_cli_config_t *config, int argc, char **argv,
                         apex_cli_fn *fn, void *user, apex_error_t *err)
{
    s_source = APEX_CLI_FROM_FILE;
    for (size_t i = 0; config && config->files && config->files[i]; i++)
        if (s_config_file(options, noptions, config, config->files[i], false,
                          fn, user, err) != 0)
            return -1;
    const char *explicit = s_config_arg(argc, argv);
    if (explicit)
        return s_config_file(options, noptions, config, explicit, true, fn,
                             user, err);
    return 0;
}

// ---------------------------------------------------------------------
// The command line

// getopt's tables: shorts gets "-:hV" and the short letters (the leading
// "-" returns other words in place, as code 1, for list options).
static struct option *s_getopt_tables(const apex_cli_option_t *options,
                                      size_t noptions, char *shorts,
                                      size_t size)
{
    struct option *longs = apex_calloc(noptions + 4, sizeof *longs);
    snprintf(shorts, size, "-:hV");
    size_t ns = strlen(shorts);
    for (size_t i = 0; i < noptions; i++) {
        longs[i].name = options[i].name;
        longs[i].has_arg = options[i].has_arg == APEX_CLI_OPTIONAL
                               ? optional_argument
                           : options[i].has_arg ? required_argument
                                                : no_argument;
        longs[i].val = (int)(1000 + i);
        if (options[i].short_name && ns + 3 < size) {
            shorts[ns++] = (char)options[i].short_name;
            if (options[i].has_arg)
                shorts[ns++] = ':';
            shorts[ns] = '\0';
        }
    }
    longs[noptions].name = "help";
    longs[noptions].val = 'h';
    longs[noptions + 1].name = "version";
    longs[noptions + 1].val = 'V';
    longs[noptions + 2].name = "config";
    longs[noptions + 2].has_arg = required_argument;
    longs[noptions + 2].val = APEX_CLI_CONFIG_ID;
    return longs;
}

// The option getopt's code c stands for, or NULL.
static const apex_cli_option_t *s_by_code(const apex_cli_option_t *options,
                                          size_t noptions, int c)
{
    if (c >= 1000 && (size_t)(c - 1000) < noptions)
        return &options[c - 1000];
    for (size_t i = 0; i < noptions; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

// Pass one value from the command line to the handler; a value that is
// the next option is refused.
static int s_give(const apex_cli_option_t *o, const char *value,
                  apex_cli_fn *fn, void *user, apex_error_t *err)
{
    if (value && strncmp(value, "--", 2) == 0)
        return apex_error_set(
            err, "--%s: expected a value, got the option '%s'", o->name, value);
    if (fn(o->id, value, user, err) != 0) {
        apex_error_prefix(err, "--%s", o->name);
        return -1;
    }
    return 0;
}

int apex_cli_parse(const apex_cli_option_t *options, size_t noptions, int argc,
                   char **argv, apex_cli_fn *fn, void *user, const char *usage,
                   const char *version, const apex_cli_config_t *config,
                   apex_error_t *err)
{
    // Files, then the environment, so the command line wins.
    if (s_apply_files(options, noptions, config, argc, argv, fn, user, err) ||
        s_apply_env(options, noptions, config, fn, user, err))
        return -1;

    char shorts[256];
    struct option *longs =
        s_getopt_tables(options, noptions, shorts, sizeof shorts);
    int rc = 0;
    const apex_cli_option_t *list = NULL; // the list option words extend
    s_source = APEX_CLI_FROM_ARGV;
    // 0, not 1: glibc then also forgets its position inside a cluster of
    // short options ("-qv") left by an earlier parse that stopped early.
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == -1)
            break;
        if (c == 'h' || c == 'V') {
            if (c == 'h')
                apex_cli_help(stdout, usage, options, noptions);
            else
                printf("%s\n", version);
            rc = 1;
            goto done;
        }
        if (c == APEX_CLI_CONFIG_ID) {
            list = NULL;
            continue; // read before the environment
        }
        if (c == 1) { // a word that is no option's value
            if (!list) {
                rc = apex_error_set(err,
                                    "%s: unexpected argument (see "
                                    "--help)",
                                    optarg);
                goto done;
            }
            if ((rc = s_give(list, optarg, fn, user, err)) != 0)
                goto done;
            continue;
        }
        if (c == '?' || c == ':') {
            const char *arg = argv[optind - 1];
            rc = c == ':' ? apex_error_set(err, "%s: expected a value", arg)
                          : apex_error_set(
                                err, "%s: unknown option (see --help)", arg);
            goto done;
        }
        const apex_cli_option_t *o = s_by_code(options, noptions, c);
        if (!o) {
            rc = apex_error_set(err, "unexpected option");
            goto done;
        }
        list = o->has_arg == APEX_CLI_LIST ? o : NULL;
        if ((rc = s_give(o, o->has_arg ? optarg : NULL, fn, user, err)) != 0)
            goto done;
    }
    if (optind < argc)
        rc = apex_error_set(err, "%s: unexpected argument (see --help)",
                            argv[optind]);
done:
    free(longs);
    return rc;
}

void apex_cli_wipe(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return;
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
            continue;
        char *value = NULL;
        if (a[2 + n] == '=')
            value = argv[i] + 2 + n + 1;
        else if (a[2 + n] == '\0' && i + 1 < argc)
            value = argv[++i];
        if (value)
            memset(value, 0, strlen(value));
    }
}
