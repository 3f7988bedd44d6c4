// master/influx_line.h - InfluxDB's line protocol, written one point at a
// time into a buffer: `measurement,tag=value field=1.5 1700000000000`.
// Names and tag values are escaped as the protocol requires; every field
// is a float (as k6 writes them), so a field never changes type.
#ifndef MASTER_INFLUX_LINE_H
#define MASTER_INFLUX_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct {
    apex_buf_t *out;    // the lines, appended
    const char *common; // tags every point ends its tag set with, already
                        // escaped (",run_id=a,env=ci"), or ""
    size_t points;      // complete points written
    size_t line_start;  // where the point being written starts in out
    size_t nfields;     // its fields so far
} master_lp_t;

// Write points into out (not reset); common as above (borrowed: it must
// outlive the writer).
void master_lp_init(master_lp_t *self, apex_buf_t *out, const char *common);

// Start a point of this measurement (escaped).
void master_lp_begin(master_lp_t *self, const char *measurement);

// Add a tag to the point being written, before its first field. An empty
// or NULL value adds nothing (the protocol has no empty tag values).
void master_lp_tag(master_lp_t *self, const char *key, const char *value);

// Add a float field; a value that is not finite adds nothing (InfluxDB
// refuses NaN and infinities).
void master_lp_field(master_lp_t *self, const char *key, double value);

// End the point at time_ms (Unix milliseconds). A point without any field
// is taken back (the protocol needs one), so nothing of it stays in out.
void master_lp_end(master_lp_t *self, int64_t time_ms);

// Append text escaped as a measurement name: newlines and other control
// characters become spaces, then commas and spaces get a backslash.
void master_lp_escape_measurement(apex_buf_t *out, const char *text);

// Append text escaped as a tag key, a tag value or a field key: control
// characters become spaces, then commas, equal signs and spaces get a
// backslash; a backslash at the very end is dropped (it would escape the
// separator that follows).
void master_lp_escape_tag(apex_buf_t *out, const char *text);

#endif
