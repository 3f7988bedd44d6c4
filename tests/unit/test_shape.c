// tests/unit/test_shape.c - load shapes (master/shape.h): stages of users
// from the scenario and from --stages, linear ramps and steps, arrival
// rates (constant and ramping, with a time unit), where the shape is at a
// given time, fitting a shape to -u and -t, its one-line description, and
// the exact error text of each kind of bad shape. Doubles as the module's
// usage example.
#include "tests/unit/tests.h"

#include <stdlib.h>
#include <string.h>

#include "master/limits.h"
#include "master/shape.h"

#define S_MANY_STAGES (MASTER_SHAPE_MAX_STAGES + 1)

static master_shape_t *s_parse(const char *json)
{
    apex_error_t err = {""};
    master_shape_t *shape = master_shape_parse(json, "s.json", &err);
    if (!shape)
        fprintf(stderr, "%s: %s\n", json, err.msg);
    CHECK(shape != NULL);
    return shape;
}

static void s_check_error(const char *json, const char *expected)
{
    apex_error_t err = {""};
    CHECK(master_shape_parse(json, "s.json", &err) == NULL);
    CHECK_STR(err.msg, expected);
}

static void s_check_stages_error(const char *arg, const char *expected)
{
    apex_error_t err = {""};
    CHECK(master_shape_parse_stages(arg, &err) == NULL);
    CHECK_STR(err.msg, expected);
}

static void s_check_describe(const master_shape_t *shape, const char *expected)
{
    char *text = master_shape_describe(shape);
    CHECK_STR(text, expected);
    free(text);
}

// Stages from the scenario: a linear ramp from 0, a plateau, a step at a
// spawn rate, and down again.
static void s_test_stages(void)
{
    master_shape_t *shape =
        s_parse("{\"stages\": [{\"duration\": \"10s\", \"users\": 100},"
                " {\"duration\": 20, \"users\": 100},"
                " {\"duration\": \"1m\", \"users\": 40, \"spawn_rate\": 5},"
                " {\"duration\": \"10s\", \"users\": 0}]}");
    CHECK_EQ(shape->kind, MASTER_SHAPE_STAGES);
    CHECK_EQ(shape->nstages, 4);
    CHECK_NEAR(master_shape_duration(shape), 100, 0);
    s_check_describe(shape, "stages: 10s:100, 20s:100, 60s:40:5, 10s:0");

    master_shape_point_t p = master_shape_at(shape, 0);
    CHECK(!p.over);
    CHECK_EQ(p.stage, 1);
    CHECK_NEAR(p.users, 0, 0);
    p = master_shape_at(shape, 2.5); // a quarter up the ramp
    CHECK_NEAR(p.users, 25, 0);
    CHECK_NEAR(p.spawn_rate, 0, 0); // a ramp: as fast as needed
    p = master_shape_at(shape, 10);
    CHECK_EQ(p.stage, 2);
    CHECK_NEAR(p.users, 100, 0);
    p = master_shape_at(shape, 31); // a step: its target at once
    CHECK_EQ(p.stage, 3);
    CHECK_NEAR(p.users, 40, 0);
    CHECK_NEAR(p.spawn_rate, 5, 0);
    p = master_shape_at(shape, 95); // half way down from 40
    CHECK_EQ(p.stage, 4);
    CHECK_NEAR(p.users, 20, 0);
    p = master_shape_at(shape, 100);
    CHECK(p.over);
    CHECK_EQ(p.stage, 4);
    CHECK_NEAR(p.users, 0, 0);
    master_shape_destroy(&shape);
    CHECK(shape == NULL);
    master_shape_destroy(&shape); // safe twice
    master_shape_destroy(NULL);
}

