// master/metrics.h - GET /metrics: the master's merged statistics in
// Prometheus' text exposition format (version 0.0.4), for a Prometheus
// that scrapes the web port (deploy/'s scrape annotations).
#ifndef MASTER_METRICS_H
#define MASTER_METRICS_H

#include "common/buf.h"
#include "master/api.h"

// The media type of the text this module writes.
#define MASTER_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

// Append every metric family for the state in `in` (the same input as
// GET /stats/requests) to out. Counters restart from zero when the
// statistics are reset, which Prometheus' rate() treats as a counter
// reset.
void master_metrics_text(apex_buf_t *out, const master_api_input_t *in);

#endif
