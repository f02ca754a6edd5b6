"""The end-of-run console summary, laid out after seed 000's "Results Summary" and seed 003's report."""

from __future__ import annotations

from typing import Any


def render_summary(results: dict[str, Any]) -> str:
    conn = results["connectionMetrics"]
    msgs = results["messageMetrics"]
    total = results["totalMessages"]
    success_rate = (results["successfulMessages"] / total * 100) if total else 0.0
    attempted = conn["totalConnections"]
    conn_rate = (conn["successfulConnections"] / attempted * 100) if attempted else 0.0
    unc = results["uncorrectedLatencyMs"]
    lines = [
        "📊 Stream Testbench Results Summary",
        "=" * 50,
        "",
        f"🎯 Scenario: {results['scenarioName']}  ({results['protocol']}, {results['status']})",
        f"   Duration: {results['durationSeconds']:.1f}s",
        f"   Total Messages: {total}",
        f"   Successful: {results['successfulMessages']}",
        f"   Failed: {results['failedMessages']}",
        f"   Success Rate: {success_rate:.2f}%",
        f"   Throughput: {results['throughputQps']:.2f} QPS",
        f"   Avg Latency: {results['averageLatencyMs']:.2f}ms",
        f"   P95 Latency: {results['p95LatencyMs']:.2f}ms",
        f"   P99 Latency: {results['p99LatencyMs']:.2f}ms",
        "",
        "📡 Connection Metrics:",
        f"   Total Attempted: {attempted}",
        f"   Successful: {conn['successfulConnections']} ({conn_rate:.1f}%)",
        f"   Failed: {conn['failedConnections']}",
        f"   Connect time p50/p95: {conn['connectTimeMs']['p50']:.2f} / {conn['connectTimeMs']['p95']:.2f} ms",
        "",
        "💬 Message Metrics:",
        f"   Messages Sent: {msgs['messagesSent']}",
        f"   Messages Received: {msgs['messagesReceived']}",
        f"   Dropped iterations: {results['droppedIterations']}",
        "",
        "⚡ Latency (ms)         corrected   uncorrected",
    ]
    for label, key in (("P50", "p50"), ("P90", "p90"), ("P95", "p95"), ("P99", "p99"), ("P99.9", "p999"),
                       ("Max", "max")):
        corrected = results[f"{key}LatencyMs"] if key != "max" else results["maxLatencyMs"]
        lines.append(f"   {label:<18} {corrected:>10.2f}   {unc[key]:>11.2f}")
    for name, push in results.get("pushMetrics", {}).items():
        if isinstance(push, dict):
            lines.append(f"   push {name}: {push['received']} received, p95 {push['latencyMs']['p95']:.2f} ms")
    if results["stages"] and len(results["stages"]) > 1:
        lines += ["", "🪜 Stages:"]
        for stage in results["stages"]:
            lines.append(f"   {stage['name'] or '-':<20} {stage['totalMessages']:>9} msgs  "
                         f"p95 {stage['latencyMs']['p95']:.2f} ms  failed {stage['failedMessages']}")
    protocols = results.get("protocols", {})
    if len(protocols) > 1:
        lines += ["", "🔀 Per protocol:"]
        for name, row in protocols.items():
            lines.append(f"   {name:<10} {row['totalMessages']:>9} msgs  {row['throughputQps']:>10.1f} QPS  "
                         f"p95 {row['latencyMs']['p95']:.2f} ms  errors {row['errorRate'] * 100:.2f}%")
    for title, key in (("🌐 HTTP status classes", "httpStatusClasses"), ("💉 Injected failures", "injectedFailures"),
                       ("📬 Delivery", "delivery")):
        counts = results.get(key) or {}
        if counts:
            lines += ["", f"{title}:", "   " + ", ".join(f"{name} {value}" for name, value in counts.items())]
    if results["errors"]:
        lines += ["", "Errors encountered:"]
        lines += [f"  {error['kind']}: {error['count']}" for error in results["errors"]]
    if results["workers"]["lost"]:
        lines.append(f"\n⚠ workers lost mid-run: {results['workers']['lost']} (numbers up to their last snapshot)")
    lines.append("=" * 50)
    return "\n".join(lines)
