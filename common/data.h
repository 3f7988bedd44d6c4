// common/data.h - data sets: the rows of a CSV file (with a header) or
// of a JSON array of objects, parsed once when a scenario is loaded and
// read by templates as ${data.SET.COLUMN} (common/template.h).
//
// A CSV cell is a string; a JSON cell keeps its type (a number stays a
// number in a typed JSON body). Parsing is strict about what would give
// silently wrong rows: every row has the header's number of fields, the
// text is UTF-8, a JSON file is an array of objects with the first
// object's keys (more keys are ignored, missing ones are errors).
#ifndef APEX_DATA_H
#define APEX_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/template.h"

#define APEX_DATA_MAX_BYTES (4u * 1024u * 1024u) // one file
#define APEX_DATA_MAX_TOTAL (8u * 1024u * 1024u) // all of a scenario's
#define APEX_DATA_MAX_COLUMNS 256                // per data set
#define APEX_DATA_MAX_SETS 32                    // per scenario

// Which row a use of a data set takes.
typedef enum {
    APEX_DATA_PER_USER,   // user N (${user_index}) has row N mod rows
    APEX_DATA_SEQUENTIAL, // each task takes the next row (the workers
                          // split the rows: i mod workers == index)
    APEX_DATA_RANDOM      // each task takes a uniform random row
} apex_data_mode_t;

typedef struct {
    char *name;            // the data set's name ("accounts")
    char *file;            // the file it came from, for messages
    apex_data_mode_t mode; // which row a use takes
    char **columns;        // column names, in order
    size_t ncolumns;       // their number
    apex_value_t *cells;   // nrows * ncolumns values, row by row
    size_t nrows;          // rows (>= 1)
} apex_dataset_t;

// Parse CSV text (RFC 4180: a header row, quoted fields with "" for a
// quote, CRLF or LF) into d's columns and cells. 0, or -1 with err set to
// "line L: what" (no file name: the caller knows it).
int apex_data_parse_csv(apex_dataset_t *d, const char *text, size_t len,
                        apex_error_t *err);

// Parse a JSON array of objects; columns are the first object's keys.
// 0, or -1 with err set ("row R: missing column 'x'").
int apex_data_parse_json(apex_dataset_t *d, const char *text, size_t len,
                         apex_error_t *err);

// Free what d holds; d is zeroed (fini twice is safe).
void apex_dataset_fini(apex_dataset_t *d);

// The index of column name (len bytes), or -1.
long apex_dataset_column(const apex_dataset_t *d, const char *name, size_t len);

// "a, b, c": the column names, a new string the caller frees.
char *apex_dataset_columns_text(const apex_dataset_t *d);

// Row r (< nrows): ncolumns values. Borrowed.
const apex_value_t *apex_dataset_row(const apex_dataset_t *d, size_t r);

#endif
