// web/tables.js - the web UI's tables that draw only what they are given
// (web/app.js polls and calls them): failures, exceptions, workers and
// thresholds, each with the count on its tab's badge, and the helper that
// swaps a table's body. scripts/embed.py inlines it after web/charts.js
// and before web/app.js. It defines one global, apexTables. Text goes
// into the page only through text nodes, never as HTML.
var apexTables = (function (common) {
    "use strict";

    var {DASH, h, arr, obj, num, str, pad2, fmtNum, fmtInt, fmtBytes} =
        common;

    function $(id) {
        return document.getElementById(id);
    }

    function setText(el, text) {
        text = String(text);
        if (el.textContent !== text) {
            el.textContent = text;
        }
    }

    // Seconds ago: "0.4 s ago", "12 s ago", "3m 05s ago".
    function fmtAge(v) {
        var s = num(v);
        if (s === null || s < 0) {
            return DASH;
        }
        var text = s < 60 ? fmtNum(s, s < 10 ? 1 : 0) + " s" :
            Math.floor(s / 60) + "m " + pad2(Math.floor(s % 60)) + "s";
        return text + " ago";
    }

    // The part of a worker id before its last "_" (Locust and apex-worker
    // both name workers HOSTNAME_HEX).
    function workerHost(id) {
        id = str(id);
        var i = id.lastIndexOf("_");
        return i > 0 ? id.slice(0, i) : id;
    }

    function replaceBody(tableId, rows) {
        var table = $(tableId);
        var body = h("tbody", null, rows);
        table.replaceChild(body, table.tBodies[0]);
        table.hidden = !rows.length;
    }

    function setBadge(id, text, cls) {
        var b = $(id);
        b.hidden = text == null || text === "";
        if (!b.hidden) {
            setText(b, text);
            b.className = "badge" + (cls ? " " + cls : "");
        }
    }

    function renderFailures(s) {
        var rows = arr(s.errors).map(obj);
        replaceBody("failures-table", rows.map(function (e) {
            return h("tr", null,
                h("td", {class: "num"}, fmtInt(e.occurrences)),
                h("td", null, str(e.method)),
                h("td", {class: "name"}, common.breakable(e.name)),
                h("td", {class: "mono"}, str(e.error)));
        }));
        $("failures-empty").hidden = rows.length > 0;
        var count = 0;
        rows.forEach(function (e) {
            count += num(e.occurrences) || 0;
        });
        setBadge("badge-failures", rows.length ? fmtInt(count) : null);
    }

    function renderExceptions(rows) {
        replaceBody("exceptions-table", rows.map(function (e) {
            return h("tr", null,
                h("td", {class: "num"}, fmtInt(e.count)),
                h("td", {class: "mono"}, str(e.msg)),
                h("td", null, e.traceback ? h("pre", null, str(e.traceback)) :
                    DASH),
                h("td", {class: "mono"}, str(e.nodes)));
        }));
        $("exceptions-empty").hidden = rows.length > 0;
        var count = 0;
        rows.forEach(function (e) {
            count += num(e.count) || 0;
        });
        setBadge("badge-exceptions", rows.length ? fmtInt(count) : null);
    }

    function renderWorkers(s) {
        var rows = arr(s.workers).map(obj);
        replaceBody("workers-table", rows.map(function (w) {
            var cpu = num(w.cpu_usage);
            var age = num(w.heartbeat_age);
            return h("tr", null,
                h("td", {class: "mono"}, str(w.id)),
                h("td", null, workerHost(w.id)),
                h("td", null, str(w.kind) || DASH),
                h("td", {class: w.state === "missing" ? "bad" : null},
                    str(w.state)),
                h("td", {class: "num"}, fmtInt(w.user_count)),
                h("td", {class: "num" + (cpu !== null && cpu >= 90 ?
                    " warn" : ""), title: cpu !== null && cpu >= 90 ?
                    "A worker this busy may measure its own delays" : null},
                cpu === null ? DASH : fmtNum(cpu, 1) + " %"),
                h("td", {class: "num"}, fmtBytes(w.memory_usage)),
                h("td", {class: "num"}, fmtInt(w.requests)),
                h("td", {class: "num" + (num(w.failures) > 0 ? " fails" :
                    "")}, fmtInt(w.failures)),
                h("td", {class: "num" + (age !== null && age > 3 ? " warn" :
                    "")}, fmtAge(age)));
        }));
        $("workers-empty").hidden = rows.length > 0;
        setBadge("badge-workers", rows.length ? String(rows.length) : null,
            "neutral");
    }

    function renderThresholds(s) {
        if ($("tab-thresholds").hidden) {
            return;
        }
        var rows = arr(obj(s.apex).thresholds).map(obj);
        replaceBody("thresholds-table", rows.map(function (t) {
            var ok = common.thresholdClass(t);
            return h("tr", {class: ok},
                h("td", {class: "status", title: ok || "not evaluated"},
                    common.thresholdMark(t)),
                h("td", {class: "mono"}, str(t.source)),
                h("td", {class: "num"},
                    common.fmtObserved(t, "no data yet")),
                h("td", null, ok === "ok" ? "passing" : ok ? "failing" :
                    "no data yet"));
        }));
        $("thresholds-empty").hidden = rows.length > 0;
        var failed = rows.filter(function (t) {
            return t.ok === false;
        }).length;
        if (!rows.length) {
            setBadge("badge-thresholds", null);
        } else if (failed) {
            setBadge("badge-thresholds", "\u2717 " + failed);
        } else {
            setBadge("badge-thresholds", "\u2713", "ok");
        }
    }

    return {
        replaceBody: replaceBody,
        renderFailures: renderFailures,
        renderExceptions: renderExceptions,
        renderWorkers: renderWorkers,
        renderThresholds: renderThresholds
    };
})(window.apexCommon);
