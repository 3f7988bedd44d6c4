// master/figures.h - run-wide figures the workers report next to their
// stats (proto's apex_counters and apex_gauges): a small table of named
// integers. The results keep the counters' totals and the gauges' peaks;
// the registry keeps each worker's gauges, whose sum is the value now.
// Names are at most PROTO_METRIC_NAME_MAX bytes and a table holds at most
// MASTER_FIGURES_MAX of them, so a hostile worker cannot grow it.
#ifndef MASTER_FIGURES_H
#define MASTER_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define MASTER_FIGURES_MAX 64 // names in one table

typedef struct {
    char name[PROTO_METRIC_NAME_MAX + 1]; // "ws_sessions"
    int64_t value;                        // its value
} master_figure_t;

typedef struct {
    master_figure_t *items; // in the order first seen
    size_t n;               // how many
} master_figures_t;

// Empty the table (and free it); reusable afterwards. A zeroed table is
// empty.
void master_figures_clear(master_figures_t *self);

// Add delta to name's value (0 when new). False when the table is full
// and name is not in it (nothing changes).
bool master_figures_add(master_figures_t *self, const char *name,
                        int64_t delta);

// Set name's value; false when full, as above.
bool master_figures_set(master_figures_t *self, const char *name,
                        int64_t value);

// Raise name's value to value if it is higher (a peak); false when full.
bool master_figures_max(master_figures_t *self, const char *name,
                        int64_t value);

// name's value, or 0 when the table has no such name.
int64_t master_figures_get(const master_figures_t *self, const char *name);

// True when the table has name.
bool master_figures_has(const master_figures_t *self, const char *name);

// The checks' counts of a run (proto's apex_checks), by name, in the
// order first seen; at most PROTO_MAX_CHECKS names.
typedef struct {
    char *name;      // the check's name
    uint64_t passes; // passed, all workers
    uint64_t fails;  // failed
} master_check_t;

typedef struct {
    master_check_t *items; // in the order first seen
    size_t n;              // how many
} master_checks_t;

// Empty the table (and free it). A zeroed table is empty.
void master_checks_clear(master_checks_t *self);

// Add a report's counts for name; false when the table is full and name
// is not in it (nothing changes).
bool master_checks_add(master_checks_t *self, const char *name, uint64_t passes,
                       uint64_t fails);

#endif
