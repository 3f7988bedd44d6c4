// tests/unit/test_influx_line.c - master/influx_line.h: points with tags,
// fields and common tags; escaping of hostile names; points without
// fields taken back; floats that read back equal.
#include <math.h>

#include "master/influx_line.h"
#include "tests/unit/tests.h"

void test_influx_line(bool verbose)
{
    (void)verbose;
    apex_buf_t b;
    apex_buf_init(&b);
    master_lp_t lp;
    master_lp_init(&lp, &b, ",run_id=r1");
    master_lp_begin(&lp, "http_reqs");
    master_lp_tag(&lp, "name", "/api/v1/tasks");
    master_lp_tag(&lp, "method", "GET");
    master_lp_tag(&lp, "status", ""); // no empty tag values
    master_lp_field(&lp, "value", 12);
    master_lp_end(&lp, 1700000000123);
    CHECK_STR(apex_buf_str(&b), "http_reqs,name=/api/v1/tasks,method=GET,"
                                "run_id=r1 value=12 1700000000123\n");
    CHECK_EQ(lp.points, 1);

    // Hostile names: separators escaped, control characters as spaces,
    // a final backslash dropped; NaN skipped, 0.1 and 1/3 read back.
    apex_buf_reset(&b);
    master_lp_init(&lp, &b, NULL);
    master_lp_begin(&lp, "m ,x");
    master_lp_tag(&lp, "k=1", "say \"hi\", a=b\nc\\");
    master_lp_tag(&lp, "only", "\\\\"); // nothing left: no tag
    master_lp_field(&lp, "nan", NAN);
    master_lp_field(&lp, "a", 0.1);
    master_lp_field(&lp, "b", 1.0 / 3);
    master_lp_end(&lp, 5);
    CHECK_STR(apex_buf_str(&b), "m\\ \\,x,k\\=1=say\\ \"hi\"\\,\\ a\\=b\\ c "
                                "a=0.1,b=0.33333333333333331 5\n");

    // A point without a field is taken back whole.
    size_t len = b.len;
    master_lp_begin(&lp, "empty");
    master_lp_tag(&lp, "name", "x");
    master_lp_field(&lp, "inf", INFINITY);
    master_lp_end(&lp, 6);
    CHECK_EQ(b.len, len);
    CHECK_EQ(lp.points, 1);
    CHECK_EQ(strlen(apex_buf_str(&b)), len);

    apex_buf_t e;
    apex_buf_init(&e);
    master_lp_escape_measurement(&e, "a=b,c d\t");
    CHECK_STR(apex_buf_str(&e), "a=b\\,c\\ d\\ ");
    apex_buf_fini(&e);
    apex_buf_fini(&b);
}
