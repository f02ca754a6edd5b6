"""One self-contained HTML report: Chart.js (vendored) and the data inlined, no network requests.

The page carries a Content-Security-Policy that forbids every fetch (``default-src 'none'``), and its
own script writes a JSON marker (``#stb-render-check``) once the charts are drawn: per canvas the count
of non-transparent pixels, the script errors and CSP violations seen, and the resources loaded. The
browser test reads that marker from ``--dump-dom``.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from streamtestbench.outputs.report.series import PERCENTILES, IntervalRow, interval_rows, labels

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
CHART_IDS: tuple[str, ...] = ("chart-latency", "chart-throughput", "chart-connections", "chart-errors")

_SOURCE_MAP_RE = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def _chart_js() -> str:
    text = resources.files("streamtestbench.outputs.report").joinpath("vendor/chart.umd.min.js").read_text("utf-8")
    # No source-map reference: devtools would otherwise try to fetch it.
    text = _SOURCE_MAP_RE.sub("", text)
    if "</script" in text.lower():  # pragma: no cover - guards a future vendored build
        raise ValueError("vendored Chart.js contains '</script'")
    return text


def _esc(value: Any) -> str:
    return html.escape(_fmt(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _json_for_script(data: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close or open markup."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _epoch_ms(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            t = _dt.datetime.fromtimestamp(value / 1000.0, tz=_dt.UTC)
        except (OverflowError, OSError, ValueError):
            return _fmt(value)
        return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return _fmt(value)


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _series(rows: Sequence[IntervalRow]) -> dict[str, Any]:
    names = labels(rows)
    lat: dict[str, Any] = {}
    for name in names:
        lat[name] = {
            kind: {p: [_finite(r.latency.get(name, {}).get(kind, {}).get(p)) for r in rows] for p in PERCENTILES}
            for kind in ("corrected", "uncorrected")
        }
    return {
        "x": [r.elapsed_s for r in rows],
        "labels": names,
        "latency": lat,
        "throughput": [_finite(r.throughput) for r in rows],
        "failures": [r.failures for r in rows],
        "active": [r.active_connections for r in rows],
    }


def _errors_by_kind(results: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    errs = results.get("errors")
    if isinstance(errs, list):
        for e in errs:
            if isinstance(e, Mapping):
                c = e.get("count")
                if isinstance(c, int | float) and not isinstance(c, bool):
                    kind = str(e.get("kind", "unknown"))
                    out[kind] = out.get(kind, 0) + int(c)
    elif isinstance(errs, Mapping):
        for k, c in errs.items():
            if isinstance(c, int | float) and not isinstance(c, bool):
                out[str(k)] = int(c)
    return out


def _chart_data(results: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"run": _series(interval_rows(results)), "errors": _errors_by_kind(results)}
    if baseline is not None:
        data["baseline"] = _series(interval_rows(baseline))
        data["baselineErrors"] = _errors_by_kind(baseline)
        data["baselineName"] = str(baseline.get("scenarioName") or "baseline")
    return data


# ---------------------------------------------------------------------------------------------- tables

_SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("protocol", "Protocol"),
    ("status", "Status"),
    ("startTime", "Start"),
    ("endTime", "End"),
    ("durationSeconds", "Duration (s)"),
    ("plannedSeconds", "Planned (s)"),
    ("totalMessages", "Total messages"),
    ("successfulMessages", "Successful"),
    ("failedMessages", "Failed"),
    ("errorRate", "Error rate"),
    ("throughputQps", "Throughput (msg/s)"),
    ("droppedIterations", "Dropped iterations"),
    ("anomaliesDetected", "Anomalies detected"),
    ("exitCode", "Exit code"),
)
_LATENCY_KEYS: tuple[tuple[str, str], ...] = (
    ("averageLatencyMs", "avg"),
    ("minLatencyMs", "min"),
    ("p50LatencyMs", "p50"),
    ("p90LatencyMs", "p90"),
    ("p95LatencyMs", "p95"),
    ("p99LatencyMs", "p99"),
    ("p999LatencyMs", "p999"),
    ("maxLatencyMs", "max"),
)


def _delta(cur: Any, base: Any) -> str:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (cur, base)):
        return ""
    if base == 0:
        return "" if cur == 0 else "new"
    pct = (float(cur) - float(base)) / abs(float(base)) * 100.0
    return f"{pct:+.1f}%"


def _summary(results: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> str:
    head = "<tr><th>Field</th><th>Run</th>" + ("<th>Baseline</th><th>Δ</th>" if baseline is not None else "") + "</tr>"
    rows: list[str] = []
    for key, title in _SUMMARY_FIELDS:
        if key not in results and (baseline is None or key not in baseline):
            continue
        render = _epoch_ms if key in ("startTime", "endTime") else _fmt
        cells = f"<th scope='row'>{html.escape(title)}</th><td>{html.escape(render(results.get(key)))}</td>"
        if baseline is not None:
            b = baseline.get(key)
            d = "" if key in ("startTime", "endTime") else _delta(results.get(key), b)
            cells += f"<td>{html.escape(render(b))}</td><td>{html.escape(d)}</td>"
        rows.append(f"<tr>{cells}</tr>")
    table = f"<table class='kv'>{head}{''.join(rows)}</table>"

    unc = results.get("uncorrectedLatencyMs")
    unc = unc if isinstance(unc, Mapping) else {}
    lat_head = "<tr><th>Latency (ms)</th>" + "".join(f"<th>{html.escape(n)}</th>" for _, n in _LATENCY_KEYS) + "</tr>"
    lat_rows = [
        "<tr><th scope='row'>corrected</th>" + "".join(f"<td>{_esc(results.get(k))}</td>" for k, _ in _LATENCY_KEYS),
        "<tr><th scope='row'>uncorrected</th>"
        + "".join(f"<td>{_esc(unc.get('avg' if n == 'avg' else n))}</td>" for _, n in _LATENCY_KEYS),
    ]
    if baseline is not None:
        lat_rows.append(
            "<tr><th scope='row'>baseline corrected</th>"
            + "".join(f"<td>{_esc(baseline.get(k))}</td>" for k, _ in _LATENCY_KEYS)
        )
    lat_table = f"<table>{lat_head}{''.join(r + '</tr>' for r in lat_rows)}</table>"

    extra = ""
    for key, title in (("connectionMetrics", "Connections"), ("messageMetrics", "Messages"), ("pushMetrics", "Push")):
        block = results.get(key)
        if isinstance(block, Mapping) and block:
            extra += f"<h3>{html.escape(title)}</h3>{_generic(block)}"
    protocols = results.get("protocols")
    if isinstance(protocols, Mapping) and len(protocols) > 1:
        extra += "<h3>Per protocol</h3>" + _protocols_table(protocols)
    for key, title in (("httpStatusClasses", "HTTP status classes"), ("injectedFailures", "Injected failures"),
                       ("delivery", "Delivery (loss, duplicates, reordering)")):
        block = results.get(key)
        if isinstance(block, Mapping) and block:
            extra += f"<h3>{html.escape(title)}</h3>{_generic(block)}"
    metrics = results.get("metrics")
    if isinstance(metrics, Mapping) and metrics:
        extra += "<h3>Per label</h3>" + _metrics_table(metrics)
    return table + "<h3>Latency</h3>" + lat_table + extra


def _protocols_table(protocols: Mapping[str, Any]) -> str:
    """A MIXED run's rows: each protocol's totals, error rate, throughput and corrected latency."""
    head = ("<tr><th>Protocol</th><th>total</th><th>failed</th><th>error rate</th><th>QPS</th>"
            + "".join(f"<th>{p} (ms)</th>" for p in ("p50", "p95", "p99")) + "</tr>")
    rows = []
    for name, row in protocols.items():
        if not isinstance(row, Mapping):
            continue
        lat = row.get("latencyMs") if isinstance(row.get("latencyMs"), Mapping) else {}
        assert isinstance(lat, Mapping)
        rows.append(
            f"<tr><th scope='row'>{html.escape(str(name))}</th><td>{_esc(row.get('totalMessages'))}</td>"
            f"<td>{_esc(row.get('failedMessages'))}</td><td>{_esc(row.get('errorRate'))}</td>"
            f"<td>{_esc(row.get('throughputQps'))}</td>"
            + "".join(f"<td>{_esc(lat.get(p))}</td>" for p in ("p50", "p95", "p99")) + "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    head = (
        "<tr><th>Label</th><th>total</th><th>successful</th><th>failed</th>"
        + "".join(f"<th>{p} (ms)</th>" for p in ("p50", "p95", "p99", "max"))
        + "<th>uncorrected p99 (ms)</th></tr>"
    )
    rows = []
    for name, m in metrics.items():
        if not isinstance(m, Mapping):
            continue
        lat = m.get("latencyMs") if isinstance(m.get("latencyMs"), Mapping) else {}
        unc = m.get("uncorrectedLatencyMs") if isinstance(m.get("uncorrectedLatencyMs"), Mapping) else {}
        assert isinstance(lat, Mapping) and isinstance(unc, Mapping)
        rows.append(
            f"<tr><th scope='row'>{html.escape(str(name))}</th><td>{_esc(m.get('total'))}</td>"
            f"<td>{_esc(m.get('successful'))}</td><td>{_esc(m.get('failed'))}</td>"
            + "".join(f"<td>{_esc(lat.get(p))}</td>" for p in ("p50", "p95", "p99", "max"))
            + f"<td>{_esc(unc.get('p99'))}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _generic(value: Any, depth: int = 0) -> str:
    """Render any JSON value as nested tables, every text escaped."""
    if depth > 6:
        return f"<code>{_esc(value)}</code>"
    if isinstance(value, Mapping):
        if not value:
            return "<span class='muted'>none</span>"
        rows = "".join(
            f"<tr><th scope='row'>{html.escape(str(k))}</th><td>{_generic(v, depth + 1)}</td></tr>"
            for k, v in value.items()
        )
        return f"<table class='kv'>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "<span class='muted'>none</span>"
        if all(isinstance(v, Mapping) for v in value):
            keys: dict[str, None] = {}
            for v in value:
                for k in v:
                    keys.setdefault(str(k), None)
            head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
            body = "".join(
                "<tr>" + "".join(f"<td>{_generic(v.get(k), depth + 1)}</td>" for k in keys) + "</tr>" for v in value
            )
            return f"<table><tr>{head}</tr>{body}</table>"
        return ", ".join(_generic(v, depth + 1) for v in value)
    return _esc(value)


_STAGE_KNOWN = ("name", "totalMessages", "successfulMessages", "failedMessages", "latencyMs", "uncorrectedLatencyMs")


def _stages(results: Mapping[str, Any]) -> str:
    stages = results.get("stages")
    if not isinstance(stages, list) or not stages:
        return "<p class='muted'>No stages recorded.</p>"
    entries = [s for s in stages if isinstance(s, Mapping)]
    extra: dict[str, None] = {}
    for s in entries:
        for k in s:
            if k not in _STAGE_KNOWN:
                extra.setdefault(str(k), None)
    head = (
        "<tr><th>Stage / step</th><th>messages</th><th>successful</th><th>failed</th>"
        + "".join(f"<th>{p} (ms)</th>" for p in PERCENTILES)
        + "".join(f"<th>uncorr. {p} (ms)</th>" for p in PERCENTILES)
        + "".join(f"<th>{html.escape(k)}</th>" for k in extra)
        + "</tr>"
    )
    body = []
    for s in entries:
        lat = s.get("latencyMs")
        unc = s.get("uncorrectedLatencyMs")
        lat_m: Mapping[str, Any] = lat if isinstance(lat, Mapping) else {}
        unc_m: Mapping[str, Any] = unc if isinstance(unc, Mapping) else {}
        body.append(
            f"<tr><th scope='row'>{_esc(s.get('name'))}</th><td>{_esc(s.get('totalMessages'))}</td>"
            f"<td>{_esc(s.get('successfulMessages'))}</td><td>{_esc(s.get('failedMessages'))}</td>"
            + "".join(f"<td>{_esc(lat_m.get(p))}</td>" for p in PERCENTILES)
            + "".join(f"<td>{_esc(unc_m.get(p))}</td>" for p in PERCENTILES)
            + "".join(f"<td>{_generic(s.get(k), 1)}</td>" for k in extra)
            + "</tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def verdict(v: Mapping[str, Any]) -> str:
    """PASS, WARN (failed at a warning level) or FAIL."""
    if v.get("passed") is True:
        return "PASS"
    level = str(v.get("level") or "").lower()
    return "WARN" if level in ("warn", "warning", "warnings", "info") else "FAIL"


def _thresholds(results: Mapping[str, Any]) -> str | None:
    th = results.get("thresholds")
    if not isinstance(th, list):
        return None
    if not th:
        return "<p class='muted'>No thresholds defined.</p>"
    rows = []
    counts = {"PASS": 0, "WARN": 0, "FAIL": 0}
    for v in th:
        if not isinstance(v, Mapping):
            continue
        verdict_ = verdict(v)
        counts[verdict_] += 1
        rows.append(
            f"<tr class='v-{verdict_.lower()}'><td>{_esc(v.get('threshold'))}</td><td>{_esc(v.get('level'))}</td>"
            f"<td>{_generic(v.get('observed'), 1)}</td><td class='verdict'>{verdict_}</td></tr>"
        )
    summary = " · ".join(f"{k}: {n}" for k, n in counts.items())
    return (
        f"<p>{html.escape(summary)}</p><table><tr><th>Threshold</th><th>Level</th><th>Observed</th>"
        f"<th>Verdict</th></tr>{''.join(rows)}</table>"
    )


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;
color:#1d2330;background:#fff}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{border-bottom:1px solid #d8dce4;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #d8dce4;padding:.25rem .5rem;
text-align:right;vertical-align:top}th{background:#f3f5f8}th[scope=row]{text-align:left}table.kv td{text-align:left}
.muted{color:#6b7280}.chart{position:relative;height:320px;margin:.5rem 0 1.5rem}
.status-completed{color:#137333}.status-other{color:#b3261e}
tr.v-pass .verdict{color:#137333;font-weight:bold}tr.v-warn .verdict{color:#9a6700;font-weight:bold}
tr.v-fail .verdict{color:#b3261e;font-weight:bold}code{font-size:.85rem}
"""

