// web/views.js - three small views of the web UI that draw only what
// they are given (web/app.js fetches and calls them): the note that says
// how to start a worker while none is connected, the run-wide figures
// panel under the statistics, and the Current ratio table (GET ./tasks,
// Locust's shape). scripts/embed.py inlines it after web/common.js and
// before web/app.js. It defines one global, apexViews. Text goes into the
// page only through text nodes, never as HTML.
var apexViews = (function (common) {
    "use strict";

    var {DASH, h, obj, num, str, fmtNum, fmtInt} = common;

    function $(id) {
        return document.getElementById(id);
    }

    function setText(el, text) {
        text = String(text);
        if (el.textContent !== text) {
            el.textContent = text;
        }
    }

    // ---- no worker ---------------------------------------------------

    // The host a worker should dial: the master's bind address, or the
    // name this page was opened with when it listens on every address.
    function masterHost(config) {
        var bind = str(config.master_bind_host);
        if (bind && bind !== "*" && bind !== "0.0.0.0" && bind !== "::") {
            return bind;
        }
        return location.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    }

    // Show how to start a worker while workers is 0, from GET ./config
    // (master_bind_host, master_port, local_workers); hide it otherwise.
    function renderNoWorkers(workers, config) {
        var box = $("no-workers");
        box.hidden = workers !== 0;
        if (box.hidden) {
            return;
        }
        config = obj(config);
        var port = num(config.master_port);
        setText($("no-workers-cmd"), "apex-worker --master-host " +
            masterHost(config) + " --master-port " +
            (port !== null ? port : 5557));
        var local = num(config.local_workers) || 0;
        setText($("no-workers-local"), local > 0 ?
            "This master started " + fmtInt(local) + " local worker" +
            (local === 1 ? "" : "s") + " (--processes " + fmtInt(local) +
            "); they connect within seconds, or its log says why not." :
            "Or start the master without --expect-workers: by default it " +
            "starts one local worker per core itself (--processes N for " +
            "another number).");
    }

    // ---- run-wide figures ------------------------------------------------

    var KIND_TITLES = {
        counter: "total since the start",
        gauge: "now, and its peak",
        rate: "connections dropped per connection opened",
        check: "passed, and the counts of passes and failures"
    };

    // The workers' figures and the checks of GET ./stats/requests' "apex"
    // object as a compact list, hidden when there are none. Each item has
    // data-name (the figure, or "check:" and the check's name).
    function renderFigures(apex) {
        apex = obj(apex);
        var rows = common.figureRows(apex.figures, apex.checks);
        var list = $("figures-list");
        list.textContent = "";
        rows.forEach(function (r) {
            list.appendChild(h("div", {class: "fig " + r.kind +
                (r.cls ? " " + r.cls : ""), title: KIND_TITLES[r.kind],
                "data-name": (r.kind === "check" ? "check:" : "") + r.name},
                h("dt", null, r.kind === "check" ? "check " + r.name : r.name),
                h("dd", null, r.value,
                    r.detail ? h("span", {class: "detail"}, r.detail) :
                        null)));
        });
        $("run-figures").hidden = rows.length === 0;
    }

    // ---- current ratio ---------------------------------------------------

    // A ratio as Locust's UI shows it: 0.6667 -> "66.7%".
    function fmtRatio(v) {
        var n = num(v);
        return n === null ? DASH : fmtNum(n * 100, 1, true) + "%";
    }

    // Rows for one class and (nested, as Locust's TaskSets) its tasks.
    function ratioRows(name, cls, total, depth, rows) {
        cls = obj(cls);
        total = obj(total);
        rows.push(h("tr", {class: depth ? "task" : "class",
            "data-depth": String(depth)},
            h("td", {class: "name"}, common.breakable(name)),
            h("td", {class: "num"}, fmtRatio(cls.ratio)),
            h("td", {class: "num"}, fmtRatio(total.ratio))));
        var tasks = obj(cls.tasks);
        var totalTasks = obj(total.tasks);
        Object.keys(tasks).forEach(function (t) {
            ratioRows(t, tasks[t], totalTasks[t], depth + 1, rows);
        });
    }

    // GET ./tasks ({per_class, total}) as one table: a row per user class,
    // its tasks under it, each with its ratio per class and in total.
    function renderRatio(tasks) {
        tasks = obj(tasks);
        var perClass = obj(tasks.per_class);
        var total = obj(tasks.total);
        var rows = [];
        Object.keys(perClass).forEach(function (name) {
            ratioRows(name, perClass[name], total[name], 0, rows);
        });
        var table = $("ratio-table");
        table.replaceChild(h("tbody", null, rows), table.tBodies[0]);
        table.hidden = !rows.length;
        $("ratio-empty").hidden = rows.length > 0;
    }

    return {
        renderNoWorkers: renderNoWorkers,
        renderFigures: renderFigures,
        renderRatio: renderRatio,
        fmtRatio: fmtRatio
    };
})(window.apexCommon);
