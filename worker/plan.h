// worker/plan.h - the scenario compiled for one engine: per user class its
// tasks, per step its stats entry (so recording a step never hashes a
// name) and its kind's plan (what the kind prepares once: a parsed URL, a
// header list, a prepared statement's text). Internal to the engine.
#ifndef WORKER_PLAN_H
#define WORKER_PLAN_H

#include "worker/core.h"

// Compile engine->scenario into engine->classes. Kinds get their base URL
// (worker_plan_set_base) first.
void worker_plan_build(worker_engine_t *engine);

// Free engine->classes and every kind's plans. No user may be running.
void worker_plan_free(worker_engine_t *engine);

// Tell every kind the base URL for relative targets: the master's host,
// else the scenario's, else none.
void worker_plan_set_base(worker_engine_t *engine);

#endif
