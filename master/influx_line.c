// master/influx_line.c - see influx_line.h. A point is written as it is
// built: begin() writes the measurement and remembers where the line
// started, tags follow, the first field writes the separating space, and
// end() writes the time or, without fields, truncates the line away.
// Floats are printed with 15 significant digits, or 17 when 15 would not
// read back equal.
#include "master/influx_line.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASTER_LP_FLOAT_MAX 32 // "-1.2345678901234567e+308"

void master_lp_init(master_lp_t *self, apex_buf_t *out, const char *common)
{
    memset(self, 0, sizeof *self);
    self->out = out;
    self->common = common ? common : "";
    self->line_start = out->len;
}

static void s_escape(apex_buf_t *out, const char *text, const char *special)
{
    size_t len = strlen(text ? text : "");
    while (len > 0 && text[len - 1] == '\\')
        len--;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = ' ';
        if (strchr(special, c))
            apex_buf_putc(out, '\\');
        apex_buf_putc(out, c);
    }
}

void master_lp_escape_measurement(apex_buf_t *out, const char *text)
{
    s_escape(out, text, ", ");
}

void master_lp_escape_tag(apex_buf_t *out, const char *text)
{
    s_escape(out, text, ",= ");
}

void master_lp_begin(master_lp_t *self, const char *measurement)
{
    self->line_start = self->out->len;
    self->nfields = 0;
    master_lp_escape_measurement(self->out, measurement);
}

void master_lp_tag(master_lp_t *self, const char *key, const char *value)
{
    assert(self->nfields == 0); // tags come before fields
    if (!value || !value[0])
        return;
    size_t before = self->out->len;
    apex_buf_putc(self->out, ',');
    master_lp_escape_tag(self->out, key);
    apex_buf_putc(self->out, '=');
    size_t value_at = self->out->len;
    master_lp_escape_tag(self->out, value);
    if (self->out->len == value_at) { // only backslashes: no value left
        self->out->len = before;
        self->out->data[before] = '\0';
    }
}

void master_lp_field(master_lp_t *self, const char *key, double value)
{
    if (!isfinite(value))
        return;
    if (self->nfields++ == 0) {
        apex_buf_puts(self->out, self->common);
        apex_buf_putc(self->out, ' ');
    } else {
        apex_buf_putc(self->out, ',');
    }
    master_lp_escape_tag(self->out, key);
    // The shortest of 15 or 17 significant digits that reads back equal.
    char text[MASTER_LP_FLOAT_MAX];
    snprintf(text, sizeof text, "%.15g", value);
    if (strtod(text, NULL) != value)
        snprintf(text, sizeof text, "%.17g", value);
    apex_buf_printf(self->out, "=%s", text);
}

void master_lp_end(master_lp_t *self, int64_t time_ms)
{
    if (self->nfields == 0) {
        self->out->len = self->line_start;
        if (self->out->data)
            self->out->data[self->line_start] = '\0';
        return;
    }
    apex_buf_printf(self->out, " %lld\n", (long long)time_ms);
    self->points++;
    self->line_start = self->out->len;
    self->nfields = 0;
}
