// common/procstat.h - this process's CPU use and resident memory, from
// /proc, for heartbeats (Locust reports psutil's cpu_percent and RSS).
#ifndef APEX_PROCSTAT_H
#define APEX_PROCSTAT_H

#include <stdint.h>

typedef struct {
    uint64_t cpu_ticks; // utime + stime at the last sample
    uint64_t wall_us;   // monotonic time of the last sample
    double cpu_percent; // CPU use since the sample before (100 = 1 core)
} apex_procstat_t;

// Take a first sample.
void apex_procstat_init(apex_procstat_t *self);

// Take a new sample and update cpu_percent over the time since the last.
void apex_procstat_sample(apex_procstat_t *self);

// Resident set size of this process in bytes (0 if unknown).
uint64_t apex_procstat_rss(void);

// Memory the system can give without swapping (MemAvailable of
// /proc/meminfo), in bytes; 0 if unknown.
uint64_t apex_procstat_mem_available(void);

#endif
