// worker/kinds.h - the step kinds a worker runs, indexed by
// apex_step_kind_t: the one table to extend when a kind is added.
#ifndef WORKER_KINDS_H
#define WORKER_KINDS_H

#include "worker/kind.h"

extern const worker_kind_ops_t *const worker_kinds[APEX_STEP_KIND_COUNT];

#endif
