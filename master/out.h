// master/out.h - the outputs of --out (k6's syntax): `influxdb=URL`
// (http://host:8086/DATABASE, InfluxDB 1.x's /write, or 2.x's
// /api/v2/write when an organization is given) and the APEX_INFLUXDB_*
// variables that carry credentials, tags and the writer's bounds. Parsing
// only: master/influx.c writes, master/outputs.c decides what.
#ifndef MASTER_OUT_H
#define MASTER_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MASTER_OUT_MAX 8 // --out outputs in one run
#define MASTER_OUT_DEFAULT_URL "http://localhost:8086/k6" // k6's default
#define MASTER_OUT_MAX_TAGS 16          // APEX_INFLUXDB_TAGS pairs
#define MASTER_OUT_MIN_INTERVAL_S 0.1   // APEX_INFLUXDB_PUSH_INTERVAL
#define MASTER_OUT_MAX_INTERVAL_S 10.0  // within the stats' 32 s ring
#define MASTER_OUT_DEFAULT_QUEUE 100000 // points held while InfluxDB lags
#define MASTER_OUT_MAX_QUEUE 10000000   // APEX_INFLUXDB_QUEUE_POINTS

// The APEX_INFLUXDB_* variables, as read (NULL or "" = unset).
typedef struct {
    const char *username;      // APEX_INFLUXDB_USERNAME (1.x basic auth)
    const char *password;      // APEX_INFLUXDB_PASSWORD
    const char *token;         // APEX_INFLUXDB_TOKEN (2.x, "Token ...")
    const char *organization;  // APEX_INFLUXDB_ORGANIZATION: use 2.x's API
    const char *bucket;        // APEX_INFLUXDB_BUCKET (2.x; default: path)
    const char *tags;          // APEX_INFLUXDB_TAGS "key=value,..."
    const char *push_interval; // APEX_INFLUXDB_PUSH_INTERVAL (1s)
    const char *queue_points;  // APEX_INFLUXDB_QUEUE_POINTS (100000)
    const char *insecure;      // APEX_INFLUXDB_INSECURE: skip TLS checks
} master_out_env_t;

// One InfluxDB output, ready for the writer. Every string is owned.
typedef struct {
    char *shown;         // the URL for logs: "http://h:8086/k6" (bucket)
    char *write_url;     // where points are POSTed, query included
    char *create_url;    // 1.x: /query, to CREATE DATABASE; NULL on 2.x
    char *create_body;   // its form body (q=CREATE DATABASE "k6")
    char *username;      // basic auth user (APEX_INFLUXDB_USERNAME), or NULL
    char *password;      // its password, or NULL
    char *auth_header;   // "Authorization: Token ...", or NULL
    char *tags;          // APEX_INFLUXDB_TAGS escaped: ",k=v,...", or ""
    bool v2;             // InfluxDB 2's API
    bool insecure;       // do not verify the TLS peer
    double interval;     // seconds between two batches
    size_t queue_points; // points kept while writes fail; more are dropped
} master_out_t;

// The APEX_INFLUXDB_* variables from the environment (borrowed pointers).
void master_out_env_read(master_out_env_t *env);

// Parse one --out value ("influxdb", "influxdb=URL") with env (NULL:
// none set) into *out (fini() it). 0, or -1 with err set to what was
// wrong ("unknown output 'x' (known: influxdb)", "APEX_INFLUXDB_TAGS:
// ...") and *out left empty.
int master_out_parse(const char *arg, const master_out_env_t *env,
                     master_out_t *out, apex_error_t *err);

// Free what *out holds; it is empty afterwards.
void master_out_fini(master_out_t *out);

#endif
