// master/dispatch.h - how users are spread over workers, as Locust's
// UsersDispatcher does it: user classes ordered by name, classes with a
// fixed count first, then the weighted classes by smooth weighted
// round-robin; the i-th user goes to the i-th worker in a cycle whose
// order interleaves hosts. The result for a total is deterministic, so a
// rebalance is simply the distribution recomputed for the new workers.
#ifndef MASTER_DISPATCH_H
#define MASTER_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;     // class name
    unsigned weight;      // relative weight, >= 1
    unsigned fixed_count; // users dispatched first (0: weighted)
} master_class_t;

// Order worker ids the way Locust cycles through them: by the number of
// workers of the same host ("<host>_<hex>") sorting before each one, then
// by id. Writes a permutation of 0..n-1 into order.
void master_dispatch_order(const char *const *ids, size_t n, size_t *order);

// Distribute total users: out[w * nclasses + c] receives the number of
// users of class c for worker w (workers in cycle order, as given by
// master_dispatch_order). out has nworkers * nclasses slots. Does nothing
// when nworkers or nclasses is 0.
void master_dispatch(const master_class_t *classes, size_t nclasses,
                     size_t nworkers, int64_t total, int64_t *out);

#endif
