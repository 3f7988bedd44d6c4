// tests/unit/test_data.c - data sets: CSV (quotes, CRLF, blank lines, a
// trailing comma) and JSON arrays parsed into columns and typed cells,
// and every way a file can be wrong, with the line or row named.
#include "tests/unit/tests.h"

#include "common/data.h"

static void s_csv_ok(const char *text, size_t rows, size_t cols)
{
    apex_dataset_t d = {0};
    apex_error_t err = {""};
    int rc = apex_data_parse_csv(&d, text, strlen(text), &err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ(rc, 0);
    CHECK_EQ(d.nrows, rows);
    CHECK_EQ(d.ncolumns, cols);
    apex_dataset_fini(&d);
    apex_dataset_fini(&d); // twice
}

static void s_csv_bad(const char *text, size_t len, const char *message)
{
    apex_dataset_t d = {0};
    apex_error_t err = {""};
    CHECK_EQ(apex_data_parse_csv(&d, text, len, &err), -1);
    if (strcmp(err.msg, message) != 0)
        fprintf(stderr, "got: %s\nexpected: %s\n", err.msg, message);
    CHECK_STR(err.msg, message);
    apex_dataset_fini(&d);
}

static void s_json_bad(const char *text, const char *message)
{
    apex_dataset_t d = {0};
    apex_error_t err = {""};
    CHECK_EQ(apex_data_parse_json(&d, text, strlen(text), &err), -1);
    if (!strstr(err.msg, message))
        fprintf(stderr, "got: %s\nexpected: %s\n", err.msg, message);
    CHECK(strstr(err.msg, message));
    apex_dataset_fini(&d);
}

static void s_test_csv(void)
{
    apex_dataset_t d = {0};
    apex_error_t err = {""};
    const char *text = "username,password,note\r\n"
                       "alice,pw1,\"a, \"\"quoted\"\" note\"\r\n"
                       "\n"
                       "bob,pw2,\"two\nlines\"\n"
                       "carol,,x";
    CHECK_EQ(apex_data_parse_csv(&d, text, strlen(text), &err), 0);
    CHECK_EQ(d.ncolumns, 3);
    CHECK_EQ(d.nrows, 3);
    CHECK_STR(d.columns[2], "note");
    CHECK_EQ(apex_dataset_column(&d, "password", 8), 1);
    CHECK_EQ(apex_dataset_column(&d, "pass", 4), -1);
    char *cols = apex_dataset_columns_text(&d);
    CHECK_STR(cols, "username, password, note");
    free(cols);
    CHECK_STR(apex_dataset_row(&d, 0)[2].text, "a, \"quoted\" note");
    CHECK_STR(apex_dataset_row(&d, 1)[2].text, "two\nlines");
    CHECK_STR(apex_dataset_row(&d, 2)[1].text, "");
    CHECK(!apex_dataset_row(&d, 2)[0].json);
    apex_dataset_fini(&d);
    s_csv_ok("a,b\n1,\n", 1, 2);
    s_csv_ok("a,b\n1,", 1, 2);
    s_csv_ok("a\n1\n2\n\n\n", 2, 1);
}

static void s_test_csv_errors(void)
{
    s_csv_bad("", 0, "expected a header line and at least one row");
    s_csv_bad("a,b\n", 4, "expected a header line and at least one row");
    s_csv_bad("a,b\n1,2\n3\n", 10, "line 3: expected 2 fields, got 1");
    s_csv_bad("a,b\n\"1,2\n", 9, "line 2: unterminated quoted field");
    s_csv_bad("a,b\n\"1\"x,2\n", 11, "line 2: text after a closing quote");
    s_csv_bad("a,a\n1,2\n", 8, "line 1: duplicate column 'a'");
    s_csv_bad("a,\n1,2\n", 7, "line 1: column 2 has no name");
    s_csv_bad("a,b\n1,\xff\xfe\n", 8, "line 2: invalid UTF-8");
}

static void s_test_json(void)
{
    apex_dataset_t d = {0};
    apex_error_t err = {""};
    const char *text = "[{\"user\": \"a\", \"age\": 30, \"tags\": [1]},"
                       " {\"age\": 31.5, \"user\": \"b\", \"tags\": null,"
                       "  \"extra\": 1}]";
    CHECK_EQ(apex_data_parse_json(&d, text, strlen(text), &err), 0);
    CHECK_EQ(d.ncolumns, 3);
    CHECK_EQ(d.nrows, 2);
    const apex_value_t *r1 = apex_dataset_row(&d, 1);
    CHECK_STR(r1[0].text, "b");
    CHECK(!r1[0].json);
    CHECK_STR(r1[1].text, "31.5");
    CHECK(r1[1].json);
    CHECK_STR(apex_dataset_row(&d, 0)[2].text, "[1]");
    CHECK_STR(r1[2].text, "null");
    apex_dataset_fini(&d);
    s_json_bad("{}", "expected a non-empty array of objects");
    s_json_bad("[]", "expected a non-empty array of objects");
    s_json_bad("[1]", "row 0: expected a non-empty object");
    s_json_bad("[{\"a\": 1}, 2]", "row 1: expected an object");
    s_json_bad("[{\"a\": 1, \"b\": 2}, {\"a\": 3}]",
               "row 1: missing column 'b'");
    s_json_bad("[{\"a\": 1", "line 1");
    s_json_bad("[{\"a\": \"\xff\"}]", "line 1");
}

void test_data(bool verbose)
{
    (void)verbose;
    s_test_csv();
    s_test_csv_errors();
    s_test_json();
}
