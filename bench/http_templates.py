"""What templates, captures and checks cost: the same keep-alive GET, plain and fully dressed (issue 4).

Against nginx's JSON location (bench/nginx.py ``/json``: a ~90-byte JSON object), 50 connections,
closed loop, same pinning as bench/http_get.py. Two engine flows, interleaved, median of ``--runs``:

- plain:     ``[{"get": {"url": "/json"}}]``
- dressed:   issue 4's case, a template, a capture and a check per request: the URL renders
  ``${vu}`` and ``{{ $randomInt(1, 1000) }}``, ``id`` is captured from the JSON body and checked
  to exist, so every response is parsed.

cost = 1 - dressed / plain req/s; the issue 4 target is at most 25%. For reference, k6 1.1.0 runs
the same pair (template literals, ``r.json()``, ``check``), so the table also shows what the same
work costs a well-known peer.

Writes bench/results/http_templates.md and http_templates.json.

    .venv/bin/python bench/http_templates.py [--seconds 10] [--runs 3] [--tools engine-plain,engine-dressed,...]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import Any

import benchkit as kit
import http_get
import peers
import sidebyside as sbs
from nginx import Nginx, nginx_binary, nginx_version

TOOLS = ("engine-plain", "engine-dressed", "k6-plain", "k6-dressed")
LABELS = {"engine-plain": "streamtestbench, plain GET", "engine-dressed": "streamtestbench, templates+capture+check",
          "k6-plain": "k6, plain GET", "k6-dressed": "k6, templates+capture+check"}
MAX_COST = 0.25
"""Issue 4: the dressed scenario costs at most this share of the plain GET's throughput."""

PLAIN_FLOW: list[dict[str, Any]] = [{"get": {"url": "/json"}}]
DRESSED_FLOW: list[dict[str, Any]] = [{"get": {
    "url": "/json?vu=${vu}&r={{ $randomInt(1, 1000) }}",
    "capture": [{"json": "id", "as": "id"}],
    "check": [{"jsonPath": "id", "exists": True}],
}}]
"""Issue 4's case: "a scenario with templates, a capture and a check per request"."""
DRESSED_EXTRA: dict[str, Any] = {}

K6_PLAIN = """\
import http from 'k6/http';

export const options = {
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: {
    get: { executor: 'constant-vus', vus: Number(__ENV.STB_VUS), duration: `${__ENV.STB_SECONDS}s`,
           gracefulStop: '3s' },
  },
};

export default function () {
  http.get(`${__ENV.STB_URL}/json`);
}

export function handleSummary(data) {
  return { [__ENV.STB_SUMMARY]: JSON.stringify(data) };
}
"""

K6_DRESSED = """\
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  summaryTrendStats: ['med', 'p(99)'],
  scenarios: {
    get: { executor: 'constant-vus', vus: Number(__ENV.STB_VUS), duration: `${__ENV.STB_SECONDS}s`,
           gracefulStop: '3s' },
  },
};

let id = 0;

export default function () {
  const r = Math.floor(Math.random() * 1000) + 1;
  const res = http.get(`${__ENV.STB_URL}/json?vu=${__VU}&r=${r}`);
  const body = res.json();
  id = body.id;
  check(res, { id: () => body.id !== undefined });
}

export function handleSummary(data) {
  return { [__ENV.STB_SUMMARY]: JSON.stringify(data) };
}
"""


def run_k6(peer: peers.Peer, script: str, s: http_get.Settings, server: Nginx, attempt: sbs.Attempt) -> None:
    http_get.run_k6_script(peer, script, s, server.url, attempt, attempt.tool.replace("-", "_"))


def cost(plain: dict[str, Any] | None, dressed: dict[str, Any] | None) -> float | None:
    share = sbs.ratio(dressed, plain)
    return None if share is None else round(1.0 - share, 3)


