// common/cli.c - see cli.h. Built on getopt_long; the long option table
// is generated from the program's apex_cli_option_t table.
#include "common/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

#define APEX_CLI_HELP_ID -1000
#define APEX_MAX_DURATION_S 1e9 // ~31 years: seconds * 1e6 fits uint64_t
#define APEX_CLI_VERSION_ID -1001

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

void apex_cli_help(FILE *out, const char *usage,
                   const apex_cli_option_t *options, size_t noptions)
{
    fprintf(out, "%s\n\noptions:\n", usage);
    for (size_t i = 0; i < noptions; i++) {
        const apex_cli_option_t *o = &options[i];
        char left[96];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->has_arg ? " " : "", o->has_arg ? o->arg_name : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name,
                     o->has_arg ? " " : "", o->has_arg ? o->arg_name : "");
        fprintf(out, "  %-34s %s", left, o->help);
        if (o->env)
            fprintf(out, " [env %s]", o->env);
        fputc('\n', out);
    }
    fprintf(out, "  %-34s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "  %-34s %s\n", "-V, --version", "show the version and exit");
}

int apex_cli_parse(const apex_cli_option_t *options, size_t noptions, int argc,
                   char **argv, apex_cli_fn *fn, void *user, const char *usage,
                   const char *version, apex_error_t *err)
{
    // Environment first, so the command line wins.
    for (size_t i = 0; i < noptions; i++) {
        const apex_cli_option_t *o = &options[i];
        const char *value = o->env ? getenv(o->env) : NULL;
        if (!value || !value[0])
            continue; // unset or empty: as if not given
        if (!o->has_arg) {
            if (!s_truthy(value))
                continue;
            value = NULL;
        }
        if (fn(o->id, value, user, err) != 0) {
            apex_error_prefix(err, "%s", o->env);
            return -1;
        }
    }

    struct option *longs = apex_calloc(noptions + 3, sizeof *longs);
    char shorts[256] = ":hV";
    size_t ns = strlen(shorts);
    for (size_t i = 0; i < noptions; i++) {
        longs[i].name = options[i].name;
        longs[i].has_arg = options[i].has_arg ? required_argument : no_argument;
        longs[i].val = (int)(1000 + i);
        if (options[i].short_name && ns + 3 < sizeof shorts) {
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

    int rc = 0;
    // 0, not 1: glibc then also forgets its position inside a cluster of
    // short options ("-qv") left by an earlier parse that stopped early.
    optind = 0;
    opterr = 0;
    for (;;) {
        int longindex = -1;
        int c = getopt_long(argc, argv, shorts, longs, &longindex);
        if (c == -1)
            break;
        if (c == 'h') {
            apex_cli_help(stdout, usage, options, noptions);
            rc = 1;
            goto done;
        }
        if (c == 'V') {
            printf("%s\n", version);
            rc = 1;
            goto done;
        }
        if (c == '?' || c == ':') {
            const char *arg = argv[optind - 1];
            if (c == ':')
                rc = apex_error_set(err, "%s: expected a value", arg);
            else
                rc =
                    apex_error_set(err, "%s: unknown option (see --help)", arg);
            goto done;
        }
        const apex_cli_option_t *o = NULL;
        if (c >= 1000 && (size_t)(c - 1000) < noptions)
            o = &options[c - 1000];
        for (size_t i = 0; !o && i < noptions; i++)
            if (options[i].short_name == c)
                o = &options[i];
        if (!o) {
            rc = apex_error_set(err, "unexpected option");
            goto done;
        }
        if (fn(o->id, o->has_arg ? optarg : NULL, user, err) != 0) {
            apex_error_prefix(err, "--%s", o->name);
            rc = -1;
            goto done;
        }
    }
    if (optind < argc)
        rc = apex_error_set(err, "%s: unexpected argument (see --help)",
                            argv[optind]);
done:
    free(longs);
    return rc;
}
