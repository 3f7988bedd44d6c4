// master/report_workers.c - the console's Workers table. Up to
// MASTER_REPORT_WORKER_ROWS workers it has a row each; with more it is a
// summary that stays short at any scale: one row per (host, kind, state)
// with its totals, then the few workers worth a look (those with failures
// first, then the busiest CPUs, which measure themselves as much as the
// target). The JSON and HTML reports and the web UI keep every worker.
#include "master/report.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define S_ID_WIDTH 48
#define S_LINE (48 + 16 + 9 + 9 + 6 + 9 + 10 + 9 + 7)
#define S_MB (1024.0 * 1024.0)

static void s_rule(FILE *out)
{
    for (int i = 0; i < S_LINE; i++)
        fputc('-', out);
    fputc('\n', out);
}

static void s_header(FILE *out, const char *first)
{
    fprintf(out, "%-48s %-16s %-9s %9s %6s %9s %10s %9s\n", first, "Kind",
            "State", "Max users", "CPU %", "Memory MB", "# reqs", "# fails");
    s_rule(out);
}

static void s_row(FILE *out, const master_worker_row_t *r)
{
    fprintf(out, "%-48s %-16s %-9s %9lld %6.1f %9.1f %10llu %9llu\n", r->id,
            r->kind, r->state, (long long)r->users, r->cpu,
            (double)r->memory / S_MB, (unsigned long long)r->requests,
            (unsigned long long)r->failures);
}

// The host part of a worker id ("host_<32 hex>"), its length.
static size_t s_host_len(const char *id)
{
    const char *us = strrchr(id, '_');
    return us ? (size_t)(us - id) : strlen(id);
}

typedef struct {
    const master_worker_row_t *first; // a row of the group (its names)
    size_t workers;                   // rows in it
    int64_t users;                    // their max users, summed
    double cpu;                       // the highest CPU %
    uint64_t memory;                  // memory, summed
    uint64_t requests;                // requests, summed
    uint64_t failures;                // failures, summed
} s_group_t;

static bool s_same_group(const master_worker_row_t *a,
                         const master_worker_row_t *b)
{
    size_t n = s_host_len(a->id);
    return n == s_host_len(b->id) && strncmp(a->id, b->id, n) == 0 &&
           strcmp(a->kind, b->kind) == 0 && strcmp(a->state, b->state) == 0;
}

// Rows grouped by host, kind and state, in order of first appearance.
static size_t s_groups(const master_worker_row_t *rows, size_t n,
                       s_group_t *groups)
{
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = 0;
        while (g < ng && !s_same_group(groups[g].first, &rows[i]))
            g++;
        if (g == ng)
            groups[ng++] = (s_group_t){.first = &rows[i]};
        s_group_t *G = &groups[g];
        G->workers++;
        G->users += rows[i].users;
        G->cpu = rows[i].cpu > G->cpu ? rows[i].cpu : G->cpu;
        G->memory += rows[i].memory;
        G->requests += rows[i].requests;
        G->failures += rows[i].failures;
    }
    return ng;
}

// Failures first (most first), then CPU (highest first).
static int s_worth_a_look(const void *a, const void *b)
{
    const master_worker_row_t *x = *(const master_worker_row_t *const *)a;
    const master_worker_row_t *y = *(const master_worker_row_t *const *)b;
    if (x->failures != y->failures)
        return x->failures > y->failures ? -1 : 1;
    return (x->cpu < y->cpu) - (x->cpu > y->cpu);
}

static void s_summary(FILE *out, const master_worker_row_t *rows, size_t n)
{
    s_group_t *groups = apex_calloc(n, sizeof *groups);
    size_t ng = s_groups(rows, n, groups);
    s_group_t all = {0};
    fprintf(out,
            "Workers: %zu (one row per host, kind and state; every "
            "worker is in the JSON and HTML reports and the web UI)\n",
            n);
    s_header(out, "Host (workers)");
    for (size_t g = 0; g < ng; g++) {
        char host[S_ID_WIDTH + 1];
        int len = (int)s_host_len(groups[g].first->id);
        snprintf(host, sizeof host, "%.*s (%zu)", len > 40 ? 40 : len,
                 groups[g].first->id, groups[g].workers);
        master_worker_row_t sum = {host,
                                   groups[g].first->kind,
                                   groups[g].first->state,
                                   groups[g].users,
                                   groups[g].cpu,
                                   groups[g].memory,
                                   groups[g].requests,
                                   groups[g].failures};
        s_row(out, &sum);
        all.users += groups[g].users;
        all.memory += groups[g].memory;
        all.requests += groups[g].requests;
        all.failures += groups[g].failures;
        all.cpu = groups[g].cpu > all.cpu ? groups[g].cpu : all.cpu;
    }
    s_rule(out);
    char total[S_ID_WIDTH + 1];
    snprintf(total, sizeof total, "Total (%zu)", n);
    master_worker_row_t sum = {total,   "",         "",           all.users,
                               all.cpu, all.memory, all.requests, all.failures};
    s_row(out, &sum);
    free(groups);

    const master_worker_row_t **order = apex_calloc(n, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = &rows[i];
    qsort(order, n, sizeof *order, s_worth_a_look);
    fprintf(out, "\nWorth a look (failures first, then the busiest CPUs)\n");
    s_header(out, "Worker");
    for (size_t i = 0; i < n && i < MASTER_REPORT_WORKERS_SHOWN; i++)
        s_row(out, order[i]);
    free(order);
}

void master_report_workers(FILE *out, const master_worker_row_t *rows, size_t n)
{
    if (n > MASTER_REPORT_WORKER_ROWS) {
        s_summary(out, rows, n);
        fputc('\n', out);
        return;
    }
    fprintf(out, "Workers\n");
    s_header(out, "Worker");
    for (size_t i = 0; i < n; i++)
        s_row(out, &rows[i]);
    fputc('\n', out);
}
