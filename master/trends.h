// master/trends.h - the scripts' custom trends (apex.trend(), merged in
// master_results_t.trends: values x1000 in a stats entry's microseconds)
// as each output shows them: a console table, PREFIX_trends.csv, JSON
// (the report and /stats/requests' apex.trends). A value is shown as the
// script gave it (2.5 stays 2.5), whatever it measures.
#ifndef MASTER_TRENDS_H
#define MASTER_TRENDS_H

#include <jansson.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/stats.h"

// The trends' figures, in name order: [{"name", "count", "avg", "min",
// "med", "max", "p90", "p95", "p99"}]. A new reference.
json_t *master_trends_json(const apex_stats_t *trends);

// "Custom trends" and a row per trend; nothing when there is none.
void master_trends_console(FILE *out, const apex_stats_t *trends);

// The CSV: Name,Count,Average,Min,Median,90%,95%,99%,Max.
void master_trends_csv(apex_buf_t *out, const apex_stats_t *trends);

// A trend's value at percentile p (0..1), as the script gave it.
double master_trends_percentile(const apex_stats_entry_t *e, double p);

#endif
