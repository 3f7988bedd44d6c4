// web/charts.js - the web UI's Charts tab: the points kept from each
// stats answer (users, targets, requests and failures per second, current
// median and 95th percentile) and the uPlot charts drawn from them, built
// the first time the tab is shown (uPlot needs a width) and given new data
// on every poll after that. scripts/embed.py inlines it after
// web/views.js and before web/app.js, which calls apexCharts(ui, now)
// once with its state (ui.history, ui.tab, ui.charts, ui.config) and the
// master's clock, and gets {addPoint, draw}.
var apexCharts = (function (common) {
    "use strict";

    var {obj, num, fmtClock} = common;

    var EMPTY_SPAN = 60;        // s on the time axis of an empty chart
    var CHART_HEIGHT = 240;

    return function (ui, masterNow) {
        function $(id) {
            return document.getElementById(id);
        }

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

        function addPoint(s, totalEntry) {
            var total = obj(totalEntry);
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
                rps: common.firstNum(s.current_rps, total.current_rps, s.total_rps),
                fail_per_sec: common.firstNum(s.current_fail_per_sec,
                    total.current_fail_per_sec, s.total_fail_per_sec),
                // Locust's current percentiles are whole ms; the master may
                // add them with µs precision as apex.current_percentiles_ms.
                p50_ms: common.firstNum(curApex["50"], s.current_response_time_percentile_50,
                    cur["response_time_percentile_0.5"]),
                p95_ms: common.firstNum(curApex["95"], s.current_response_time_percentile_95,
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

        return {addPoint: addPoint, draw: drawCharts};
    };
})(window.apexCommon);
