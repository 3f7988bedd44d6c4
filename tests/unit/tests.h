// tests/unit/tests.h - every unit test: one per module of common/ and
// proto/ (proto.h's codec has five, test_proto_*.c, by topic), and those
// of master/ and worker/ that have one.
#ifndef APEX_TESTS_H
#define APEX_TESTS_H
#include <stdbool.h>
#include "tests/unit/check.h"
#define APEX_UNIT_TESTS(X)                                                     \
    X(histogram)                                                               \
    X(pyfmt)                                                                   \
    X(scenario)                                                                \
    X(scenario_parse)                                                          \
    X(scenario_http)                                                           \
    X(scenario_http_opts)                                                      \
    X(http1_target)                                                            \
    X(template)                                                                \
    X(jsonpath)                                                                \
    X(json)                                                                    \
    X(capture)                                                                 \
    X(stats)                                                                   \
    X(proto_encode)                                                            \
    X(proto_decode)                                                            \
    X(proto_stats)                                                             \
    X(proto_fields)                                                            \
    X(proto_hostile)                                                           \
    X(zio)                                                                     \
    X(locate)                                                                  \
    X(loop)                                                                    \
    X(cli)                                                                     \
    X(buf)                                                                     \
    X(error)                                                                   \
    X(alloc)                                                                   \
    X(clock)                                                                   \
    X(rng)                                                                     \
    X(url)                                                                     \
    X(user)                                                                    \
    X(scenario_ws)                                                             \
    X(scenario_tags)                                                           \
    X(report_workers)                                                          \
    X(report)                                                                  \
    X(registry)                                                                \
    X(scenario_sql)                                                            \
    X(log)                                                                     \
    X(procstat)                                                                \
    X(dispatch)                                                                \
    X(fs)                                                                      \
    X(thresholds)                                                              \
    X(shape)                                                                   \
    X(routes)                                                                  \
    X(out)                                                                     \
    X(influx_line)                                                             \
    X(influx)                                                                  \
    X(cookies)                                                                 \
    X(data)                                                                    \
    X(flows)                                                                   \
    X(check)                                                                   \
    X(http_capture)                                                            \
    X(curve)                                                                   \
    X(secrets)                                                                 \
    X(web_auth)                                                                \
    X(script)                                                                  \
    X(lua_json)
#define APEX_DECLARE_TEST(name) void test_##name(bool verbose);
APEX_UNIT_TESTS(APEX_DECLARE_TEST)
#undef APEX_DECLARE_TEST
#endif
