// common/data.c - see data.h. The CSV reader is a small state machine
// over the bytes (RFC 4180 plus LF line ends and a trailing line end or
// none); fields are collected into a growing array of values, and the
// header row becomes the column names. UTF-8 is checked once up front
// with jansson (json_stringn() refuses invalid UTF-8), so every value can
// go into the scenario's wire text as a JSON string.
#include "common/data.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/json.h"

void apex_dataset_fini(apex_dataset_t *d)
{
    free(d->name);
    free(d->file);
    for (size_t i = 0; i < d->ncolumns; i++)
        free(d->columns[i]);
    free(d->columns);
    for (size_t i = 0; i < d->nrows * d->ncolumns; i++)
        free(d->cells[i].text);
    free(d->cells);
    memset(d, 0, sizeof *d);
}

long apex_dataset_column(const apex_dataset_t *d, const char *name, size_t len)
{
    for (size_t i = 0; i < d->ncolumns; i++)
        if (strlen(d->columns[i]) == len &&
            strncmp(d->columns[i], name, len) == 0)
            return (long)i;
    return -1;
}

char *apex_dataset_columns_text(const apex_dataset_t *d)
{
    apex_buf_t out;
    apex_buf_init(&out);
    for (size_t i = 0; i < d->ncolumns; i++)
        apex_buf_printf(&out, "%s%s", i ? ", " : "", d->columns[i]);
    char *text = apex_strdup(apex_buf_str(&out));
    apex_buf_fini(&out);
    return text;
}

const apex_value_t *apex_dataset_row(const apex_dataset_t *d, size_t r)
{
    assert(r < d->nrows);
    return &d->cells[r * d->ncolumns];
}

// The line of byte offset at in text (1-based).
static size_t s_line_of(const char *text, size_t at)
{
    size_t line = 1;
    for (size_t i = 0; i < at; i++)
        line += text[i] == '\n';
    return line;
}

// The offset of the first byte that is not UTF-8, or len when all are.
static size_t s_bad_utf8(const char *text, size_t len)
{
    json_t *s = json_stringn(text, len);
    if (s) {
        json_decref(s);
        return len;
    }
    // Bisect to the first bad prefix (len is at most a few MB).
    size_t lo = 0, hi = len;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        json_t *t = json_stringn(text, mid);
        if (t) {
            json_decref(t);
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// ---------------------------------------------------------------------
// CSV

typedef struct {
    apex_value_t *fields; // the fields of every row so far
    size_t n;             // their number
    size_t cap;           // slots allocated
    size_t row_start;     // index of the current row's first field
    size_t width;         // fields per row (the header's), 0 before it
    size_t rows;          // complete rows, the header included
} s_csv_t;

static void s_csv_add(s_csv_t *c, apex_buf_t *field)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->fields = apex_realloc(c->fields, c->cap, sizeof *c->fields);
    }
    c->fields[c->n].text = apex_strdup(apex_buf_str(field));
    c->fields[c->n].json = false;
    c->n++;
    apex_buf_reset(field);
}

// The end of a row: check its width.
static int s_csv_row(s_csv_t *c, size_t line, apex_error_t *err)
{
    size_t width = c->n - c->row_start;
    if (c->width == 0) {
        if (width > APEX_DATA_MAX_COLUMNS)
            return apex_error_set(err, "line 1: more than %d columns",
                                  APEX_DATA_MAX_COLUMNS);
        c->width = width;
    } else if (width != c->width) {
        return apex_error_set(err, "line %zu: expected %zu fields, got %zu",
                              line, c->width, width);
    }
    c->rows++;
    c->row_start = c->n;
    return 0;
}

// A quoted field from t[*i] (at its opening quote) into field; *line
// counts the line ends inside it.
static int s_csv_quoted(const char *t, size_t len, size_t *i, size_t *line,
                        apex_buf_t *field, apex_error_t *err)
{
    size_t first = *line;
    size_t k = *i + 1;
    for (;;) {
        if (k >= len)
            return apex_error_set(err, "line %zu: unterminated quoted field",
                                  first);
        if (t[k] == '"' && k + 1 < len && t[k + 1] == '"') {
            apex_buf_putc(field, '"');
            k += 2;
        } else if (t[k] == '"') {
            k++;
            break;
        } else {
            *line += t[k] == '\n';
            apex_buf_putc(field, t[k++]);
        }
    }
    *i = k;
    if (k < len && t[k] != ',' && t[k] != '\n' && t[k] != '\r')
        return apex_error_set(err, "line %zu: text after a closing quote",
                              *line);
    return 0;
}