# Runs first: records script errors, console errors and CSP violations for the render check.
_PRELUDE = """
window.__stb={errors:[],csp:[]};
window.addEventListener('error',function(e){window.__stb.errors.push(String(e.message||e.type));});
window.addEventListener('unhandledrejection',function(e){window.__stb.errors.push('unhandled: '+String(e.reason));});
document.addEventListener('securitypolicyviolation',function(e){
  window.__stb.csp.push(e.violatedDirective+' '+e.blockedURI);});
(function(){var orig=console.error;console.error=function(){
  window.__stb.errors.push(Array.prototype.map.call(arguments,String).join(' '));
  return orig.apply(console,arguments);};})();
"""

_APP = """
(function(){
var D=JSON.parse(document.getElementById('stb-data').textContent);
var COLORS={p50:'#1a73e8',p95:'#e8710a',p99:'#d93025'};
var BASE={p50:'rgba(26,115,232,0.35)',p95:'rgba(232,113,10,0.35)',p99:'rgba(217,48,37,0.35)'};
var charts={};
function pts(x,y){var out=[];for(var i=0;i<x.length;i++){if(y[i]!==null&&y[i]!==undefined){
  out.push({x:x[i],y:y[i]});}}return out;}
function base(opts){return Object.assign({responsive:true,maintainAspectRatio:false,animation:false,
  parsing:true,interaction:{mode:'nearest',intersect:false},
  scales:{x:{type:'linear',title:{display:true,text:'elapsed (s)'}}}},opts||{});}
function latencySets(label){
  var sets=[];var pcts=['p50','p95','p99'];
  [['run',D.run],['baseline',D.baseline]].forEach(function(src){
    var s=src[1];if(!s){return;}var lat=s.latency[label];if(!lat){return;}
    ['corrected','uncorrected'].forEach(function(kind){pcts.forEach(function(p){
      var isBase=src[0]==='baseline';
      sets.push({label:(isBase?'baseline ':'')+p+' '+kind,data:pts(s.x,lat[kind][p]),
        borderColor:isBase?BASE[p]:COLORS[p],backgroundColor:isBase?BASE[p]:COLORS[p],
        borderDash:kind==='uncorrected'?[6,4]:[],borderWidth:isBase?1.5:2,pointRadius:0,spanGaps:true});
    });});
  });
  return sets;
}
var sel=document.getElementById('latency-label');
var firstLabel=D.run.labels.length?D.run.labels[0]:null;
charts['chart-latency']=new Chart(document.getElementById('chart-latency'),{type:'line',
  data:{datasets:firstLabel===null?[]:latencySets(firstLabel)},
  options:base({scales:{x:{type:'linear',title:{display:true,text:'elapsed (s)'}},
    y:{beginAtZero:true,title:{display:true,text:'latency (ms)'}}}})});
if(sel){sel.addEventListener('change',function(){var c=charts['chart-latency'];
  c.data.datasets=latencySets(sel.value);c.update();});}
function single(id,key,label,color,yTitle,step){
  var sets=[{label:label,data:pts(D.run.x,D.run[key]),borderColor:color,backgroundColor:color,pointRadius:0,
    borderWidth:2,stepped:step}];
  if(D.baseline){sets.push({label:'baseline '+label,data:pts(D.baseline.x,D.baseline[key]),borderColor:'#9aa0a6',
    backgroundColor:'#9aa0a6',borderDash:[6,4],pointRadius:0,borderWidth:1.5,stepped:step});}
  if(key==='throughput'){sets.push({label:'failures/s',data:pts(D.run.x,D.run.failures),borderColor:'#d93025',
    backgroundColor:'#d93025',pointRadius:0,borderWidth:1.5});}
  charts[id]=new Chart(document.getElementById(id),{type:'line',data:{datasets:sets},
    options:base({scales:{x:{type:'linear',title:{display:true,text:'elapsed (s)'}},
      y:{beginAtZero:true,title:{display:true,text:yTitle}}}})});
}
single('chart-throughput','throughput','throughput','#1a73e8','messages / s',false);
single('chart-connections','active','active connections','#188038','connections',true);
var kinds=Object.keys(D.errors);if(D.baselineErrors){Object.keys(D.baselineErrors).forEach(function(k){
  if(kinds.indexOf(k)<0){kinds.push(k);}});}
var esets=[{label:'errors',data:kinds.map(function(k){return D.errors[k]||0;}),backgroundColor:'#d93025'}];
if(D.baselineErrors){esets.push({label:'baseline errors',data:kinds.map(function(k){return D.baselineErrors[k]||0;}),
  backgroundColor:'#9aa0a6'});}
charts['chart-errors']=new Chart(document.getElementById('chart-errors'),{type:'bar',
  data:{labels:kinds.length?kinds:['(no errors)'],datasets:kinds.length?esets:[{label:'errors',data:[0],
    backgroundColor:'#d93025'}]},
  options:{responsive:true,maintainAspectRatio:false,animation:false,indexAxis:'y',
    scales:{x:{beginAtZero:true,title:{display:true,text:'count'}}}}});
function check(){
  var out={charts:{},errors:window.__stb.errors,csp:window.__stb.csp,resources:0,done:true};
  try{out.resources=performance.getEntriesByType('resource').length;}catch(e){out.resources=-1;}
  Array.prototype.forEach.call(document.querySelectorAll('canvas'),function(c){
    var n=0;try{var copy=document.createElement('canvas');copy.width=c.width;copy.height=c.height;
      var cx=copy.getContext('2d',{willReadFrequently:true});cx.drawImage(c,0,0);
      var d=cx.getImageData(0,0,c.width,c.height).data;
      for(var i=3;i<d.length;i+=4){if(d[i]!==0){n++;}}}catch(e){n=-1;out.errors.push(String(e));}
    out.charts[c.id]={pixels:n,width:c.width,height:c.height};});
  document.getElementById('stb-render-check').textContent=JSON.stringify(out);
}
check();
window.addEventListener('load',function(){setTimeout(check,0);});
})();
"""