// --stages DURATION:USERS[:SPAWN_RATE],...
static void s_test_stages_arg(void)
{
    apex_error_t err = {""};
    master_shape_t *shape =
        master_shape_parse_stages("1m:50,3m:50,30s:10:2.5", &err);
    CHECK(shape != NULL);
    CHECK_EQ(shape->kind, MASTER_SHAPE_STAGES);
    CHECK_EQ(shape->nstages, 3);
    CHECK_NEAR(shape->stages[0].duration, 60, 0);
    CHECK_NEAR(shape->stages[1].target, 50, 0);
    CHECK_NEAR(shape->stages[2].spawn_rate, 2.5, 0);
    CHECK_NEAR(master_shape_duration(shape), 270, 0);
    s_check_describe(shape, "stages: 60s:50, 180s:50, 30s:10:2.5");
    master_shape_point_t p = master_shape_at(shape, 30);
    CHECK_NEAR(p.users, 25, 0);
    master_shape_destroy(&shape);

    s_check_stages_error("", "expected DURATION:USERS[:SPAWN_RATE],... such "
                             "as 1m:50,3m:50,1m:0");
    s_check_stages_error(NULL, "expected DURATION:USERS[:SPAWN_RATE],... "
                               "such as 1m:50,3m:50,1m:0");
    s_check_stages_error(",,,", "expected DURATION:USERS[:SPAWN_RATE],... "
                                "such as 1m:50,3m:50,1m:0");
    s_check_stages_error("1m:5,2m", "stage 2 '2m': expected "
                                    "DURATION:USERS[:SPAWN_RATE]");
    s_check_stages_error("soon:5", "stage 1: duration: expected a duration "
                                   "such as 20, 20s, 3m, 2h, 1h30m or 500ms, "
                                   "got 'soon'");
    s_check_stages_error("0s:5", "stage 1: duration: expected more than 0 "
                                 "and at most a year");
    s_check_stages_error("367d:5", "stage 1: duration: expected a duration "
                                   "such as 20, 20s, 3m, 2h, 1h30m or 500ms, "
                                   "got '367d'");
    s_check_stages_error("8785h:5", "stage 1: duration: expected more than 0 "
                                    "and at most a year");
    s_check_stages_error("1m:-1", "stage 1: users: expected an integer from 0 "
                                  "to 1000000, got '-1'");
    s_check_stages_error("1m:1000001", "stage 1: users: expected an integer "
                                       "from 0 to 1000000, got '1000001'");
    s_check_stages_error("1m:1.5", "stage 1: users: expected an integer from "
                                   "0 to 1000000, got '1.5'");
    s_check_stages_error("1m:5:0", "stage 1: spawn rate: expected a number "
                                   "from 0.001 to 1e+06, got '0'");
    s_check_stages_error("1m:5:", "stage 1: spawn rate: expected a number "
                                  "from 0.001 to 1e+06, got ''");
    s_check_stages_error("1m:5:1:2", "stage 1: spawn rate: expected a number "
                                     "from 0.001 to 1e+06, got '1:2'");

    // More than MASTER_SHAPE_MAX_STAGES stages.
    char *many = calloc(S_MANY_STAGES, sizeof "1s:1,");
    CHECK(many != NULL);
    for (size_t i = 0; i < S_MANY_STAGES; i++)
        strcat(many, i ? ",1s:1" : "1s:1");
    s_check_stages_error(many, "more than 1000 stages");
    many[strlen(many) - sizeof ",1s:1" + 1] = '\0'; // exactly the maximum
    shape = master_shape_parse_stages(many, &err);
    CHECK(shape != NULL);
    CHECK_EQ(shape->nstages, MASTER_SHAPE_MAX_STAGES);
    master_shape_destroy(&shape);
    free(many);
}

// Arrival rates: constant, and ramping from start_rate per time unit.
static void s_test_arrival(void)
{
    master_shape_t *shape =
        s_parse("{\"arrival_rate\": {\"rate\": 50, \"duration\": \"2m\","
                " \"pre_allocated_users\": 10, \"max_users\": 40}}");
    CHECK_EQ(shape->kind, MASTER_SHAPE_ARRIVAL);
    CHECK_EQ(shape->nstages, 1);
    CHECK_NEAR(shape->time_unit, 1, 0);
    CHECK_NEAR(shape->start_rate, 50, 0);
    CHECK_EQ(shape->pre_allocated, 10);
    CHECK_EQ(shape->max_users, 40);
    master_shape_point_t p = master_shape_at(shape, 60);
    CHECK_NEAR(p.rate, 50, 0);
    CHECK_EQ(p.stage, 1);
    s_check_describe(shape, "arrival rate per 1s: start 50, 120s to 50; "
                            "users 10 pre-allocated, 40 at most");
    master_shape_destroy(&shape);

    // 60 per minute is 1/s; from 0 to 120/min over a minute, then down.
    shape = s_parse("{\"arrival_rate\": {\"time_unit\": \"1m\","
                    " \"start_rate\": 60, \"pre_allocated_users\": 5,"
                    " \"stages\": [{\"duration\": \"1m\", \"target\": 120},"
                    " {\"duration\": 30, \"target\": 0}]}}");
    CHECK_NEAR(shape->time_unit, 60, 0);
    CHECK_EQ(shape->max_users, 5); // pre_allocated_users when not given
    CHECK_NEAR(master_shape_at(shape, 0).rate, 1, 1e-12);
    CHECK_NEAR(master_shape_at(shape, 30).rate, 1.5, 1e-12);
    CHECK_NEAR(master_shape_at(shape, 75).rate, 1, 1e-12);
    p = master_shape_at(shape, 90);
    CHECK(p.over);
    CHECK_NEAR(p.rate, 0, 0);
    s_check_describe(shape, "arrival rate per 60s: start 60, 60s to 120, 30s "
                            "to 0; users 5 pre-allocated, 5 at most");
    master_shape_destroy(&shape);
}