def render(rows: list[dict[str, Any]], facts: dict[str, Any], s: http_get.Settings, rounds: sbs.Rounds,
           costs: dict[str, float | None], server_note: str) -> str:
    by_tool = {row["tool"]: row for row in rows}
    table = []
    for row in rows:
        plain = by_tool.get(row["tool"].split("-")[0] + "-plain")
        share = sbs.ratio(row, plain)
        checks = [a["details"].get("output", {}).get("checksRate") for a in row["attempts"]]
        counters = next((a["details"].get("counters") for a in row["attempts"] if a["details"].get("counters")), None)
        flow = "dressed" if "dressed" in row["tool"] else "plain"
        note = (f"the {flow} flow below" if row["tool"].startswith("engine")
                else f"the same work as the {flow} flow, in k6 JavaScript (script in the JSON)")
        if any(c is not None for c in checks):
            note += f"; k6 checks passed: {', '.join(f'{100 * c:.1f}%' for c in checks if c is not None)}"
        if counters:
            note += f"; engine counters: {counters}"
        table.append([row["label"] + (f" {row['version']}" if row["version"] else ""), sbs.value_cell(row),
                      sbs.runs_cell(row), "—" if share is None else f"{share:.2f}×",
                      kit.fmt_ms(row["p50Ms"]), kit.fmt_ms(row["p99Ms"]), sbs.cores_cell(row),
                      sbs.notes_cell(row, note)])
    headers = ["tool, flow", "median req/s", "runs counted", "× its plain GET", "p50 ms", "p99 ms",
               "core 0 / core 1 busy", "notes"]
    engine_cost, k6_cost = costs.get("engine"), costs.get("k6")
    verdict = ("not measured" if engine_cost is None
               else f"{100 * engine_cost:.1f}% — {'met' if engine_cost <= MAX_COST else 'NOT met'}")
    return "\n".join([
        "# HTTP templates + captures + checks: what they cost against a plain GET",
        "",
        f"{s.connections} keep-alive connections, closed loop, {s.seconds:g} s per run, against {server_note} "
        f"(JSON location) on core {kit.SERVER_CORE}; generator on core {kit.GENERATOR_CORE}; median of the counted "
        f"runs ({rounds.runs} interleaved wanted).",
        "",
        kit.md_table(headers, table),
        "",
        f"- plain flow: `{json.dumps(PLAIN_FLOW)}`",
        f"- dressed flow: `{json.dumps(DRESSED_FLOW)}` with `{json.dumps(DRESSED_EXTRA)}`",
        "",
        f"Engine cost of templates+capture+check (1 - dressed/plain): {verdict} (issue 4 target: at most "
        f"{100 * MAX_COST:.0f}%). k6 pays {'—' if k6_cost is None else f'{100 * k6_cost:.1f}%'} "
        "for the same work.",
        "",
        sbs.contention_paragraph(rounds),
        "",
        *kit.facts_lines(facts),
        "",
        f"Regenerate: `make bench`, or `.venv/bin/python bench/http_templates.py --seconds {s.seconds:g} "
        f"--runs {rounds.runs}`.",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    sbs.add_round_options(parser)
    parser.add_argument("--connections", type=int, default=50)
    sbs.add_tools_option(parser, TOOLS)
    args = parser.parse_args()
    tools = sbs.selected_tools(parser, args, TOOLS)
    kit.raise_nofile_limit()
    facts = kit.machine_facts()
    k6 = peers.ensure_k6() if any(t.startswith("k6") for t in tools) else None
    facts["peers"] = {"k6": k6.label()} if k6 else {}
    binary = nginx_binary()
    server_note = f"nginx {nginx_version(binary) if binary else '(missing)'} (Debian; 1 worker, access log off)"
    rounds = sbs.rounds_from(args)
    with kit.workdir("stb-http-templates-") as work:
        s = http_get.Settings(args.seconds, args.connections, work)
        runners: dict[str, sbs.Runner] = {
            "engine-plain": functools.partial(http_get.run_engine, s, flow=PLAIN_FLOW),
            "engine-dressed": functools.partial(http_get.run_engine, s, flow=DRESSED_FLOW, extra=DRESSED_EXTRA),
        }
        if k6 is not None and k6.available:
            runners["k6-plain"] = functools.partial(run_k6, k6, K6_PLAIN, s)
            runners["k6-dressed"] = functools.partial(run_k6, k6, K6_DRESSED, s)
        attempts = sbs.run_rounds(tools, runners, Nginx, rounds, unit="req/s", labels=LABELS)
    rows = []
    for tool in tools:
        is_k6 = tool.startswith("k6")
        rows.append(sbs.summarise(tool, LABELS[tool], attempts[tool], keep=args.runs,
                                  available=not (is_k6 and k6 and not k6.available),
                                  version=k6.version if is_k6 and k6 else "",
                                  reason=k6.reason if is_k6 and k6 else ""))
    by_tool = {row["tool"]: row for row in rows}
    costs = {name: cost(by_tool.get(f"{name}-plain"), by_tool.get(f"{name}-dressed")) for name in ("engine", "k6")}
    markdown = render(rows, facts, s, rounds, costs, server_note)
    print()
    print(markdown)
    if not args.no_write:
        data = {"benchmark": "http_templates", "settings": vars(args), "server": server_note, "facts": facts,
                "flows": {"plain": PLAIN_FLOW, "dressed": DRESSED_FLOW, "dressedExtra": DRESSED_EXTRA},
                "k6Scripts": {"plain": K6_PLAIN, "dressed": K6_DRESSED},
                "costs": costs, "maxCost": MAX_COST,
                "targetMet": None if costs["engine"] is None else costs["engine"] <= MAX_COST, "tools": rows}
        md_path, json_path = kit.write_results("http_templates", markdown, data)
        print(f"\nwrote {md_path.relative_to(kit.REPO)} and {json_path.relative_to(kit.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
