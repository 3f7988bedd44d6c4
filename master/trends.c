// master/trends.c - see trends.h. The percentiles come from the merged
// histograms, so they are those of every sample of every worker.
#include "master/trends.h"

#include <stdlib.h>

#include "common/clock.h"

double master_trends_percentile(const apex_stats_entry_t *e, double p)
{
    return apex_ms_from_us(apex_histogram_percentile(e->hist, p));
}

json_t *master_trends_json(const apex_stats_t *trends)
{
    json_t *a = json_array();
    if (!trends)
        return a;
    apex_stats_entry_t **sorted = apex_stats_sorted(trends);
    for (size_t i = 0; i < apex_stats_size(trends); i++) {
        const apex_stats_entry_t *e = sorted[i];
        if (!e->num_requests)
            continue;
        json_array_append_new(
            a, json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                         "name", e->name, "count", (json_int_t)e->num_requests,
                         "avg", apex_stats_entry_avg_ms(e), "min",
                         apex_stats_entry_min_ms(e), "med",
                         master_trends_percentile(e, 0.5), "max",
                         apex_stats_entry_max_ms(e), "p90",
                         master_trends_percentile(e, 0.9), "p95",
                         master_trends_percentile(e, 0.95), "p99",
                         master_trends_percentile(e, 0.99)));
    }
    free(sorted);
    return a;
}

void master_trends_console(FILE *out, const apex_stats_t *trends)
{
    apex_stats_entry_t **sorted = apex_stats_sorted(trends);
    bool any = false;
    for (size_t i = 0; i < apex_stats_size(trends); i++) {
        const apex_stats_entry_t *e = sorted[i];
        if (!e->num_requests)
            continue;
        if (!any)
            fprintf(out,
                    "Custom trends\n  %-28s %10s %10s %10s %10s %10s "
                    "%10s %10s\n",
                    "Name", "Count", "Avg", "Min", "Med", "p95", "p99", "Max");
        any = true;
        fprintf(out,
                "  %-28s %10llu %10.3f %10.3f %10.3f %10.3f %10.3f "
                "%10.3f\n",
                e->name, (unsigned long long)e->num_requests,
                apex_stats_entry_avg_ms(e), apex_stats_entry_min_ms(e),
                master_trends_percentile(e, 0.5),
                master_trends_percentile(e, 0.95),
                master_trends_percentile(e, 0.99), apex_stats_entry_max_ms(e));
    }
    if (any)
        fprintf(out, "\n");
    free(sorted);
}

void master_trends_csv(apex_buf_t *out, const apex_stats_t *trends)
{
    apex_buf_puts(out, "Name,Count,Average,Min,Median,90%,95%,99%,Max\r\n");
    apex_stats_entry_t **sorted = apex_stats_sorted(trends);
    for (size_t i = 0; i < apex_stats_size(trends); i++) {
        const apex_stats_entry_t *e = sorted[i];
        if (!e->num_requests)
            continue;
        // Names are [a-z0-9_]: no quoting needed.
        apex_buf_printf(
            out, "%s,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\r\n", e->name,
            (unsigned long long)e->num_requests, apex_stats_entry_avg_ms(e),
            apex_stats_entry_min_ms(e), master_trends_percentile(e, 0.5),
            master_trends_percentile(e, 0.9), master_trends_percentile(e, 0.95),
            master_trends_percentile(e, 0.99), apex_stats_entry_max_ms(e));
    }
    free(sorted);
}
