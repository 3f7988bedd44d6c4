// web/app.js - the Apex web UI: polls the master's Locust-compatible JSON
// API (GET ./stats/requests every 2 s and ./exceptions every 5 s, each
// time after the previous answer, in every state, so a test started
// elsewhere shows up; ./tasks every 5 s while Current ratio is shown),
// draws the header, the tables and uPlot charts (and web/views.js's
// views), and starts, edits, stops and resets tests. Every URL is
// relative to the page. Text from the API only ever goes in through
// textContent, never as HTML.
(function (common, views) {
    "use strict";

    // What is shared with the HTML report (web/common.js): the helpers
    // used throughout by name, the others as common.NAME.
    var {DASH, h, append, classes, arr, obj, num, str, pad2, fmtNum, fmtInt,
        fmtMs, fmtRate, fmtBytes, fmtSpan, fmtClock} = common;

    var STATS_EVERY = 2000;     // ms between a stats answer and the next ask
    var EXCEPTIONS_EVERY = 5000;
    var TASKS_EVERY = 5000;
    var EMPTY_SPAN = 60;        // s on the time axis of an empty chart
    var CHART_HEIGHT = 240;
    var ACTIVE = {spawning: true, running: true};
    var IN_TEST = {spawning: true, running: true, stopping: true};

    var ui = {
        config: null,           // GET ./config
        stats: null,            // last GET ./stats/requests
        state: null,            // its state
        exceptions: [],
        sort: {key: null, dir: 1},
        tab: "stats",
        history: [],            // chart points, oldest first
        charts: null,           // {specs, plots} once the Charts tab is shown
        clockOffset: 0,         // master's clock minus ours, in seconds
        lastSwarm: {},          // the form's last accepted values
        autoOpened: false
    };

    // ---- small helpers -------------------------------------------------

    function $(id) {
        return document.getElementById(id);
    }

    function setText(el, text) {
        text = String(text);
        if (el.textContent !== text) {
            el.textContent = text;
        }
    }

    // The first argument that is a number.
    function first() {
        for (var i = 0; i < arguments.length; i++) {
            var n = num(arguments[i]);
            if (n !== null) {
                return n;
            }
        }
        return null;
    }

    // A ratio as a percentage: 0.0321 -> "3.2%", 0.25 -> "25%".
    function fmtPercent(ratio) {
        var n = num(ratio);
        if (n === null) {
            return DASH;
        }
        n *= 100;
        return fmtNum(n, n > 0 && n < 10 ? 1 : 0) + "%";
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

    // n and its noun: "1 user", "20 users".
    function plural(n, one, many) {
        return fmtInt(n) + " " + (num(n) === 1 ? one : many);
    }

    // The part of a worker id before its last "_" (Locust and apex-worker
    // both name workers HOSTNAME_HEX).
    function workerHost(id) {
        id = str(id);
        var i = id.lastIndexOf("_");
        return i > 0 ? id.slice(0, i) : id;
    }

    // ---- API -----------------------------------------------------------

    function ApiError(message, status) {
        this.message = message;
        this.status = status;
    }

    // Fetch a relative URL; resolve to {response, body} with body parsed
    // as JSON when it is JSON. A non-2xx answer rejects with the server's
    // own message ({"message"} or {"error"}) when it gave one.
    function request(url, init) {
        init = init || {};
        init.cache = "no-store";
        init.credentials = "same-origin";
        init.headers = init.headers || {};
        init.headers.Accept = "application/json, text/plain;q=0.9";
        return fetch(url, init).then(function (response) {
            noteClock(response);
            var type = response.headers.get("Content-Type") || "";
            var body = /json/i.test(type) ? response.json().catch(function () {
                return null;
            }) : response.text();
            return body.then(function (data) {
                if (!response.ok) {
                    var d = obj(data);
                    var msg = str(d.message || d.error) ||
                        (typeof data === "string" ? data.trim().slice(0, 300) :
                            "") || response.statusText;
                    throw new ApiError(msg + " (HTTP " + response.status + ")",
                        response.status);
                }
                return {response: response, body: data};
            });
        });
    }

    function getJSON(url) {
        return request(url).then(function (r) {
            return r.body;
        });
    }

    // Chart points carry the master's time (history points do), so a
    // browser whose clock is off still appends in the right place: the
    // Date header tells the master's clock to the second.
    function noteClock(response) {
        var date = Date.parse(response.headers.get("Date") || "");
        if (isFinite(date)) {
            var off = (date - Date.now()) / 1000;
            // Within ±2 s the header's whole seconds are no better than us.
            ui.clockOffset = Math.abs(off) > 2 ? off : 0;
        }
    }

    function masterNow() {
        return Date.now() / 1000 + ui.clockOffset;
    }

    // ---- polling -------------------------------------------------------

    // A poll that asks again `every` ms after each answer (like Locust),
    // while active() (if given) is true, and can be asked now (after an
    // action); only one request of each is ever in flight.
    function poller(ask, every, active) {
        var p = {timer: null, busy: false, again: false};
        p.now = function () {
            if (p.busy) {
                p.again = true;
                return;
            }
            clearTimeout(p.timer);
            p.busy = true;
            ask().catch(function (e) {
                // A bug in drawing the answer: say so, and keep polling.
                console.error("apex ui: " + (e && e.stack || e));
            }).then(function () {
                p.busy = false;
                if (p.again) {
                    p.again = false;
                    p.now();
                } else if (!active || active()) {
                    p.timer = setTimeout(p.now, every);
                }
            });
        };
        return p;
    }

    var statsPoll = poller(function () {
        return getJSON("./stats/requests").then(function (s) {
            setBanner(null);
            onStats(obj(s));
        }, function (e) {
            setBanner("Cannot read the master's statistics: " +
                errorText(e) + ". Retrying every 2 s.");
        });
    }, STATS_EVERY);

    var exceptionsPoll = poller(function () {
        return getJSON("./exceptions").then(function (d) {
            ui.exceptions = arr(obj(d).exceptions).map(obj);
            renderExceptions();
        }, function () {
            // The stats poll shows a lost master; nothing more to say.
        });
    }, EXCEPTIONS_EVERY);

    var tasksPoll = poller(function () {
        return getJSON("./tasks").then(function (d) {
            views.renderRatio(d);
        }, function () {
            // The stats poll shows a lost master.
        });
    }, TASKS_EVERY, function () {
        return ui.tab === "ratio";
    });

    function pollStats() {
        statsPoll.now();
    }

    function loadConfig() {
        return getJSON("./config").then(function (c) {
            ui.config = obj(c);
            renderConfig();
        }, function (e) {
            setBanner("Cannot read the master's configuration: " +
                errorText(e));
        });
    }

    // The master's history for the current test replaces the chart's
    // points (points appended meanwhile that are newer are kept).
    function loadHistory() {
        return getJSON("./history").then(function (d) {
            var points = arr(d).map(obj).filter(function (p) {
                return num(p.time) !== null;
            }).sort(function (a, b) {
                return a.time - b.time;
            });
            // History times are whole seconds, stamped after the second
            // they describe: a point of ours less than a second after the
            // last of them may describe an earlier moment.
            var last = points.length ? points[points.length - 1].time + 1 :
                -Infinity;
            ui.history = points.concat(ui.history.filter(function (p) {
                return p.time >= last;
            }));
            drawCharts();
        }, function () {
            // Charts fill from the polls alone.
        });
    }

    function errorText(e) {
        if (e instanceof ApiError) {
            return e.message;
        }
        return e && e.message ? e.message : String(e);
    }

    function setBanner(text) {
        var b = $("banner");
        b.hidden = !text;
        if (text) {
            setText(b, text);
        }
    }

    // ---- stats ---------------------------------------------------------

    function onStats(s) {
        var previous = ui.state;
        ui.stats = s;
        ui.state = str(s.state) || "unknown";
        var started = IN_TEST[ui.state] && previous !== null &&
            !IN_TEST[previous];
        if (started) {
            // A new test (from this page or elsewhere): the master
            // started a new history, and may test another host.
            ui.history = [];
            loadConfig();
            loadHistory();
            exceptionsPoll.now();
        }
        if (IN_TEST[ui.state]) {
            addPoint(s);
        } else if (IN_TEST[previous]) {
            // The test ended: the master's points up to its end.
            loadHistory();
        }
        renderHeader(s);
        renderStats(s);
        renderFailures(s);
        renderWorkers(s);
        renderThresholds(s);
        views.renderFigures(s.apex);
        var workers = workerCount(s);
        views.renderNoWorkers(workers, ui.config);
        renderTrends(s);
        drawCharts();
        document.body.setAttribute("data-state", ui.state);
        document.body.setAttribute("data-updated", String(Date.now()));
        // Without a worker the form could only fail: it waits for one.
        if (!ui.autoOpened && (workers !== 0 || ui.state !== "ready")) {
            ui.autoOpened = true;
            // Like Locust: a master waiting for its first test opens on
            // the start form.
            if (ui.state === "ready" && !$("swarm-dialog").open) {
                openSwarm(false);
            }
        }
    }

    // The workers connected, or null when the answer does not say.
    function workerCount(s) {
        return first(s.worker_count, Array.isArray(s.workers) ?
            s.workers.length : null);
    }

    function totalEntry(s) {
        var list = arr(s.stats);
        var last = obj(list[list.length - 1]);
        if (last.name === "Aggregated" && !last.method) {
            return last;
        }
        return null;
    }

    function renderHeader(s) {
        var apex = obj(s.apex);
        var total = obj(totalEntry(s));
        var status = $("hdr-status");
        setText(status, ui.state.toUpperCase());
        status.className = "state-pill " + ui.state.replace(/[^a-z]/g, "");
        setText($("hdr-users"), fmtInt(s.user_count));
        setText($("hdr-workers"), fmtInt(workerCount(s)));
        setText($("hdr-rps"), fmtNum(first(s.current_rps, total.current_rps,
            s.total_rps), 1));
        setText($("hdr-failures"), fmtPercent(s.fail_ratio));
        $("hdr-failures").className = num(s.fail_ratio) > 0 ? "bad" : "";
        document.title = "Apex \u00b7 " + ui.state +
            (num(s.user_count) !== null ? " \u00b7 " +
                plural(s.user_count, "user", "users") : "");

        var active = !!ACTIVE[ui.state];
        $("btn-new").hidden = active;
        $("btn-edit").hidden = !active;
        $("btn-stop").disabled = !(active || ui.state === "stopping");

        // The load shape: stage and target.
        var bar = $("shape-bar");
        var stage = num(apex.stage);
        if (stage === null || !IN_TEST[ui.state]) {
            bar.hidden = true;
            return;
        }
        var parts = [h("strong", null, "Stage " + fmtInt(stage) +
            (num(apex.stages) !== null ? " of " + fmtInt(apex.stages) : ""))];
        if (num(apex.target_users) !== null) {
            parts.push(" \u00b7 target ", h("strong", null,
                plural(apex.target_users, "user", "users")));
        }
        if (num(apex.target_rate) !== null) {
            parts.push(" \u00b7 target ", h("strong", null,
                fmtNum(apex.target_rate, 2) + " iterations/s"));
        }
        if (num(apex.iterations) !== null) {
            parts.push(" \u00b7 " + plural(apex.iterations, "iteration",
                "iterations"));
        }
        if (num(apex.dropped_iterations)) {
            parts.push(" (" + fmtInt(apex.dropped_iterations) + " dropped)");
        }
        bar.textContent = "";
        append(bar, ["Load shape: "].concat(parts));
        bar.hidden = false;
    }

    // Statistics columns: get() gives the value to sort on, show() its
    // text (default: the value as is).
    function pct(e, key, locustKey, fallback) {
        return first(obj(e.apex_percentiles_ms)[key], e[locustKey],
            fallback === undefined ? null : e[fallback]);
    }

    var STATS_COLUMNS = [
        {key: "method", title: "Type", get: function (e) {
            return str(e.method);
        }},
        {key: "name", title: "Name", cls: "name", show: common.breakable,
            get: function (e) {
                return str(e.name);
            }},
        {key: "requests", title: "# Requests", num: true, show: fmtInt,
            get: function (e) { return num(e.num_requests); }},
        {key: "fails", title: "# Fails", num: true, show: fmtInt,
            bad: function (v) { return v > 0; },
            get: function (e) { return num(e.num_failures); }},
        {key: "median", title: "Median (ms)", num: true, show: fmtMs,
            get: function (e) {
                return pct(e, "50", "median_response_time");
            }},
        {key: "p95", title: "95%ile (ms)", num: true, show: fmtMs,
            get: function (e) {
                return pct(e, "95", "response_time_percentile_0.95");
            }},
        {key: "p99", title: "99%ile (ms)", num: true, show: fmtMs,
            get: function (e) {
                return pct(e, "99", "response_time_percentile_0.99",
                    "ninety_ninth_response_time");
            }},
        {key: "avg", title: "Average (ms)", num: true, show: fmtMs,
            get: function (e) { return num(e.avg_response_time); }},
        {key: "min", title: "Min (ms)", num: true, show: fmtMs,
            get: function (e) { return num(e.min_response_time); }},
        {key: "max", title: "Max (ms)", num: true, show: fmtMs,
            get: function (e) { return num(e.max_response_time); }},
        {key: "size", title: "Average size (bytes)", num: true, show: fmtInt,
            get: function (e) { return num(e.avg_content_length); }},
        {key: "rps", title: "Current RPS", num: true, show: fmtRate,
            get: function (e) { return num(e.current_rps); }},
        {key: "fps", title: "Current Failures/s", num: true, show: fmtRate,
            bad: function (v) { return v > 0; },
            get: function (e) { return num(e.current_fail_per_sec); }}
    ];

    function buildStatsHead() {
        var tr = document.querySelector("#stats-table thead tr");
        STATS_COLUMNS.forEach(function (c) {
            var th = h("th", {class: c.num ? "num" : null, scope: "col",
                tabindex: "0", "data-key": c.key, title: "Sort by " +
                    c.title}, c.title);
            var sort = function () {
                if (ui.sort.key === c.key) {
                    ui.sort.dir = -ui.sort.dir;
                } else {
                    ui.sort.key = c.key;
                    ui.sort.dir = c.num ? -1 : 1; // numbers: largest first
                }
                markSort();
                if (ui.stats) {
                    renderStats(ui.stats);
                }
            };
            th.addEventListener("click", sort);
            th.addEventListener("keydown", function (ev) {
                if (ev.key === "Enter" || ev.key === " ") {
                    ev.preventDefault();
                    sort();
                }
            });
            tr.appendChild(th);
        });
    }

    function markSort() {
        var ths = document.querySelectorAll("#stats-table thead th");
        Array.prototype.forEach.call(ths, function (th) {
            if (th.getAttribute("data-key") === ui.sort.key) {
                th.setAttribute("aria-sort", ui.sort.dir > 0 ? "ascending" :
                    "descending");
            } else {
                th.removeAttribute("aria-sort");
            }
        });
    }

    function compare(a, b, dir) {
        if (a === b) {
            return 0;
        }
        if (a === null) {
            return 1;   // missing values last either way
        }
        if (b === null) {
            return -1;
        }
        if (typeof a === "string") {
            return dir * a.localeCompare(b);
        }
        return dir * (a < b ? -1 : 1);
    }

    function statsRow(e, total) {
        return h("tr", {class: total ? "total" : null},
            STATS_COLUMNS.map(function (c) {
                var v = c.get(e);
                return h("td", {class: classes([c.num ? "num" : "",
                    c.cls || "", c.bad && c.bad(v) ? "fails" : ""])},
                    c.show ? c.show(v) : v);
            }));
    }

    function renderStats(s) {
        var total = totalEntry(s);
        var entries = arr(s.stats).map(obj).filter(function (e) {
            return e !== total;
        });
        if (ui.sort.key) {
            var col = STATS_COLUMNS.filter(function (c) {
                return c.key === ui.sort.key;
            })[0];
            var dir = ui.sort.dir;
            entries = entries.map(function (e, i) {
                return {e: e, v: col.get(e), i: i};
            }).sort(function (a, b) {
                return compare(a.v, b.v, dir) || a.i - b.i;
            }).map(function (x) {
                return x.e;
            });
        }
        var body = h("tbody");
        entries.forEach(function (e) {
            body.appendChild(statsRow(e, false));
        });
        if (total) {
            body.appendChild(statsRow(total, true));
        }
        var table = $("stats-table");
        table.replaceChild(body, table.tBodies[0]);
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

    function renderExceptions() {
        var rows = ui.exceptions;
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

    // The scripts' custom trends (apex.trends); the tab shows once there
    // is one.
    function renderTrends(s) {
        var trends = arr(obj(s.apex).trends).map(obj);
        if (trends.length && $("tab-trends").hidden) {
            $("tab-trends").hidden = false;
            if (ui.wanted === "trends") { // opened at #trends
                showTab("trends");
            }
        }
        var f = function (v) {
            return num(v) === null ? DASH : fmtNum(v, 3);
        };
        replaceBody("trends-table", trends.map(function (t) {
            return h("tr", null,
                h("td", {class: "mono"}, str(t.name)),
                h("td", {class: "num"}, fmtInt(t.count)),
                h("td", {class: "num"}, f(t.avg)),
                h("td", {class: "num"}, f(t.min)),
                h("td", {class: "num"}, f(t.med)),
                h("td", {class: "num"}, f(t.p90)),
                h("td", {class: "num"}, f(t.p95)),
                h("td", {class: "num"}, f(t.p99)),
                h("td", {class: "num"}, f(t.max)));
        }));
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

    // ---- config --------------------------------------------------------

    function describeShape(shape) {
        shape = obj(shape);
        var stages = arr(shape.stages).map(obj);
        if (shape.description) {
            return common.capitalize(str(shape.description));
        }
        if (shape.kind === "stages") {
            return "Stages: " + stages.map(function (s) {
                return fmtSpan(s.duration) + " \u2192 " +
                    plural(s.users, "user", "users") +
                    (num(s.spawn_rate) !== null ? " at " +
                        fmtRate(s.spawn_rate) + "/s" : "");
            }).join(", ");
        }
        if (shape.kind === "arrival_rate") {
            if (stages.length) {
                return "Arrival rate in stages: " + stages.map(function (s) {
                    return fmtSpan(s.duration) + " \u2192 " +
                        fmtNum(first(s.rate, s.target), 2) + "/s";
                }).join(", ");
            }
            return "Arrival rate: " + fmtNum(shape.rate, 2) +
                " iterations/" + (num(shape.time_unit) !== null ?
                    fmtSpan(shape.time_unit) : str(shape.time_unit || "s"));
        }
        return "Load shape: " + str(shape.kind || "custom");
    }

    function renderConfig() {
        var c = ui.config;
        if (c.host != null) {
            setHost(c.host);
        }
        $("tab-thresholds").hidden = !c.has_thresholds;
        if (!c.has_thresholds && ui.tab === "thresholds") {
            showTab("stats");
        }
        $("dl-history-item").hidden = !c.full_history_csv;
        var foot = $("footer");
        foot.textContent = "";
        append(foot, ["Apex " + str(c.version), c.scenario ?
            " \u00b7 scenario " + str(c.scenario) : "",
            arr(c.user_classes).length ? " \u00b7 users: " +
                arr(c.user_classes).map(str).join(", ") : "",
            " \u00b7 charts drawn with uPlot"]);
        if (ui.stats) {
            renderThresholds(ui.stats);
            views.renderNoWorkers(workerCount(ui.stats), c);
        }
    }

    function setHost(host) {
        var el = $("hdr-host");
        setText(el, str(host) || DASH);
        el.title = str(host);
    }

    // ---- start / edit dialog --------------------------------------------

    var editing = false;

    function openSwarm(edit) {
        var d = $("swarm-dialog");
        var c = obj(ui.config);
        editing = edit;
        $("swarm-title").textContent = edit ? "Change the running test" :
            "Start a new load test";
        $("swarm-submit").textContent = edit ? "Update" : "Start";
        var startOnly = document.querySelectorAll("#swarm-form .start-only input");
        Array.prototype.forEach.call(startOnly, function (input) {
            input.disabled = edit;  // disabled fields are not sent
        });
        document.querySelector("#swarm-form .start-only").hidden = edit;
        if (edit) {
            // What this page asked for last, else what runs now.
            $("f-users").value = str(first(ui.lastSwarm.user_count,
                ui.stats && ui.stats.user_count, c.users));
            $("f-rate").value = str(first(ui.lastSwarm.spawn_rate,
                c.spawn_rate, 1));
        } else {
            $("f-users").value = str(first(c.users, 1));
            $("f-rate").value = str(first(c.spawn_rate, 1));
            $("f-host").value = str(c.host);
            $("f-runtime").value = num(c.run_time) !== null ?
                fmtSpan(c.run_time) : str(c.run_time);
        }
        if (!$("f-rate").value) {
            $("f-rate").value = str(first(c.spawn_rate, 1));
        }
        var note = $("swarm-shape");
        note.hidden = edit || !c.shape;
        if (c.shape) {
            note.textContent = describeShape(c.shape) +
                ". The load shape sets users and rates while it runs.";
        }
        showFormError(null);
        $("swarm-submit").disabled = false;
        if (!d.open) {
            d.showModal();
        }
        $("f-users").focus();
        $("f-users").select();
    }

    function showFormError(text) {
        var el = $("swarm-error");
        el.hidden = !text;
        el.textContent = text || "";
    }

    function submitSwarm(ev) {
        ev.preventDefault();
        var form = $("swarm-form");
        var body = new URLSearchParams();
        Array.prototype.forEach.call(form.elements, function (el) {
            if (!el.name || el.disabled) {
                return;
            }
            var v = el.value.trim();
            if (v === "" && (el.name === "host" || el.name === "run_time")) {
                return;     // optional: the master keeps its own
            }
            body.append(el.name, v);
        });
        var button = $("swarm-submit");
        button.disabled = true;
        showFormError(null);
        request("./swarm", {method: "POST", body: body}).then(function (r) {
            var d = obj(r.body);
            if (d.success === false) {
                throw new ApiError(str(d.message) || "The master refused.");
            }
            if (d.host != null) {
                setHost(d.host);
            }
            ui.lastSwarm = {user_count: body.get("user_count"),
                spawn_rate: body.get("spawn_rate")};
            $("swarm-dialog").close();
            pollStats();
        }).catch(function (e) {
            showFormError(errorText(e));
        }).then(function () {
            button.disabled = false;
        });
    }

    // ---- stop / reset ---------------------------------------------------

    function action(button, url, done) {
        button.disabled = true;
        request(url).then(function () {
            setBanner(null);
            if (done) {
                done();
            }
        }, function (e) {
            setBanner(button.textContent + " failed: " + errorText(e));
        }).then(function () {
            button.disabled = false;
            statsPoll.now();
            exceptionsPoll.now();
        });
    }

    // ---- charts ---------------------------------------------------------

    // The charts' specs (web/common.js), with the target lines when the
    // load shape or the points have targets.
    function uiChartSpecs() {
        var shape = obj(obj(ui.config).shape);
        var rate = shape.kind === "arrival_rate" ||
            common.hasValue(ui.history, "target_rate");
        var users = (shape.kind && shape.kind !== "arrival_rate") ||
            common.hasValue(ui.history, "target_users");
        return common.chartSpecs(rate, users);
    }

    function addPoint(s) {
        var total = obj(totalEntry(s));
        var apex = obj(s.apex);
        var cur = obj(s.current_response_time_percentiles);
        var curApex = obj(apex.current_percentiles_ms);
        var t = Math.round(masterNow() * 10) / 10;
        var last = ui.history[ui.history.length - 1];
        if (last && t <= last.time) {
            return;
        }
        ui.history.push({
            time: t,
            users: num(s.user_count),
            target_users: num(apex.target_users),
            target_rate: num(apex.target_rate),
            stage: num(apex.stage),
            rps: first(s.current_rps, total.current_rps, s.total_rps),
            fail_per_sec: first(s.current_fail_per_sec,
                total.current_fail_per_sec, s.total_fail_per_sec),
            // Locust's current percentiles are whole ms; the master may
            // add them with µs precision as apex.current_percentiles_ms.
            p50_ms: first(curApex["50"], s.current_response_time_percentile_50,
                cur["response_time_percentile_0.5"]),
            p95_ms: first(curApex["95"], s.current_response_time_percentile_95,
                cur["response_time_percentile_0.95"])
        });
    }

    // The time axis spans the points (common.timeRange), so a short run
    // fills the width; an empty chart shows the last EMPTY_SPAN seconds.
    function timeRange(u, min, max) {
        var now = masterNow();
        return common.timeRange(min, max) || [now - EMPTY_SPAN, now];
    }

    // Local time, 24-hour: "10:05", or "10:05:30" when ticks are less
    // than a minute apart.
    function timeTicks(u, splits, axisIdx, space, incr) {
        return splits.map(function (ts) {
            return fmtClock(new Date(ts * 1000), false, incr < 60);
        });
    }

    function makeChart(spec) {
        var el = $(spec.id);
        el.setAttribute("data-colors", common.seriesColors(spec));
        var opts = common.chartOptions(spec, {
            width: common.chartWidth(el),
            height: CHART_HEIGHT,
            padRight: 28,
            sync: "apex-ui",
            x: {time: true, range: timeRange},
            time: {label: "Time", value: "{HH}:{mm}:{ss}"},
            ticks: timeTicks
        });
        el.textContent = "";
        return new uPlot(opts, common.chartData(ui.history, spec), el);
    }

    // Charts exist once their tab has been shown (uPlot needs a width);
    // after that they get new data on every poll.
    function drawCharts() {
        if (ui.tab !== "charts" || typeof window.uPlot !== "function") {
            return;
        }
        var specs = uiChartSpecs();
        var sig = JSON.stringify(specs.map(function (s) {
            return s.series.length;
        }));
        if (!ui.charts || ui.charts.sig !== sig) {
            if (ui.charts) {
                ui.charts.plots.forEach(function (u) { u.destroy(); });
            }
            ui.charts = {sig: sig, specs: specs, plots: specs.map(makeChart)};
        } else {
            ui.charts.specs.forEach(function (spec, i) {
                var u = ui.charts.plots[i];
                var w = common.chartWidth($(spec.id));
                if (Math.abs(u.width - w) > 1) {
                    u.setSize({width: w, height: CHART_HEIGHT});
                }
                u.setData(common.chartData(ui.history, spec));
            });
        }
        ui.charts.specs.forEach(function (spec) {
            $(spec.id).setAttribute("data-points", String(ui.history.length));
        });
    }

    // ---- tabs -----------------------------------------------------------

    function showTab(name) {
        var tabs = document.querySelectorAll(".tabs [role=tab]");
        var found = false;
        Array.prototype.forEach.call(tabs, function (t) {
            if (t.getAttribute("data-tab") === name && !t.hidden) {
                found = true;
            }
        });
        if (!found) {
            name = "stats";
        }
        ui.tab = name;
        Array.prototype.forEach.call(tabs, function (t) {
            var on = t.getAttribute("data-tab") === name;
            t.setAttribute("aria-selected", on ? "true" : "false");
            t.tabIndex = on ? 0 : -1;
            $("panel-" + t.getAttribute("data-tab")).hidden = !on;
        });
        if (location.hash !== "#" + name) {
            history.replaceState(null, "", "#" + name);
        }
        if (name === "exceptions") {
            exceptionsPoll.now();
        }
        if (name === "ratio") {
            tasksPoll.now();
        }
        drawCharts();
    }

    function setupTabs() {
        var tabs = document.querySelectorAll(".tabs [role=tab]");
        Array.prototype.forEach.call(tabs, function (t, i) {
            t.addEventListener("click", function () {
                showTab(t.getAttribute("data-tab"));
            });
            t.addEventListener("keydown", function (ev) {
                var step = ev.key === "ArrowRight" ? 1 :
                    ev.key === "ArrowLeft" ? -1 : 0;
                if (!step) {
                    return;
                }
                var visible = Array.prototype.filter.call(tabs, function (x) {
                    return !x.hidden;
                });
                var k = visible.indexOf(t);
                var next = visible[(k + step + visible.length) %
                    visible.length];
                showTab(next.getAttribute("data-tab"));
                next.focus();
            });
        });
    }

    // ---- main ------------------------------------------------------------

    function main() {
        buildStatsHead();
        setupTabs();
        $("btn-new").addEventListener("click", function () {
            openSwarm(false);
        });
        $("btn-edit").addEventListener("click", function () {
            openSwarm(true);
        });
        $("btn-stop").addEventListener("click", function () {
            action($("btn-stop"), "./stop");
        });
        $("btn-reset").addEventListener("click", function () {
            // The master's history starts again too (as Locust's does):
            // the charts show what a reload would.
            action($("btn-reset"), "./stats/reset", function () {
                ui.history = [];
                drawCharts();
            });
        });
        $("swarm-form").addEventListener("submit", submitSwarm);
        $("swarm-cancel").addEventListener("click", function () {
            $("swarm-dialog").close();
        });
        common.onResize(drawCharts);
        window.addEventListener("hashchange", function () {
            showTab(location.hash.slice(1));
        });
        window.apexUI = ui;     // for the browser tests and the curious

        var wanted = location.hash.slice(1);
        ui.wanted = wanted;
        // The config (host, thresholds tab) and history first, then the
        // polls; the page works without either.
        Promise.all([loadConfig(), loadHistory()]).then(function () {
            showTab(wanted || "stats");
            statsPoll.now();
            exceptionsPoll.now();
        });
    }

    common.whenReady(main);
})(window.apexCommon, window.apexViews);
