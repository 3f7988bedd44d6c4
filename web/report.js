// web/report.js - renders the Apex HTML report from the run's JSON
// document (the text of <script id="apex-report-data">, filled by the
// master) with plain DOM calls and uPlot charts. Every field may be
// missing or null: sections say "none" rather than fail. Text from the
// document only ever goes in through textContent, never as HTML.
(function (common) {
    "use strict";

    // What is shared with the web UI (web/common.js): the helpers used
    // throughout by name, the others as common.NAME.
    var {DASH, h, classes, arr, obj, num, str, pad2, fmtNum, fmtInt, fmtMs,
        fmtRate, fmtValue, fmtBytes, fmtSpan, fmtClock} = common;

    var PERCENTILES = ["50", "66", "75", "80", "90", "95", "98", "99",
        "99.9", "99.99", "100"];
    var CHART_HEIGHT = 260;
    var charts = [];

    // ---- small helpers -------------------------------------------------

    // "1.5 ms", or the dash alone when there is no value.
    function withUnit(text, unit) {
        return text === DASH ? DASH : text + " " + unit;
    }

    // "1 user", "20 users".
    function fmtUsers(v) {
        return withUnit(fmtInt(v), num(v) === 1 ? "user" : "users");
    }

    // A ratio as a percentage: 0.0321 -> "3.21 %".
    function fmtPercent(ratio) {
        var n = num(ratio);
        return n === null ? DASH : fmtNum(n * 100, 2) + " %";
    }

    // Seconds as "45 s", "1m 05s", "4h 10m 05s" ("0.5 s" below 10 s).
    function fmtDuration(v) {
        var s = num(v);
        if (s === null || s < 0) {
            return DASH;
        }
        if (s < 60) {
            return fmtNum(s, s < 10 ? 2 : 0) + " s";
        }
        var total = Math.round(s);
        var hours = Math.floor(total / 3600);
        var mins = Math.floor((total % 3600) / 60);
        var secs = total % 60;
        if (hours > 0) {
            return hours + "h " + pad2(mins) + "m " + pad2(secs) + "s";
        }
        return mins + "m " + pad2(secs) + "s";
    }

    // A stage length of a shape: "45s", "1m", "1m30s", "4h"; "?" if none.
    function fmtStageSpan(v) {
        return num(v) === null ? "?" : fmtSpan(v);
    }

    // An ISO 8601 string or Unix seconds as "2026-11-27 10:00:00 UTC".
    function fmtUtc(iso, epoch) {
        var d = null;
        if (num(epoch) !== null) {
            d = new Date(num(epoch) * 1000);
        } else if (iso) {
            d = new Date(String(iso));
        }
        if (!d || isNaN(d.getTime())) {
            return iso ? String(iso) : DASH;
        }
        return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" +
            pad2(d.getUTCDate()) + " " + fmtClock(d, true, true) + " UTC";
    }

    function section(id, title, count) {
        return h("section", {id: id},
            h("h2", null, title,
                count == null ? null : h("span", {class: "count"}, count)));
    }

    function empty(text) {
        return h("p", {class: "empty"}, text);
    }

    // A table from column specs {title, num?, cls?, get(row) -> text|node},
    // with total as a last row, and rowClass(row) as each row's class.
    function table(id, columns, rows, total, rowClass) {
        var head = h("tr", null, columns.map(function (c) {
            return h("th", {class: c.num ? "num" : null}, c.title);
        }));
        var body = h("tbody");
        var addRow = function (row, cls) {
            body.appendChild(h("tr", {class: cls}, columns.map(function (c) {
                return h("td", {class: classes([c.num ? "num" : "",
                    c.cls ? c.cls(row) : ""])}, c.get(row));
            })));
        };
        rows.forEach(function (r) {
            addRow(r, rowClass ? rowClass(r) : null);
        });
        if (total) {
            addRow(total, "total");
        }
        return h("div", {class: "table-wrap"},
            h("table", {id: id}, h("thead", null, head), body));
    }

    // ---- sections --------------------------------------------------------

    var VERDICTS = {
        "passed": "ok",
        "failed": "bad",
        "thresholds failed": "bad",
        "aborted": "warn"
    };

    function describeLoad(run) {
        var shape = run.shape;
        if (!shape || typeof shape !== "object") {
            var parts = [];
            parts.push(num(run.users) === null ? "users not given" :
                fmtUsers(run.users));
            if (num(run.spawn_rate) !== null) {
                parts.push("spawn rate " + fmtRate(run.spawn_rate) + "/s");
            }
            parts.push(num(run.run_time) !== null ?
                "run time " + fmtDuration(run.run_time) : "until stopped");
            return parts.join(", ");
        }
        var stages = arr(shape.stages);
        if (shape.kind === "stages") {
            return "stages: " + (stages.length ? stages.map(function (s) {
                s = obj(s);
                var text = fmtStageSpan(s.duration) + " \u2192 " +
                    fmtUsers(s.users);
                if (num(s.spawn_rate) !== null) {
                    text += " at " + fmtRate(s.spawn_rate) + "/s";
                }
                return text;
            }).join(", ") : "none");
        }
        if (shape.kind === "arrival_rate") {
            var unit = num(shape.time_unit) !== null ?
                fmtSpan(shape.time_unit) : str(shape.time_unit || "1s");
            var out = [];
            if (stages.length) {
                out.push("arrival rate " + (num(shape.start_rate) !== null ?
                    "from " + fmtValue(shape.start_rate) + "/" + unit + " " :
                    "") + "in stages: " + stages.map(function (s) {
                    s = obj(s);
                    var rate = s.rate != null ? s.rate : s.target;
                    return fmtStageSpan(s.duration) + " \u2192 " +
                        fmtValue(rate) + "/" + unit;
                }).join(", "));
            } else {
                out.push("arrival rate " + fmtValue(shape.rate) +
                    " iterations/" + unit);
                if (num(shape.duration) !== null) {
                    out.push("for " + fmtDuration(shape.duration));
                }
            }
            if (num(shape.pre_allocated_users) !== null) {
                out.push(fmtInt(shape.pre_allocated_users) +
                    " pre-allocated users");
            }
            if (num(shape.max_users) !== null) {
                out.push("at most " + fmtInt(shape.max_users) + " users");
            }
            return out.join(", ");
        }
        return str(shape.kind || "shape") + ": " + JSON.stringify(shape);
    }

    function renderSummary(doc) {
        var run = obj(doc.run);
        var total = obj(doc.total);
        var verdict = str(run.verdict) || "unknown";
        var s = h("section", {id: "summary"});
        var badge = h("span", {
            class: "verdict " + (VERDICTS[verdict] || "unknown"),
            id: "verdict"
        }, common.capitalize(verdict),
            num(run.exit_code) !== null ? " \u00b7 exit code " +
            fmtInt(run.exit_code) : "");
        s.appendChild(h("div", {class: "summary-head"},
            h("div", null, h("h1", null, "Load test report"),
                run.description ?
                    h("p", {class: "description"}, str(run.description)) :
                    null),
            badge));

        var items = [
            ["Start", fmtUtc(run.start, run.start_time)],
            ["End", fmtUtc(run.end, run.end_time)],
            ["Duration", fmtDuration(run.duration)],
            ["Host", str(run.host) || DASH],
            ["Scenario", str(run.scenario) || DASH],
            ["Load", describeLoad(run)],
            ["Workers", fmtInt(arr(run.workers).length)]
        ];
        if (num(doc.iterations) !== null) {
            items.push(["Iterations", fmtInt(doc.iterations) +
                (num(doc.dropped_iterations) ? " (" +
                    fmtInt(doc.dropped_iterations) + " dropped)" : "")]);
        }
        var dl = h("dl", {class: "meta"});
        items.forEach(function (it) {
            dl.appendChild(h("dt", null, it[0]));
            dl.appendChild(h("dd", null, it[1]));
        });
        s.appendChild(dl);

        var pct = obj(total.percentiles_ms);
        var peak = null;
        arr(doc.history).forEach(function (p) {
            var u = num(obj(p).users);
            if (u !== null && (peak === null || u > peak)) {
                peak = u;
            }
        });
        var fails = num(total.failures);
        var figures = [
            ["Requests", fmtInt(total.requests), false],
            ["Failures", fmtInt(total.failures) +
                (num(total.fail_ratio) !== null ?
                    " (" + fmtPercent(total.fail_ratio) + ")" : ""),
                fails !== null && fails > 0],
            ["Requests/s", fmtRate(total.rps), false],
            ["Median", withUnit(fmtMs(total.median_ms), "ms"), false],
            ["95th percentile", withUnit(fmtMs(pct["95"]), "ms"), false],
            ["99th percentile", withUnit(fmtMs(pct["99"]), "ms"), false],
            ["Peak users", fmtInt(peak), false]
        ];
        s.appendChild(h("div", {class: "figures"}, figures.map(function (f) {
            return h("div", {class: "figure"},
                h("div", {class: "label"}, f[0]),
                h("div", {class: "value" + (f[2] ? " bad" : "")}, f[1]));
        })));
        return s;
    }

    function renderThresholds(doc) {
        var rows = arr(doc.thresholds).map(obj);
        var failed = rows.filter(function (t) { return t.ok === false; });
        var s = section("thresholds", "Thresholds", rows.length ?
            (failed.length ? failed.length + " of " + rows.length +
                " failed" : "all " + rows.length + " passed") : null);
        if (!rows.length) {
            s.appendChild(empty("No thresholds were defined."));
            return s;
        }
        var trs = table("thresholds-table", [
            {title: "", cls: function () { return "status"; },
                get: common.thresholdMark},
            {title: "Threshold", cls: function () { return "mono"; },
                get: function (t) {
                    return [str(t.source) || (str(t.metric) + ": " +
                        str(t.expression)), t.abort_on_fail ?
                        h("span", {class: "tag"}, "abort on fail") : null];
                }},
            {title: "Metric", get: function (t) {
                var f = t.filter;
                if (f && typeof f === "object") {
                    f = Object.keys(f).map(function (k) {
                        return k + ":" + str(f[k]);
                    }).join(",");
                }
                return str(t.metric) + (f ? "{" + str(f) + "}" : "");
            }},
            {title: "Condition", cls: function () { return "mono"; },
                get: function (t) { return str(t.expression); }},
            {title: "Observed", num: true, get: function (t) {
                return common.fmtObserved(t, "no data");
            }},
            {title: "Result", get: function (t) {
                return t.ok === true ? "passed" :
                    t.ok === false ? "failed" : DASH;
            }}
        ], rows);
        // Colour whole rows by outcome.
        var bodyRows = trs.querySelectorAll("tbody tr");
        rows.forEach(function (t, i) {
            bodyRows[i].className = common.thresholdClass(t) || "";
        });
        s.appendChild(trs);
        return s;
    }

    function entryType(e) {
        return str(e.method);
    }

    function entryName(e) {
        return common.breakable(e.name);
    }

    function renderRequests(doc) {
        var entries = arr(doc.entries).map(obj);
        var total = doc.total ? obj(doc.total) : null;
        var s = section("requests", "Request statistics",
            entries.length ? entries.length + " entries" : null);
        if (!entries.length && !(total && num(total.requests))) {
            s.appendChild(empty("No requests were made."));
            return s;
        }
        s.appendChild(table("stats-table", [
            {title: "Type", get: entryType},
            {title: "Name", cls: function () { return "name"; },
                get: entryName},
            {title: "# Requests", num: true,
                get: function (e) { return fmtInt(e.requests); }},
            {title: "# Fails", num: true,
                cls: function (e) { return num(e.failures) ? "fails" : ""; },
                get: function (e) { return fmtInt(e.failures); }},
            {title: "Median (ms)", num: true,
                get: function (e) { return fmtMs(e.median_ms); }},
            {title: "Average (ms)", num: true,
                get: function (e) { return fmtMs(e.avg_ms); }},
            {title: "Min (ms)", num: true,
                get: function (e) { return fmtMs(e.min_ms); }},
            {title: "Max (ms)", num: true,
                get: function (e) { return fmtMs(e.max_ms); }},
            {title: "Average size (bytes)", num: true,
                get: function (e) { return fmtInt(e.avg_content_length); }},
            {title: "RPS", num: true,
                get: function (e) { return fmtRate(e.rps); }},
            {title: "Failures/s", num: true,
                get: function (e) { return fmtRate(e.fail_per_sec); }}
        ], entries, total));
        return s;
    }

    function renderPercentiles(doc) {
        var entries = arr(doc.entries).map(obj);
        var total = doc.total ? obj(doc.total) : null;
        var s = section("percentiles", "Response time percentiles (ms)");
        if (!entries.length && !(total && num(total.requests))) {
            s.appendChild(empty("No requests were made."));
            return s;
        }
        var cols = [
            {title: "Type", get: entryType},
            {title: "Name", cls: function () { return "name"; },
                get: entryName}
        ];
        PERCENTILES.forEach(function (p) {
            cols.push({title: p + "%", num: true, get: function (e) {
                return fmtMs(obj(e.percentiles_ms)[p]);
            }});
        });
        cols.push({title: "# Requests", num: true,
            get: function (e) { return fmtInt(e.requests); }});
        s.appendChild(table("percentiles-table", cols, entries, total));
        return s;
    }

    function renderFailures(doc) {
        var rows = arr(doc.errors).map(obj);
        var s = section("failures", "Failures",
            rows.length ? rows.length + " kinds" : null);
        if (!rows.length) {
            s.appendChild(empty("No failures."));
            return s;
        }
        s.appendChild(table("failures-table", [
            {title: "Method", get: function (e) { return str(e.method); }},
            {title: "Name", cls: function () { return "name"; },
                get: function (e) { return common.breakable(e.name); }},
            {title: "Error", cls: function () { return "mono"; },
                get: function (e) { return str(e.error); }},
            {title: "Occurrences", num: true,
                get: function (e) { return fmtInt(e.occurrences); }}
        ], rows));
        return s;
    }

    function renderExceptions(doc) {
        var rows = arr(doc.exceptions).map(obj);
        var s = section("exceptions", "Exceptions",
            rows.length ? String(rows.length) : null);
        if (!rows.length) {
            s.appendChild(empty("No exceptions."));
            return s;
        }
        s.appendChild(table("exceptions-table", [
            {title: "Count", num: true,
                get: function (e) { return fmtInt(e.count); }},
            {title: "Message", get: function (e) { return str(e.msg); }},
            {title: "Traceback", get: function (e) {
                return e.traceback ? h("pre", null, str(e.traceback)) : DASH;
            }},
            {title: "Nodes", cls: function () { return "mono"; },
                get: function (e) { return str(e.nodes); }}
        ], rows));
        return s;
    }

    var FIGURE_KINDS = {
        counter: "counter (total)",
        gauge: "gauge (at the end)",
        rate: "rate",
        check: "check (passed)"
    };

    // The workers' run-wide figures (WebSocket and database connections,
    // messages, ...) and the checks, as the console summary prints them.
    function renderFigures(doc) {
        var rows = common.figureRows(doc.figures, doc.checks);
        var s = section("figures", "Run-wide figures",
            rows.length ? String(rows.length) : null);
        if (!rows.length) {
            s.appendChild(empty("No run-wide figures: no WebSocket or " +
                "database steps and no checks."));
            return s;
        }
        s.appendChild(table("figures-table", [
            {title: "", cls: function () { return "status"; },
                get: function (r) {
                    return r.kind !== "check" ? "" : r.cls === "ok" ?
                        "\u2713" : "\u2717";
                }},
            {title: "Figure", cls: function () { return "mono"; },
                get: function (r) { return r.name; }},
            {title: "Kind", get: function (r) { return FIGURE_KINDS[r.kind]; }},
            {title: "Value", num: true, get: function (r) { return r.value; }},
            {title: "", get: function (r) { return r.detail || ""; }}
        ], rows, null, function (r) { return r.cls; }));
        return s;
    }

    // The scripts' custom trends (apex.trend), in the scripts' units; only
    // in reports of runs that had one.
    function renderTrends(doc) {
        var rows = arr(doc.trends).map(obj);
        var s = section("trends", "Custom trends", String(rows.length));
        var value = function (k) {
            return function (t) { return fmtNum(t[k], 3); };
        };
        s.appendChild(table("trends-table", [
            {title: "Name", cls: function () { return "mono"; },
                get: function (t) { return str(t.name); }},
            {title: "Count", num: true,
                get: function (t) { return fmtInt(t.count); }},
            {title: "Avg", num: true, get: value("avg")},
            {title: "Min", num: true, get: value("min")},
            {title: "Median", num: true, get: value("med")},
            {title: "90%", num: true, get: value("p90")},
            {title: "95%", num: true, get: value("p95")},
            {title: "99%", num: true, get: value("p99")},
            {title: "Max", num: true, get: value("max")}
        ], rows));
        return s;
    }

    function renderWorkers(doc) {
        var rows = arr(obj(doc.run).workers).map(obj);
        var s = section("workers", "Workers",
            rows.length ? String(rows.length) : null);
        if (!rows.length) {
            s.appendChild(empty("No workers reported."));
            return s;
        }
        s.appendChild(table("workers-table", [
            {title: "ID", cls: function () { return "mono"; },
                get: function (w) { return str(w.id); }},
            {title: "Kind", get: function (w) { return str(w.kind); }},
            {title: "State", get: function (w) { return str(w.state); }},
            {title: "Max users", num: true,
                get: function (w) { return fmtInt(w.max_users); }},
            {title: "Requests", num: true,
                get: function (w) { return fmtInt(w.requests); }},
            {title: "Failures", num: true,
                get: function (w) { return fmtInt(w.failures); }},
            {title: "CPU", num: true, get: function (w) {
                return num(w.cpu) === null ? DASH : fmtNum(w.cpu, 1) + " %";
            }},
            {title: "Memory", num: true,
                get: function (w) { return fmtBytes(w.memory); }}
        ], rows));
        return s;
    }

    // ---- charts ----------------------------------------------------------

    // The time scale spans the run's points (common.timeRange: a single
    // point gets a little room, since uPlot would stretch it over a day).
    function timeScale(xs) {
        var range = common.timeRange(xs[0], xs[xs.length - 1]);
        return {time: true, auto: false, min: range[0], max: range[1]};
    }

    // Time ticks in UTC, 24-hour: "10:05" or "10:05:30" when the ticks are
    // less than a minute apart, with the date when the run spans days.
    function timeTicks(u, splits, axisIdx, space, incr) {
        var xs = u.data[0];
        var days = xs.length && xs[xs.length - 1] - xs[0] >= 86400;
        return splits.map(function (ts) {
            var d = new Date(ts * 1000);
            var text = fmtClock(d, true, incr < 60);
            if (days) {
                text = pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate()) +
                    " " + text;
            }
            return text;
        });
    }

    function makeChart(spec, history) {
        var el = h("div", {class: "chart-box", id: spec.id,
            "data-colors": common.seriesColors(spec)});
        var box = h("div", {class: "chart"}, h("h3", null, spec.title), el);
        var data = common.chartData(history, spec);
        var opts = common.chartOptions(spec, {
            width: 600, // drawCharts() sets the box's
            height: CHART_HEIGHT,
            padRight: 32, // room for the last time tick
            tzDate: function (ts) {
                return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
            },
            sync: "apex",
            x: timeScale(data[0]),
            time: {label: "Time (UTC)",
                value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}"},
            ticks: timeTicks,
            timeLabel: "time (UTC)"
        });
        return {box: box, el: el, opts: opts, data: data};
    }

    function renderCharts(doc) {
        var s = section("charts", "Charts");
        var history = arr(doc.history).map(obj).filter(function (p) {
            return num(p.time) !== null;
        }).sort(function (a, b) { return num(a.time) - num(b.time); });
        if (!history.length) {
            s.appendChild(empty("No history was recorded for this run."));
            return {section: s, pending: []};
        }
        if (typeof window.uPlot !== "function") {
            s.appendChild(h("p", {class: "notice"},
                "The charting library is missing from this report."));
            return {section: s, pending: []};
        }
        var specs = common.chartSpecs(
            common.hasValue(history, "target_rate"),
            common.hasValue(history, "target_users"));
        var grid = h("div", {class: "charts"});
        var pending = specs.map(function (spec) {
            var c = makeChart(spec, history);
            grid.appendChild(c.box);
            return c;
        });
        s.appendChild(grid);
        return {section: s, pending: pending};
    }

    // uPlot needs a width in pixels, so charts are made once the page is
    // laid out and resized with the window.
    function drawCharts(pending) {
        pending.forEach(function (c) {
            c.opts.width = common.chartWidth(c.el);
            charts.push(new uPlot(c.opts, c.data, c.el));
        });
        if (!pending.length) {
            return;
        }
        common.onResize(function () {
            charts.forEach(function (u, i) {
                u.setSize({width: common.chartWidth(pending[i].el),
                    height: CHART_HEIGHT});
            });
        });
    }

    // ---- main ------------------------------------------------------------

    function readDocument() {
        var el = document.getElementById("apex-report-data");
        if (!el) {
            return null;
        }
        try {
            var doc = JSON.parse(el.textContent);
            return doc && typeof doc === "object" ? doc : null;
        } catch (e) {
            return null; // the template itself, not a filled report
        }
    }

    // Render one section; a bug in one must not hide the others, but it
    // is still reported on the console (the browser test fails on it).
    function guarded(name, fn, doc) {
        try {
            return fn(doc);
        } catch (e) {
            console.error("apex report: " + name + ": " + e);
            return h("section", null, h("p", {class: "notice"},
                "The " + name + " section could not be shown."));
        }
    }

    function main() {
        var root = document.getElementById("report");
        var doc = readDocument();
        var footer = document.getElementById("footer");
        if (!doc) {
            root.appendChild(h("p", {class: "notice", id: "no-data"},
                "This report holds no run data."));
            document.body.setAttribute("data-rendered", "no-data");
            return;
        }
        var run = obj(doc.run);
        if (run.host || run.start) {
            document.title = "Apex report \u00b7 " + str(run.host || "") +
                " \u00b7 " + fmtUtc(run.start, run.start_time);
        }
        root.appendChild(guarded("summary", renderSummary, doc));
        root.appendChild(guarded("thresholds", renderThresholds, doc));
        root.appendChild(guarded("requests", renderRequests, doc));
        root.appendChild(guarded("percentiles", renderPercentiles, doc));
        root.appendChild(guarded("figures", renderFigures, doc));
        if (arr(doc.trends).length) {
            root.appendChild(guarded("trends", renderTrends, doc));
        }
        var chartPart = null;
        root.appendChild(guarded("charts", function (d) {
            chartPart = renderCharts(d);
            return chartPart.section;
        }, doc));
        root.appendChild(guarded("failures", renderFailures, doc));
        root.appendChild(guarded("exceptions", renderExceptions, doc));
        root.appendChild(guarded("workers", renderWorkers, doc));
        footer.appendChild(h("span", null, "Generated by Apex " +
            (str(doc.apex_version) || "") + " \u00b7 charts drawn with " +
            "uPlot \u00b7 times in UTC"));
        if (chartPart) {
            guarded("charts", function () {
                drawCharts(chartPart.pending);
                return null;
            });
        }
        window.apexReport = {data: doc, charts: charts};
        document.body.setAttribute("data-rendered", "true");
    }

    common.whenReady(main);
})(window.apexCommon);
