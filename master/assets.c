// master/assets.c - see assets.h. The asset table is generated at build
// time (scripts/embed.py writes $(BUILD)/gen/web_assets.c), so the binary
// alone serves the UI and writes reports. A linear search is enough for a
// handful of files. The report is filled by copying the template around
// its one marker; the JSON is copied in runs between '<' characters.
#include "master/assets.h"

#include <assert.h>
#include <string.h>

#include "common/buf.h"

// The JSON string escape that stands for '<' (6 bytes).
#define MASTER_ESCAPED_LT "\\u003c"

const master_asset_t *master_asset_find(const char *path)
{
    assert(path);
    for (size_t i = 0; i < master_nassets; i++) {
        if (strcmp(master_assets[i].path, path) == 0)
            return &master_assets[i];
    }
    return NULL;
}

// Append json to out with every '<' escaped.
static void s_append_json(apex_buf_t *out, const char *json)
{
    const char *p = json;
    while (*p) {
        size_t run = strcspn(p, "<");
        apex_buf_append(out, p, run);
        p += run;
        if (*p == '<') {
            apex_buf_puts(out, MASTER_ESCAPED_LT);
            p++;
        }
    }
}

char *master_report_html(const char *json)
{
    assert(json);
    const master_asset_t *tpl = master_asset_find(MASTER_REPORT_ASSET);
    if (!tpl)
        return NULL;
    const char *text = (const char *)tpl->data;
    const char *marker = strstr(text, MASTER_REPORT_MARKER);
    if (!marker)
        return NULL;
    const char *rest = marker + strlen(MASTER_REPORT_MARKER);

    apex_buf_t out;
    apex_buf_init(&out);
    apex_buf_append(&out, text, (size_t)(marker - text));
    s_append_json(&out, json);
    apex_buf_append(&out, rest, tpl->size - (size_t)(rest - text));
    return apex_buf_take(&out);
}