static int s_csv_scan(s_csv_t *c, const char *t, size_t len, apex_error_t *err)
{
    apex_buf_t field;
    apex_buf_init(&field);
    int rc = 0;
    size_t i = 0, line = 1;
    while (i < len && rc == 0) {
        if (c->n == c->row_start && (t[i] == '\n' || t[i] == '\r')) {
            line += t[i++] == '\n'; // a blank line
            continue;
        }
        if (t[i] == '"') {
            rc = s_csv_quoted(t, len, &i, &line, &field, err);
        } else {
            while (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r')
                apex_buf_putc(&field, t[i++]);
        }
        if (rc != 0)
            break;
        s_csv_add(c, &field);
        if (i < len && t[i] == ',') {
            i++;
            if (i == len)
                s_csv_add(c, &field); // "a," ends with an empty field
            continue;
        }
        if (i < len && t[i] == '\r')
            i++;
        if (i < len && t[i] == '\n')
            i++;
        rc = s_csv_row(c, line, err);
        line++;
    }
    if (rc == 0 && c->n > c->row_start)
        rc = s_csv_row(c, line, err);
    apex_buf_fini(&field);
    return rc;
}

int apex_data_parse_csv(apex_dataset_t *d, const char *text, size_t len,
                        apex_error_t *err)
{
    assert(d && d->ncolumns == 0 && (text || len == 0));
    size_t bad = s_bad_utf8(text ? text : "", len);
    if (bad < len)
        return apex_error_set(err, "line %zu: invalid UTF-8",
                              s_line_of(text, bad));
    s_csv_t c;
    memset(&c, 0, sizeof c);
    int rc = s_csv_scan(&c, text, len, err);
    if (rc == 0 && c.rows < 2)
        rc = apex_error_set(err, "expected a header line and at least one "
                                 "row");
    for (size_t i = 0; rc == 0 && i < c.width; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(c.fields[i].text, c.fields[j].text) == 0)
                rc = apex_error_set(err, "line 1: duplicate column '%s'",
                                    c.fields[i].text);
        if (rc == 0 && c.fields[i].text[0] == '\0')
            rc = apex_error_set(err, "line 1: column %zu has no name", i + 1);
    }
    if (rc != 0) {
        for (size_t i = 0; i < c.n; i++)
            free(c.fields[i].text);
        free(c.fields);
        return -1;
    }
    d->ncolumns = c.width;
    d->columns = apex_calloc(c.width, sizeof *d->columns);
    for (size_t i = 0; i < c.width; i++)
        d->columns[i] = c.fields[i].text;
    d->nrows = c.rows - 1;
    d->cells = apex_calloc(c.n - c.width, sizeof *d->cells);
    memcpy(d->cells, c.fields + c.width, (c.n - c.width) * sizeof *d->cells);
    free(c.fields);
    return 0;
}

// ---------------------------------------------------------------------
// JSON

static int s_json_columns(apex_dataset_t *d, const json_t *first,
                          apex_error_t *err)
{
    if (!json_is_object(first) || json_object_size(first) == 0)
        return apex_error_set(err, "row 0: expected a non-empty object");
    if (json_object_size(first) > APEX_DATA_MAX_COLUMNS)
        return apex_error_set(err, "row 0: more than %d keys",
                              APEX_DATA_MAX_COLUMNS);
    d->columns = apex_calloc(json_object_size(first), sizeof *d->columns);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)first, key, v)
    {
        d->columns[d->ncolumns++] = apex_strdup(key);
    }
    return 0;
}

int apex_data_parse_json(apex_dataset_t *d, const char *text, size_t len,
                         apex_error_t *err)
{
    assert(d && d->ncolumns == 0 && (text || len == 0));
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return apex_error_set(err, "line %d, column %d: %s", jerr.line,
                              jerr.column, jerr.text);
    int rc = 0;
    if (!json_is_array(root) || json_array_size(root) == 0)
        rc = apex_error_set(err, "expected a non-empty array of objects");
    else
        rc = s_json_columns(d, json_array_get(root, 0), err);
    size_t n = rc == 0 ? json_array_size(root) : 0;
    if (n)
        d->cells = apex_calloc(n * d->ncolumns, sizeof *d->cells);
    for (size_t r = 0; r < n && rc == 0; r++) {
        json_t *row = json_array_get(root, r);
        if (!json_is_object(row)) {
            rc = apex_error_set(err, "row %zu: expected an object", r);
            break;
        }
        for (size_t c = 0; c < d->ncolumns && rc == 0; c++) {
            json_t *v = json_object_get(row, d->columns[c]);
            if (!v) {
                rc = apex_error_set(err, "row %zu: missing column '%s'", r,
                                    d->columns[c]);
                break;
            }
            apex_value_t *cell = &d->cells[r * d->ncolumns + c];
            cell->text = apex_json_text(v);
            cell->json = !json_is_string(v);
        }
        if (rc == 0)
            d->nrows++;
    }
    json_decref(root);
    if (rc != 0) {
        // Cells of rows that were not counted are freed here.
        for (size_t i = d->nrows * d->ncolumns; i < n * d->ncolumns; i++)
            free(d->cells ? d->cells[i].text : NULL);
    }
    return rc;
}
