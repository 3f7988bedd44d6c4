// tests/fuzz/fuzz_out.c - master_out_parse() on any --out value and any
// APEX_INFLUXDB_* values: the input's lines are the value, then the
// variables in master_out_env_t's order (an empty line: unset). What
// parses must give an http(s) write URL without control characters, and
// tags that make a valid line of line protocol; what fails must say why
// and leave nothing behind. Then the value itself goes through the
// line-protocol escaping as a measurement, a tag and a field name.
#include <stdbool.h>

#include "master/influx_line.h"
#include "master/out.h"
#include "tests/fuzz/fuzz.h"

#define S_FIELDS 10 // the value and the nine variables

static bool s_clean(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

// One point whose names are hostile: exactly one line, ending in '\n'.
static void s_point(const char *common, const char *text)
{
    apex_buf_t b;
    apex_buf_init(&b);
    master_lp_t lp;
    master_lp_init(&lp, &b, common);
    master_lp_begin(&lp, text);
    master_lp_tag(&lp, text, text);
    master_lp_field(&lp, text, 1.5);
    master_lp_end(&lp, 1);
    const char *s = apex_buf_str(&b);
    FUZZ_CHECK(b.len > 0 && s[b.len - 1] == '\n' &&
                   strchr(s, '\n') == s + b.len - 1,
               "not one line: %s", s);
    FUZZ_CHECK(lp.points == 1, "%zu points", lp.points);
    apex_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    const char *fields[S_FIELDS] = {0};
    char *p = text;
    for (size_t i = 0; i < S_FIELDS && p; i++) {
        fields[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    master_out_env_t env = {fields[1], fields[2], fields[3],
                            fields[4], fields[5], fields[6],
                            fields[7], fields[8], fields[9]};
    master_out_t out;
    apex_error_t err = {""};
    if (master_out_parse(fields[0], &env, &out, &err) == 0) {
        FUZZ_CHECK(out.write_url && out.shown && out.tags,
                   "a parse left a field empty");
        FUZZ_CHECK(!strncmp(out.write_url, "http://", 7) ||
                       !strncmp(out.write_url, "https://", 8),
                   "write URL %s", out.write_url);
        FUZZ_CHECK(s_clean(out.write_url) && s_clean(out.shown) &&
                       s_clean(out.tags) &&
                       (!out.auth_header || s_clean(out.auth_header)),
                   "control characters in %s", out.write_url);
        FUZZ_CHECK(out.v2 == !out.create_url, "create URL on 2.x");
        FUZZ_CHECK(out.interval >= MASTER_OUT_MIN_INTERVAL_S &&
                       out.interval <= MASTER_OUT_MAX_INTERVAL_S &&
                       out.queue_points >= 1,
                   "interval %g, queue %zu", out.interval, out.queue_points);
        s_point(out.tags, fields[0]);
        master_out_fini(&out);
    } else {
        FUZZ_CHECK(apex_error_is_set(&err), "a failure without a message");
        FUZZ_CHECK(!out.write_url && !out.shown && !out.tags,
                   "a failure left memory behind");
    }
    s_point("", fields[0]);
    free(text);
    return 0;
}
