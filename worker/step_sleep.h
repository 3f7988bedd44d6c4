// worker/step_sleep.h - the sleep step kind: a pause inside a flow.
#ifndef WORKER_STEP_SLEEP_H
#define WORKER_STEP_SLEEP_H

#include "worker/kind.h"

extern const worker_kind_ops_t worker_step_sleep_ops;

#endif
