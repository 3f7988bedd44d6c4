// common/procstat.c - see procstat.h. Reads /proc/self/stat (fields 14
// and 15, utime and stime in clock ticks), /proc/self/statm and
// /proc/meminfo.
#include "common/procstat.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

static uint64_t s_cpu_ticks(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return 0;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    // The command name (field 2) may hold spaces; fields after it start
    // after the last ')'.
    char *p = strrchr(line, ')');
    if (!p)
        return 0;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return 0;
    return utime + stime;
}

void apex_procstat_init(apex_procstat_t *self)
{
    self->cpu_ticks = s_cpu_ticks();
    self->wall_us = apex_now_us();
    self->cpu_percent = 0.0;
}

void apex_procstat_sample(apex_procstat_t *self)
{
    uint64_t ticks = s_cpu_ticks();
    uint64_t now = apex_now_us();
    long hz = sysconf(_SC_CLK_TCK);
    if (now > self->wall_us && hz > 0 && ticks >= self->cpu_ticks) {
        double cpu_s = (double)(ticks - self->cpu_ticks) / (double)hz;
        double wall_s = apex_s_from_us(now - self->wall_us);
        self->cpu_percent = 100.0 * cpu_s / wall_s;
    }
    self->cpu_ticks = ticks;
    self->wall_us = now;
}

uint64_t apex_procstat_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2)
        return 0;
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t apex_procstat_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib * 1024;
}
