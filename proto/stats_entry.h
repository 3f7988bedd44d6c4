// proto/stats_entry.h - the codec of one stats entry, internal to
// proto/: Locust's StatsEntryDict (one element of a stats message's
// "stats" list, or its "stats_total"), encoded and decoded side by side
// so that the two stay mirror images.
#ifndef APEX_PROTO_STATS_ENTRY_H
#define APEX_PROTO_STATS_ENTRY_H

#include <msgpack.h>
#include <stdint.h>

#include "common/stats.h"
#include "proto/field.h"

// Write e as a StatsEntryDict: Locust's 14 keys in Locust's order, then
// "apex_hist" (the exact histogram) and, when e has service times,
// "apex_service_hist". buckets (APEX_HISTOGRAM_BUCKETS of them) and
// hist_buf (APEX_HISTOGRAM_ENCODE_MAX bytes) are the caller's scratch
// space, so that encoding many entries allocates once.
void proto_stats_entry_encode(msgpack_packer *pk, const apex_stats_entry_t *e,
                              apex_locust_bucket_t *buckets, uint8_t *hist_buf);

// Read a StatsEntryDict's counts, times, histograms and per-second
// counts into e, a scratch entry reset beforehand (name and method are
// the caller's: the total has none of its own). The histogram comes from
// "apex_hist" when present, else from Locust's "response_times".
// Returns 0, or -1 with ctx's error naming the field under path.
int proto_stats_entry_decode(proto_field_ctx_t *ctx, const msgpack_object *o,
                             apex_stats_entry_t *e, const char *path);

#endif
