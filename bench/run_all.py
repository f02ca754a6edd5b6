"""``make bench``: run the side-by-side benchmarks and index their results in bench/results/README.md.

Runs, one after the other (never in parallel: they pin cores and would measure each other):

1. ``ws_echo.py``                      -- raw picows vs this engine vs k6 vs Artillery, echo msg/s
2. ``ws_capacity.py``                  -- 10,000 idle connections from one engine worker
3. ``ws_capacity.py --connections 50000 --runs 1 ...`` -- several workers and source addresses
4. ``accuracy.py``                     -- a 10 ms target, a 2 s stall, exact counts against /stats
5. ``http_get.py``                     -- keep-alive GET from nginx: engine vs raw loop, wrk, k6, Locust,
                                          autocannon, hey (results/http.md)
6. ``http_open.py``                    -- open model at a fixed 20,000 req/s: rate held, dropped, corrected p99
7. ``http_templates.py``               -- templates + captures + checks against a plain GET
8. ``mqtt_publish.py``                 -- QoS 0 / QoS 1 publish vs gmqtt, aiomqtt, mosquitto_pub (results/mqtt.md)
9. ``mqtt_e2e.py``                     -- pub -> mosquitto -> sub, with loss and duplicate counts
(``memory_soak.py``, five minutes long, runs on its own.)
10. every ``bench/*_bench.py``         -- benchmarks added later, run with no arguments

A script that fails or overruns its time limit is recorded in the index and the rest still run.
About 15 minutes on a quiet 2-core machine; more when other work forces re-runs (each script
bounds its re-runs and its waiting for the machine to calm down).
Peers (k6, Artillery, Locust, autocannon, gmqtt/aiomqtt) are installed on first use into bench/.peers/,
wrk, hey, nginx and mosquitto from Debian when missing (see peers.py).

    .venv/bin/python bench/run_all.py [--only ws_echo,ws_capacity]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
STEP_TIMEOUT_S = 900.0


@dataclass
class Step:
    name: str
    argv: list[str]
    timeout: float = STEP_TIMEOUT_S
    returncode: int | None = None
    seconds: float = 0.0
    skipped: str = ""
    stem: str = ""
    """The name of the results file it writes, when it is not the step's name."""


def planned_steps() -> list[Step]:
    python = sys.executable
    steps = [
        Step("ws_echo", [python, str(BENCH_DIR / "ws_echo.py")]),
        Step("ws_capacity", [python, str(BENCH_DIR / "ws_capacity.py")]),
        Step("accuracy", [python, str(BENCH_DIR / "accuracy.py")]),
        Step("ws_capacity_50000", [python, str(BENCH_DIR / "ws_capacity.py"), "--connections", "50000",
                                   "--runs", "1", "--extra-runs", "0", "--quiet-wait", "15", "--hold", "45"]),
        Step("http_get", [python, str(BENCH_DIR / "http_get.py")], stem="http"),
        Step("http_open", [python, str(BENCH_DIR / "http_open.py")]),
        Step("http_templates", [python, str(BENCH_DIR / "http_templates.py")]),
        Step("mqtt_publish", [python, str(BENCH_DIR / "mqtt_publish.py")], stem="mqtt"),
        Step("mqtt_e2e", [python, str(BENCH_DIR / "mqtt_e2e.py")]),
        Step("injection_overhead", [python, str(BENCH_DIR / "injection_overhead.py")]),
    ]
    for script in sorted(BENCH_DIR.glob("*_bench.py")):
        steps.append(Step(script.stem, [python, str(script)]))
    return steps


def run_step(step: Step) -> None:
    print(f"\n=== {step.name}: {' '.join(Path(a).name if a.startswith('/') else a for a in step.argv)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(step.argv, cwd=BENCH_DIR.parent, start_new_session=True)
    try:
        step.returncode = proc.wait(timeout=step.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # this step's own process group, by its id
        proc.wait()
        step.returncode = None
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    step.seconds = time.perf_counter() - started


def _title(md: Path) -> str:
    for line in md.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return md.stem


def write_index(steps: list[Step]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Benchmark results",
        "",
        f"Last `make bench`: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}, nproc {os.cpu_count()}. "
        "Each file below says how it was measured, on which versions and how busy the machine was.",
        "",
        "| step | exit | seconds | results |",
        "|---|---|---|---|",
    ]
    for step in steps:
        if step.skipped:
            status = f"skipped ({step.skipped})"
        elif step.returncode is None:
            status = f"killed after {step.timeout:.0f} s"
        else:
            status = str(step.returncode)
        produced = sorted(RESULTS_DIR.glob(f"{step.stem or step.name}.md"))
        links = ", ".join(f"[{p.name}]({p.name})" for p in produced) or "—"
        lines.append(f"| {step.name} | {status} | {step.seconds:.0f} | {links} |")
    lines += ["", "## All result files", ""]
    for md in sorted(RESULTS_DIR.glob("*.md")):
        if md.name == "README.md":
            continue
        json_file = md.with_suffix(".json")
        extra = f" ([raw numbers]({json_file.name}))" if json_file.exists() else ""
        lines.append(f"- [{md.name}]({md.name}): {_title(md)}{extra}")
    lines += ["", "Regenerate with `make bench` (peers install into bench/.peers/ on first use)."]
    index = RESULTS_DIR / "README.md"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated step names to run (default: all)")
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    steps = planned_steps()
    started = time.perf_counter()
    for step in steps:
        if only and step.name not in only:
            step.skipped = "not selected"
            continue
        run_step(step)
    index = write_index(steps)
    failed = [s.name for s in steps if not s.skipped and s.returncode != 0]
    print(f"\nbenchmarks done in {time.perf_counter() - started:.0f} s; index: {index.relative_to(BENCH_DIR.parent)}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
