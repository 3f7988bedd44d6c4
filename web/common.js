// web/common.js - what the web UI (web/app.js) and the HTML report
// (web/report.js) share: building DOM nodes, reading loosely typed JSON
// values, number and time formatting, threshold outcomes, and the charts'
// specs, colours and uPlot options. scripts/embed.py inlines it into both
// pages just before the page's own script. It defines one global,
// apexCommon, and does nothing by itself. Text only ever goes into the
// page through text nodes and textContent, never as HTML.
var apexCommon = (function () {
    "use strict";

    var DASH = "\u2013"; // shown for a missing value

    // ---- DOM -----------------------------------------------------------

    // A new element: h("td", {class: "num", title: "..."}, child, ...).
    // An attribute that is null or false is left out; "class" sets the
    // class name and "text" the text content. The children are as for
    // append().
    function h(tag, attrs) {
        var el = document.createElement(tag);
        if (attrs) {
            Object.keys(attrs).forEach(function (k) {
                var v = attrs[k];
                if (v == null || v === false) {
                    return;
                }
                if (k === "class") {
                    el.className = v;
                } else if (k === "text") {
                    el.textContent = String(v);
                } else {
                    el.setAttribute(k, v);
                }
            });
        }
        for (var i = 2; i < arguments.length; i++) {
            append(el, arguments[i]);
        }
        return el;
    }

    // Append child to el: a node, an array of children, or anything else
    // as a text node (never parsed as HTML); null and false add nothing.
    function append(el, child) {
        if (child == null || child === false) {
            return;
        }
        if (Array.isArray(child)) {
            child.forEach(function (c) { append(el, c); });
        } else if (typeof child === "object") {
            el.appendChild(child);
        } else {
            el.appendChild(document.createTextNode(String(child)));
        }
    }

    // A class attribute from parts, some of them "": null when they are
    // all empty, so that h() sets none.
    function classes(parts) {
        return parts.join(" ").trim() || null;
    }

    // Where a name may wrap: before these characters ("/api/v1" + "/dags",
    // "?a=1" + "&b=2") and after those ("task-" + "instances"). A run of
    // them ("//", "--") stays together, and so does "://".
    var BREAK_BEFORE = "/?&";
    var BREAK_AFTER = "-_";

    // text (a stats name, a URL) as text nodes with <wbr> at the places
    // above, for append() or h(): a cell with overflow-wrap: anywhere then
    // wraps there, and in a word only when the word alone is wider than
    // the cell.
    function breakable(text) {
        text = str(text);
        var out = [];
        var start = 0;
        for (var i = 1; i < text.length; i++) {
            var c = text.charAt(i);
            var prev = text.charAt(i - 1);
            var before = BREAK_BEFORE.indexOf(c) >= 0 &&
                BREAK_BEFORE.indexOf(prev) < 0 && prev !== ":";
            var after = BREAK_AFTER.indexOf(prev) >= 0 &&
                BREAK_AFTER.indexOf(c) < 0;
            if (before || after) {
                out.push(text.slice(start, i), document.createElement("wbr"));
                start = i;
            }
        }
        out.push(text.slice(start));
        return out;
    }

    // Call fn once the document has been parsed.
    function whenReady(fn) {
        if (document.readyState === "loading") {
            document.addEventListener("DOMContentLoaded", fn);
        } else {
            fn();
        }
    }

    // Call fn after the window is resized, at most once an animation frame.
    function onResize(fn) {
        var queued = false;
        window.addEventListener("resize", function () {
            if (queued) {
                return;
            }
            queued = true;
            window.requestAnimationFrame(function () {
                queued = false;
                fn();
            });
        });
    }

    // ---- JSON values: any field may be missing, null or of another type --

    // v if it is an array, else [].
    function arr(v) {
        return Array.isArray(v) ? v : [];
    }

    // v if it is an object (not an array), else {}.
    function obj(v) {
        return v && typeof v === "object" && !Array.isArray(v) ? v : {};
    }

    // v as a finite number, else null (also for "" and booleans).
    function num(v) {
        if (v == null || v === "" || typeof v === "boolean") {
            return null;
        }
        var n = Number(v);
        return isFinite(n) ? n : null;
    }

    // v as a string, "" for null or undefined.
    function str(v) {
        return v == null ? "" : String(v);
    }

    // ---- formatting --------------------------------------------------------

    // A whole number 0-99 with two digits: 5 -> "05".
    function pad2(x) {
        return (x < 10 ? "0" : "") + x;
    }

    var formats = {}; // Intl.NumberFormat by decimals ("2" at most, "2!")

    // v as "12,345.67" with at most digits decimals (exactly digits when
    // exact is true); DASH if no number.
    function fmtNum(v, digits, exact) {
        var n = num(v);
        if (n === null) {
            return DASH;
        }
        var key = digits + (exact ? "!" : "");
        var f = formats[key];
        if (!f) {
            f = formats[key] = new Intl.NumberFormat("en-US", {
                minimumFractionDigits: exact ? digits : 0,
                maximumFractionDigits: digits
            });
        }
        return f.format(n);
    }

    // Response times below this many ms get two decimals.
    var MS_DECIMALS_BELOW = 10;

    // Counts, milliseconds and rates (per second), as the tables show them.
    function fmtInt(v) {
        return fmtNum(v, 0);
    }

    // A response time as the console prints it: "0.27", "3.00" below
    // 10 ms, whole milliseconds above ("12", "1,234").
    function fmtMs(v) {
        var n = num(v);
        if (n !== null && Math.abs(n) < MS_DECIMALS_BELOW) {
            return fmtNum(n, 2, true);
        }
        return fmtNum(n, 0);
    }

    function fmtRate(v) {
        return fmtNum(v, 2);
    }

    // A value of unknown scale: 4 decimals below 1, 2 above.
    function fmtValue(v) {
        var n = num(v);
        if (n === null) {
            return DASH;
        }
        return fmtNum(n, Math.abs(n) < 1 ? 4 : 2);
    }

    // A size in bytes: "512 B", "15.2 MiB".
    function fmtBytes(v) {
        var n = num(v);
        if (n === null) {
            return DASH;
        }
        var units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var i = 0;
        while (Math.abs(n) >= 1024 && i < units.length - 1) {
            n /= 1024;
            i++;
        }
        return fmtNum(n, i === 0 ? 0 : 1) + " " + units[i];
    }

    // Seconds as a short length of time, as load shapes write it: "45s",
    // "1m30s", "4h", "0.5s". Anything but a number comes back as text.
    function fmtSpan(v) {
        var s = num(v);
        if (s === null) {
            return str(v);
        }
        if (s < 60 || s % 1 !== 0) {
            return fmtNum(s, 2) + "s";
        }
        var out = "";
        var hours = Math.floor(s / 3600);
        var mins = Math.floor((s % 3600) / 60);
        var secs = s % 60;
        if (hours) {
            out += hours + "h";
        }
        if (mins) {
            out += mins + "m";
        }
        if (secs) {
            out += secs + "s";
        }
        return out;
    }

    // The time of day of Date d, 24-hour, in UTC or local time: "10:05",
    // or "10:05:30" with seconds.
    function fmtClock(d, utc, seconds) {
        var text = utc ?
            pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) :
            pad2(d.getHours()) + ":" + pad2(d.getMinutes());
        if (seconds) {
            text += ":" + pad2(utc ? d.getUTCSeconds() : d.getSeconds());
        }
        return text;
    }

    // text with its first letter in capitals.
    function capitalize(text) {
        return text.charAt(0).toUpperCase() + text.slice(1);
    }

    // ---- thresholds --------------------------------------------------------

    // A threshold's outcome (t.ok true, false or not yet known) as the
    // class of its table row: "ok", "failed" or null.
    function thresholdClass(t) {
        return t.ok === true ? "ok" : t.ok === false ? "failed" : null;
    }

    // The same as the mark of its status cell: a tick, a cross or DASH.
    function thresholdMark(t) {
        return t.ok === true ? "\u2713" : t.ok === false ? "\u2717" : DASH;
    }

    // A threshold's observed value with its unit ("1.27 ms", "0.0321"),
    // or noData in a muted span when it has none.
    function fmtObserved(t, noData) {
        var v = num(t.observed);
        if (v === null) {
            return h("span", {class: "empty"}, noData);
        }
        var unit = str(t.unit);
        if (unit === "ms") {
            return fmtMs(v) + " ms";
        }
        if (unit === "%") {
            return fmtNum(v, 2) + " %";
        }
        return fmtValue(v) + (unit ? " " + unit : "");
    }

    // ---- run-wide figures ----------------------------------------------

    // The protocol of a figure: its name up to the first "_" ("ws").
    function family(name) {
        return name.split("_")[0];
    }

    // The workers' run-wide figures (a document's "figures": {counters,
    // gauges, peaks, ws_drop_rate}) and checks ([{name, passes, fails}])
    // as rows {kind, name, value, detail, cls}: counters, then gauges
    // (now, and the peak as detail), the drop rate, then each check (the
    // rate of passes, the counts as detail, cls "ok" or "failed"). The
    // figures of a protocol the run never used (all of them 0: workers
    // report every kind's) are left out. Both pages draw these; [] when
    // there is nothing.
    function figureRows(figures, checks) {
        figures = obj(figures);
        var rows = [];
        var counters = obj(figures.counters);
        var gauges = obj(figures.gauges);
        var peaks = obj(figures.peaks);
        var used = {};
        [counters, gauges, peaks].forEach(function (table) {
            Object.keys(table).forEach(function (k) {
                if (num(table[k])) {
                    used[family(k)] = true;
                }
            });
        });
        var shown = function (k) {
            return used[family(k)];
        };
        Object.keys(counters).filter(shown).forEach(function (k) {
            rows.push({kind: "counter", name: k, value: fmtInt(counters[k]),
                detail: null, cls: null});
        });
        Object.keys(gauges).filter(shown).forEach(function (k) {
            rows.push({kind: "gauge", name: k, value: fmtInt(gauges[k]),
                detail: num(peaks[k]) !== null ? "peak " + fmtInt(peaks[k]) :
                    null, cls: null});
        });
        if (num(figures.ws_drop_rate) !== null) {
            rows.push({kind: "rate", name: "ws_drop_rate",
                value: fmtNum(num(figures.ws_drop_rate) * 100, 3) + " %",
                detail: null, cls: null});
        }
        arr(checks).map(obj).forEach(function (c) {
            var passes = num(c.passes) || 0;
            var fails = num(c.fails) || 0;
            var total = passes + fails;
            rows.push({kind: "check", name: str(c.name),
                value: total ? fmtNum(100 * passes / total, 2) + " %" : DASH,
                detail: "\u2713 " + fmtInt(passes) + " \u2717 " +
                    fmtInt(fails), cls: fails ? "failed" : "ok"});
        });
        return rows;
    }

    // ---- charts ------------------------------------------------------------

    // Series colours (the browser tests look for them in the canvases).
    var COLORS = {
        rps: "#16a34a",
        fails: "#dc2626",
        p50: "#2563eb",
        p95: "#9333ea",
        users: "#0891b2",
        target: "#64748b"
    };
    var GRID = "#eef0f3";

    // The three charts, in order: element id, title, y unit, decimals (or
    // fmt, the legend's format of a value), and
    // series {key in a history point, label, color, dash?}. The dashed
    // target lines are added when targetRate / targetUsers is true.
    function chartSpecs(targetRate, targetUsers) {
        var target = function (key, label) {
            return [{key: key, label: label, color: COLORS.target,
                dash: [6, 4]}];
        };
        return [
            {id: "chart-rps", title: "Total Requests per Second",
                unit: "requests/s", digits: 2, series: [
                    {key: "rps", label: "RPS", color: COLORS.rps},
                    {key: "fail_per_sec", label: "Failures/s",
                        color: COLORS.fails}
                ].concat(targetRate ?
                    target("target_rate", "Target iterations/s") : [])},
            {id: "chart-response-times", title: "Response Times (ms)",
                unit: "ms", digits: 2, fmt: fmtMs, series: [
                    {key: "p50_ms", label: "Median (p50)", color: COLORS.p50},
                    {key: "p95_ms", label: "95th percentile",
                        color: COLORS.p95}]},
            {id: "chart-users", title: "Number of Users", unit: "users",
                digits: 0, series: [
                    {key: "users", label: "Users", color: COLORS.users}
                ].concat(targetUsers ?
                    target("target_users", "Target users") : [])}
        ];
    }

    // Whether any of the history points has a number at key.
    function hasValue(points, key) {
        return points.some(function (p) {
            return num(p[key]) !== null;
        });
    }

    // The shortest time axis, in seconds: one point has this much room
    // (the UI polls every 2 s), anything longer spans its data exactly.
    var MIN_TIME_SPAN = 2;

    // Steps between time ticks, in seconds: whole seconds at the least
    // (the tick labels show no fractions), up to weeks.
    var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
        3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

    // The time axis [from, to] for data from min to max (seconds): the
    // data's span, so a short run fills the width; null without data.
    function timeRange(min, max) {
        if (min == null || max == null) {
            return null;
        }
        if (max - min < MIN_TIME_SPAN) {
            return [max - MIN_TIME_SPAN, max];
        }
        return [min, max];
    }

    // The colours of spec's series, "#rrggbb,...": the chart box's
    // data-colors attribute, which the browser tests read.
    function seriesColors(spec) {
        return spec.series.map(function (s) {
            return s.color;
        }).join(",");
    }

    // uPlot's data for spec from history points (oldest first): the times,
    // then one array per series.
    function chartData(points, spec) {
        var data = [points.map(function (p) { return num(p.time); })];
        spec.series.forEach(function (s) {
            data.push(points.map(function (p) { return num(p[s.key]); }));
        });
        return data;
    }

    // A chart's width in its box el: the box's, but at least 300 px.
    function chartWidth(el) {
        return Math.max(el.clientWidth, 300);
    }

    // The y range: from 0 to a round number (1, 1.2, 1.5, 2, ... times a
    // power of ten) at least 5 % above the largest value.
    function zeroBased(u, min, max) {
        if (!(max > 0)) {
            return [0, 1];
        }
        var v = max * 1.05;
        var p = Math.pow(10, Math.floor(Math.log10(v)));
        var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
        for (var i = 0; i < steps.length; i++) {
            if (steps[i] * p >= v) {
                return [0, steps[i] * p];
            }
        }
        return [0, 10 * p];
    }

    // Whether series sidx of uPlot u shows its points: while it has fewer
    // than 3 values (a lone value draws no line, as at the end of a short
    // run whose first response times came with its last report).
    function fewValues(u, sidx) {
        var data = u.data[sidx] || [];
        var n = 0;
        for (var i = 0; i < data.length && n < 3; i++) {
            if (data[i] != null) {
                n++;
            }
        }
        return n < 3;
    }

    // uPlot options for the chart of spec (see chartSpecs): one line per
    // series with points while it has few values, values in the legend as
    // spec.fmt or with spec.digits decimals, and a y axis from zero in
    // spec.unit. What differs between the pages comes in page:
    //   width, height, padRight  size in px; room right of the last tick
    //   sync                     the key of the charts' shared cursor
    //   x                        the x scale ({time: true, ...})
    //   time                     the legend's time entry {label, value}
    //   ticks                    the time axis' values function
    //   timeLabel, tzDate        optional: time axis title, uPlot tzDate
    function chartOptions(spec, page) {
        var fmt = spec.fmt || function (v) {
            return fmtNum(v, spec.digits);
        };
        var timeAxis = {grid: {stroke: GRID}, space: 80, incrs: TIME_INCRS,
            values: page.ticks};
        if (page.timeLabel) {
            timeAxis.label = page.timeLabel;
        }
        var opts = {
            width: page.width,
            height: page.height,
            padding: [null, page.padRight, null, null],
            cursor: {sync: {key: page.sync}},
            scales: {x: page.x, y: {range: zeroBased}},
            series: [page.time].concat(spec.series.map(function (s) {
                return {
                    label: s.label,
                    stroke: s.color,
                    width: 2,
                    dash: s.dash,
                    points: {show: fewValues, size: 6, fill: s.color},
                    value: function (u, v) {
                        return v == null ? DASH : fmt(v);
                    }
                };
            })),
            axes: [
                timeAxis,
                {label: spec.unit, size: 64, grid: {stroke: GRID},
                    values: function (u, splits) {
                        return splits.map(function (v) {
                            return fmtNum(v, 2);
                        });
                    }}
            ]
        };
        if (page.tzDate) {
            opts.tzDate = page.tzDate;
        }
        return opts;
    }

    return {
        DASH: DASH,
        h: h,
        append: append,
        classes: classes,
        breakable: breakable,
        whenReady: whenReady,
        onResize: onResize,
        arr: arr,
        obj: obj,
        num: num,
        str: str,
        pad2: pad2,
        fmtNum: fmtNum,
        fmtInt: fmtInt,
        fmtMs: fmtMs,
        fmtRate: fmtRate,
        fmtValue: fmtValue,
        fmtBytes: fmtBytes,
        fmtSpan: fmtSpan,
        fmtClock: fmtClock,
        capitalize: capitalize,
        thresholdClass: thresholdClass,
        thresholdMark: thresholdMark,
        fmtObserved: fmtObserved,
        figureRows: figureRows,
        chartSpecs: chartSpecs,
        hasValue: hasValue,
        timeRange: timeRange,
        seriesColors: seriesColors,
        chartData: chartData,
        chartWidth: chartWidth,
        chartOptions: chartOptions
    };
})();