// -u scales user numbers so that the peak is -u; -t scales durations.
static void s_test_fit(void)
{
    double load = 0, time = 0;
    master_shape_t *shape =
        master_shape_parse_stages("10s:20,20s:40,10s:0", NULL);
    CHECK(!master_shape_fit(shape, -1, 0, &load, &time));
    CHECK_NEAR(load, 1, 0);
    CHECK_NEAR(time, 1, 0);
    CHECK(!master_shape_fit(shape, 40, 40, &load, &time)); // already so
    CHECK(master_shape_fit(shape, 10, 0, &load, &time));
    CHECK_NEAR(load, 0.25, 0);
    CHECK_NEAR(time, 1, 0);
    s_check_describe(shape, "stages: 10s:5, 20s:10, 10s:0");
    CHECK(master_shape_fit(shape, -1, 80, &load, &time));
    CHECK_NEAR(time, 2, 0);
    s_check_describe(shape, "stages: 20s:5, 40s:10, 20s:0");
    CHECK(master_shape_fit(shape, 0, 0, &load, &time)); // -u 0: no users
    s_check_describe(shape, "stages: 20s:0, 40s:0, 20s:0");
    CHECK(!master_shape_fit(shape, 100, 0, &load, &time)); // peak 0: kept
    master_shape_destroy(&shape);

    // Users round to whole numbers.
    shape = master_shape_parse_stages("1m:3,1m:7", NULL);
    CHECK(master_shape_fit(shape, 5, 0, &load, &time));
    s_check_describe(shape, "stages: 60s:2, 60s:5");
    master_shape_destroy(&shape);

    // Arrival: max_users is the peak; rates and users scale together.
    shape = s_parse("{\"arrival_rate\": {\"rate\": 10, \"duration\": 60,"
                    " \"pre_allocated_users\": 3, \"max_users\": 8}}");
    CHECK(master_shape_fit(shape, 4, 30, &load, &time));
    CHECK_NEAR(load, 0.5, 0);
    CHECK_NEAR(time, 0.5, 0);
    s_check_describe(shape, "arrival rate per 1s: start 5, 30s to 5; users 2 "
                            "pre-allocated, 4 at most");
    master_shape_scale(shape, 1, 0.01); // never below one user
    CHECK_EQ(shape->pre_allocated, 1);
    CHECK_EQ(shape->max_users, 1);
    master_shape_destroy(&shape);
}

static void s_test_errors(void)
{
    s_check_error("[]", "s.json: $.shape: expected an object with \"stages\" "
                        "or \"arrival_rate\"");
    s_check_error("{}", "s.json: $.shape: expected exactly one of \"stages\" "
                        "and \"arrival_rate\"");
    s_check_error("{\"foo\": 1}", "s.json: $.shape.foo: unknown key (expected "
                                  "one of: stages, arrival_rate)");
    s_check_error("{\"stages\": [], \"arrival_rate\": {}}",
                  "s.json: $.shape: expected exactly one of \"stages\" and "
                  "\"arrival_rate\"");
    s_check_error("{\"stages\": []}",
                  "s.json: $.shape.stages: expected a list of 1 to 1000 "
                  "stages");
    s_check_error("{\"stages\": {}}",
                  "s.json: $.shape.stages: expected a list of 1 to 1000 "
                  "stages");
    s_check_error("{\"stages\": [1]}",
                  "s.json: $.shape.stages[0]: expected an object");
    s_check_error("{\"stages\": [{\"duration\": 1, \"users\": 1, \"x\": 1}]}",
                  "s.json: $.shape.stages[0].x: unknown key (expected one of: "
                  "duration, users, spawn_rate)");
    s_check_error("{\"stages\": [{\"users\": 1}]}",
                  "s.json: $.shape.stages[0].duration: expected a duration "
                  "(seconds, or a string such as \"30s\" or \"1m30s\")");
    s_check_error("{\"stages\": [{\"duration\": 0, \"users\": 1}]}",
                  "s.json: $.shape.stages[0].duration: expected a duration "
                  "above 0 and at most a year");
    s_check_error("{\"stages\": [{\"duration\": 31622401, \"users\": 1}]}",
                  "s.json: $.shape.stages[0].duration: expected a duration "
                  "above 0 and at most a year");
    s_check_error("{\"stages\": [{\"duration\": \"-1s\", \"users\": 1}]}",
                  "s.json: $.shape.stages[0].duration: expected a duration "
                  "such as 20, 20s, 3m, 2h, 1h30m or 500ms, got '-1s'");
    s_check_error("{\"stages\": [{\"duration\": 1, \"users\": -1}]}",
                  "s.json: $.shape.stages[0].users: expected a number from 0 "
                  "to 1e+06");
    s_check_error("{\"stages\": [{\"duration\": 1, \"users\": \"5\"}]}",
                  "s.json: $.shape.stages[0].users: expected a number from 0 "
                  "to 1e+06");
    s_check_error("{\"stages\": [{\"duration\": 1, \"users\": 1.5}]}",
                  "s.json: $.shape.stages[0].users: expected a whole number "
                  "of users");
    s_check_error("{\"stages\": [{\"duration\": 1, \"users\": 1},"
                  " {\"duration\": 1, \"users\": 1, \"spawn_rate\": 0}]}",
                  "s.json: $.shape.stages[1].spawn_rate: expected a number "
                  "from 0.001 to 1e+06");
}

