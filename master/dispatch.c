// master/dispatch.c - see dispatch.h. O(total * nclasses) per call, which
// is a few milliseconds for 100 000 users; it runs once per dispatch step
// (at most once a second) and on rebalances.
#include "master/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

typedef struct {
    const char *id;  // worker id
    size_t host_len; // length of the host part
    size_t rank;     // workers of the same host sorting before
    size_t index;    // position in the caller's array
} s_worker_t;

static int s_cmp_id(const void *a, const void *b)
{
    const s_worker_t *x = a;
    const s_worker_t *y = b;
    return strcmp(x->id, y->id);
}

static int s_cmp_rank(const void *a, const void *b)
{
    const s_worker_t *x = a;
    const s_worker_t *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->id, y->id);
}

void master_dispatch_order(const char *const *ids, size_t n, size_t *order)
{
    s_worker_t *w = apex_calloc(n ? n : 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        w[i].id = ids[i];
        const char *sep = strchr(ids[i], '_');
        w[i].host_len = sep ? (size_t)(sep - ids[i]) : strlen(ids[i]);
        w[i].index = i;
    }
    qsort(w, n, sizeof *w, s_cmp_id);
    for (size_t i = 0; i < n; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < i; j++)
            if (w[j].host_len == w[i].host_len &&
                memcmp(w[j].id, w[i].id, w[i].host_len) == 0)
                rank++;
        w[i].rank = rank;
    }
    qsort(w, n, sizeof *w, s_cmp_rank);
    for (size_t i = 0; i < n; i++)
        order[i] = w[i].index;
    free(w);
}

void master_dispatch(const master_class_t *classes, size_t nclasses,
                     size_t nworkers, int64_t total, int64_t *out)
{
    if (nworkers == 0 || nclasses == 0)
        return;
    memset(out, 0, nworkers * nclasses * sizeof *out);
    int64_t *current = apex_calloc(nclasses, sizeof *current);
    int64_t weight_sum = 0;
    for (size_t c = 0; c < nclasses; c++)
        if (!classes[c].fixed_count)
            weight_sum += classes[c].weight;

    int64_t user = 0;
    // Fixed-count classes first, in name order.
    for (size_t c = 0; c < nclasses && user < total; c++)
        for (unsigned k = 0; k < classes[c].fixed_count && user < total;
             k++, user++)
            out[(size_t)(user % (int64_t)nworkers) * nclasses + c]++;

    // Then smooth weighted round-robin (nginx): every step each class
    // gains its weight, the largest is chosen and pays the sum back.
    while (user < total && weight_sum > 0) {
        size_t best = nclasses;
        for (size_t c = 0; c < nclasses; c++) {
            if (classes[c].fixed_count)
                continue;
            current[c] += classes[c].weight;
            if (best == nclasses || current[c] > current[best])
                best = c;
        }
        current[best] -= weight_sum;
        out[(size_t)(user % (int64_t)nworkers) * nclasses + best]++;
        user++;
    }
    free(current);
}
