// master/assets.h - the files built into apex-master: the HTML report
// template and, later, the web UI's pages and scripts. scripts/embed.py
// builds them from web/ (see web/assets.txt) into a generated C file that
// defines master_assets[]; this module looks them up and fills the report.
#ifndef MASTER_ASSETS_H
#define MASTER_ASSETS_H

#include <stddef.h>

// The report template's asset path and the marker it holds exactly once,
// inside <script id="apex-report-data" type="application/json">.
#define MASTER_REPORT_ASSET "report.html"
#define MASTER_REPORT_MARKER "__APEX_REPORT_DATA__"

typedef struct {
    const char *path;          // URL path ("/", "/assets/app.js") or
                               // "report.html"
    const char *content_type;  // "text/html; charset=utf-8", ...
    const unsigned char *data; // bytes, followed by a NUL
    size_t size;               // bytes, not counting the NUL
} master_asset_t;

// Every embedded asset, in web/assets.txt's order (the generated file).
extern const master_asset_t master_assets[];
extern const size_t master_nassets;

// The asset with this URL path, borrowed and static; NULL if none.
const master_asset_t *master_asset_find(const char *path);

// The HTML report: the template with MASTER_REPORT_MARKER replaced by json,
// with every '<' written as the JSON escape "\u003c" so that no "</script"
// or "<!--" in a string can end the data element early. json must be a
// JSON document (a '<' can only occur inside its strings). Returns a new
// string the caller frees, or NULL if the template is missing or lacks
// the marker.
char *master_report_html(const char *json);

#endif
