// master/limits.h - the bounds the master puts on what it is asked, in one
// place for the command line (master/main.c), the web API (master/api.c)
// and load shapes (master/shape.c), so that -u, /swarm's user_count and a
// stage's users accept the same numbers.
#ifndef MASTER_LIMITS_H
#define MASTER_LIMITS_H

#define MASTER_MAX_USERS                                                       \
    1000000                         // -u, user_count, a stage's users: a
                                    // million, 10,000 on each of 100 workers
#define MASTER_MIN_SPAWN_RATE 0.001 // users/s: -r, spawn_rate, a stage's
#define MASTER_MAX_SPAWN_RATE 1e6   // users/s, the same three
#define MASTER_MAX_ARRIVAL_RATE 1e9 // iterations per time unit
#define MASTER_MAX_DURATION_S (366 * 86400.0) // a stage: a (leap) year
#define MASTER_MAX_WORKERS 10000              // registered at once
#define MASTER_MAX_WORKERS_PER_ADDRESS                                         \
    1024                                             // of them from one address
                                                     // (--processes' maximum)
#define MASTER_MAX_EXPECT_WORKERS MASTER_MAX_WORKERS // --expect-workers
#define MASTER_MAX_PROCESSES 1024                    // --processes
#define MASTER_MAX_PORT 65535    // --web-port, --master-bind-port
#define MASTER_MAX_EXIT_CODE 255 // --exit-code-on-error
#define MASTER_RUN_ID_MAX 64     // --run-id: bytes

// What workers' reports may make the master hold (the rest adds up in
// the "other" entry, error or exception, logged once): a hostile report
// must not take the master's memory, nor its CSV and HTML files, with it.
#define MASTER_MAX_STATS_ENTRIES 2000   // distinct (method, name) in a run
#define MASTER_MAX_WORKER_NAMES 1000    // of them one worker's reports add
#define MASTER_MAX_ERRORS 2000          // distinct errors in a run
#define MASTER_MAX_EXCEPTIONS 200       // distinct exceptions in a run
#define MASTER_MAX_EXCEPTION_NODES 4096 // bytes of an exception's node list

#endif
