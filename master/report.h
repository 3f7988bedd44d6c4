// master/report.h - what a master prints and writes: Locust's console
// tables (stats, percentiles, errors), a workers table, and Locust's CSV
// files with their exact names, headers and column semantics.
#ifndef MASTER_REPORT_H
#define MASTER_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/stats.h"
#include "master/figures.h"

typedef struct {
    char *msg;       // exception message
    char *traceback; // traceback text
    uint64_t count;  // occurrences
    char *nodes;     // worker ids, ", "-separated
} master_exception_t;

typedef struct {
    const char *id;    // worker id
    const char *kind;  // "apex 0.1.0" or "locust 2.12.1"
    const char *state; // ready, running, missing, gone, ...
    int64_t users;     // most users it reported at once
    double cpu;        // CPU % it reported last
    uint64_t memory;   // RSS bytes it reported last
    uint64_t requests; // requests merged from it
    uint64_t failures; // failures merged from it
} master_worker_row_t;

// The console table; current=true uses current RPS (the periodic table),
// false the totals (the final summary).
void master_report_table(FILE *out, const apex_stats_t *stats, bool current);

// "Response time percentiles (approximated)" table.
void master_report_percentiles(FILE *out, const apex_stats_t *stats);

// "Error report" table.
void master_report_errors(FILE *out, const apex_stats_t *stats);

// --json: the entries as Locust's --json prints them (a JSON array of
// StatsEntryDict, indented), in a new string the caller frees
// (master/report_locust.c).
char *master_report_locust_json(const apex_stats_t *stats);

#define MASTER_REPORT_WORKER_ROWS 20  // a row each up to this many workers
#define MASTER_REPORT_WORKERS_SHOWN 5 // beyond: a summary and this many

// A table of the workers, so a mixed fleet shows who did what; beyond
// MASTER_REPORT_WORKER_ROWS a summary by host, kind and state
// (master/report_workers.c).
void master_report_workers(FILE *out, const master_worker_row_t *rows,
                           size_t n);

// The contents of PREFIX_stats.csv, _failures.csv and _exceptions.csv,
// appended to out (the web UI's downloads).
void master_csv_stats(apex_buf_t *out, const apex_stats_t *stats);
void master_csv_failures(apex_buf_t *out, const apex_stats_t *stats);
void master_csv_exceptions(apex_buf_t *out,
                           const master_exception_t *exceptions,
                           size_t nexceptions);

// PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv,
// rewritten whole (through a temporary file and rename). 0, or -1 with
// err set.
int master_csv_write(const char *prefix, const apex_stats_t *stats,
                     const master_exception_t *exceptions, size_t nexceptions,
                     apex_error_t *err);

// Open PREFIX_stats_history.csv for appending (header written). NULL with
// err set on failure.
// With shaped true (a load shape drives the run) three columns follow
// Locust's: Stage, Target Users, Target Rate.
// PREFIX_trends.csv (master/trends.h), rewritten whole. 0, or -1 with
// err set.
int master_csv_trends(const char *prefix, const apex_stats_t *trends,
                      apex_error_t *err);

FILE *master_csv_history_open(const char *prefix, bool shaped,
                              apex_error_t *err);

typedef struct {
    int stage;           // 1-based stage in progress, 0 when none
    double target_users; // users the shape wants, NAN when not stages
    double target_rate;  // iterations/s it wants, NAN when not arrival
} master_csv_shape_t;

// Append one history interval: the total row, preceded by one row per
// entry when full is true; shape (NULL without one) fills the extra
// columns.
void master_csv_history_append(FILE *file, const apex_stats_t *stats,
                               int64_t user_count, bool full, int64_t now,
                               const master_csv_shape_t *shape);

// The percentiles Locust reports, in [0, 1].
extern const double master_report_percentile_list[];
#define MASTER_REPORT_PERCENTILES 11

// The run-wide figures the workers reported (counters' totals, gauges now
// and at their peak, and the WebSocket drop rate), when there are any.
// The checks' counts: "Checks" and a line per name (passes of all, and
// the rate), nothing without checks.
void master_report_checks(FILE *out, const master_checks_t *checks);

void master_report_figures(FILE *out, const master_figures_t *counters,
                           const master_figures_t *gauges,
                           const master_figures_t *peaks);

#endif
