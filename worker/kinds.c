// worker/kinds.c - see kinds.h.
#include "worker/kinds.h"

#include "worker/step_http.h"
#include "worker/step_sleep.h"
#include "worker/step_sql.h"
#include "worker/step_ws.h"

const worker_kind_ops_t *const worker_kinds[APEX_STEP_KIND_COUNT] = {
    [APEX_STEP_HTTP] = &worker_step_http_ops,
    [APEX_STEP_WS] = &worker_step_ws_ops,
    [APEX_STEP_SLEEP] = &worker_step_sleep_ops,
    [APEX_STEP_SQL] = &worker_step_sql_ops,
};