def render_html(results: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> str:
    """The whole report as one HTML string; makes no network request when opened."""
    scenario = str(results.get("scenarioName") or "scenario")
    status = str(results.get("status") or "unknown")
    data = _chart_data(results, baseline)
    run_labels: list[str] = data["run"]["labels"]
    options = "".join(f"<option value='{html.escape(n, quote=True)}'>{html.escape(n)}</option>" for n in run_labels)
    th = _thresholds(results)
    comparison = results.get("comparison")

    parts: list[str] = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(scenario)} — Stream Testbench report</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{_PRELUDE}</script>",
        "</head><body>",
        f"<h1>{html.escape(scenario)}</h1>",
        "<p>Stream Testbench report · status "
        f"<strong class='{'status-completed' if status == 'completed' else 'status-other'}'>{html.escape(status)}"
        "</strong>"
        + (
            f" · compared with baseline <strong>{html.escape(str(baseline.get('scenarioName') or 'baseline'))}</strong>"
            if baseline is not None
            else ""
        )
        + "</p>",
        "<section id='summary'><h2>Summary</h2>",
        _summary(results, baseline),
        "</section>",
    ]
    if th is not None:
        parts += ["<section id='thresholds'><h2>Thresholds</h2>", th, "</section>"]
    parts += [
        "<section id='latency'><h2>Latency percentiles over time</h2>",
        "<p class='muted'>Corrected (solid) and uncorrected (dashed) p50/p95/p99 per interval."
        " “all messages” is an upper bound: the highest value over the message labels in each interval."
        + (" Baseline series are drawn lighter." if baseline is not None else "")
        + "</p>",
        f"<label>Label <select id='latency-label'>{options}</select></label>",
        "<div class='chart'><canvas id='chart-latency' role='img' aria-label='latency over time'></canvas></div>",
        "</section>",
        "<section id='throughput'><h2>Throughput over time</h2>",
        "<div class='chart'><canvas id='chart-throughput' role='img' aria-label='throughput'></canvas></div>",
        "</section>",
        "<section id='connections'><h2>Active connections over time</h2>",
        "<div class='chart'><canvas id='chart-connections' role='img' aria-label='connections'></canvas></div>",
        "</section>",
        "<section id='errors'><h2>Errors by kind</h2>",
        "<div class='chart'><canvas id='chart-errors' role='img' aria-label='errors by kind'></canvas></div>",
        "</section>",
        "<section id='stages'><h2>Stages and ladder steps</h2>",
        _stages(results),
        "</section>",
    ]
    if isinstance(comparison, Mapping | list):
        parts += ["<section id='comparison'><h2>Comparison</h2>", _generic(comparison), "</section>"]
    parts += [
        "<pre id='stb-render-check' hidden>{}</pre>",
        f"<script type='application/json' id='stb-data'>{_json_for_script(data)}</script>",
        f"<script>{_chart_js()}</script>",
        f"<script>{_APP}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_html(results: Mapping[str, Any], path: str | Path, baseline: Mapping[str, Any] | None = None) -> Path:
    p = Path(path)
    p.write_text(render_html(results, baseline), encoding="utf-8")
    return p