static void s_test_arrival_errors(void)
{
    s_check_error("{\"arrival_rate\": 5}",
                  "s.json: $.shape.arrival_rate: expected an object");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"stages\": []}}",
                  "s.json: $.shape.arrival_rate: expected either \"rate\" "
                  "with \"duration\" (constant) or \"stages\" (ramping)");
    s_check_error("{\"arrival_rate\": {\"pre_allocated_users\": 1}}",
                  "s.json: $.shape.arrival_rate: expected either \"rate\" "
                  "with \"duration\" (constant) or \"stages\" (ramping)");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1,"
                  " \"start_rate\": 1}}",
                  "s.json: $.shape.arrival_rate.start_rate: only with "
                  "\"stages\"");
    s_check_error("{\"arrival_rate\": {\"rate\": 2e9, \"duration\": 1}}",
                  "s.json: $.shape.arrival_rate.rate: expected a number from "
                  "0 to 1e+09");
    s_check_error("{\"arrival_rate\": {\"rate\": 1}}",
                  "s.json: $.shape.arrival_rate.duration: expected a duration "
                  "(seconds, or a string such as \"30s\" or \"1m30s\")");
    s_check_error("{\"arrival_rate\": {\"duration\": 1, \"stages\": []}}",
                  "s.json: $.shape.arrival_rate.duration: not with \"stages\" "
                  "(each stage has one)");
    s_check_error("{\"arrival_rate\": {\"stages\": [{\"duration\": 1,"
                  " \"users\": 1}]}}",
                  "s.json: $.shape.arrival_rate.stages[0].users: unknown key "
                  "(expected one of: duration, target)");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1}}",
                  "s.json: $.shape.arrival_rate.pre_allocated_users: missing "
                  "(users allocated before the start)");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1,"
                  " \"pre_allocated_users\": 0}}",
                  "s.json: $.shape.arrival_rate.pre_allocated_users: expected "
                  "a number from 1 to 1e+06");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1,"
                  " \"pre_allocated_users\": 10, \"max_users\": 9}}",
                  "s.json: $.shape.arrival_rate.max_users: expected a number "
                  "from 10 to 1e+06");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1,"
                  " \"time_unit\": \"0s\", \"pre_allocated_users\": 1}}",
                  "s.json: $.shape.arrival_rate.time_unit: expected a "
                  "duration above 0 and at most a year");
    s_check_error("{\"arrival_rate\": {\"rate\": 1, \"duration\": 1,"
                  " \"users\": 1}}",
                  "s.json: $.shape.arrival_rate.users: unknown key (expected "
                  "one of: rate, time_unit, duration, start_rate, stages, "
                  "pre_allocated_users, max_users)");

    // Not JSON: jansson's own message after the path; NULL is no text.
    apex_error_t err = {""};
    CHECK(master_shape_parse("{", "s.json", &err) == NULL);
    CHECK(strncmp(err.msg, "s.json: $.shape: ", 17) == 0);
    CHECK(master_shape_parse(NULL, NULL, &err) == NULL);
    CHECK(strncmp(err.msg, "scenario: $.shape: ", 19) == 0);
}

void test_shape(bool verbose)
{
    (void)verbose;
    s_test_stages();
    s_test_stages_arg();
    s_test_arrival();
    s_test_fit();
    s_test_errors();
    s_test_arrival_errors();
}
