"""Client memory over a long constant-load run: RSS after the first minute should grow < 10%.

Runs the engine (one worker) for ``--seconds`` (default 300) at a constant message rate against
the reference target, samples the worker's RSS every 5 s, and writes bench/results/memory_soak.{md,json}.
Run: .venv/bin/python bench/memory_soak.py [--seconds 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from streamtestbench.target.process import TargetProcess

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second per connection")
    args = parser.parse_args()
    samples: list[tuple[float, int]] = []
    with TargetProcess() as target, tempfile.TemporaryDirectory() as tmp:
        scenario = {"name": "memory soak", "protocol": "WEBSOCKET", "endpoint": f"ws://127.0.0.1:{target.port}/ws",
                    "duration_seconds": args.seconds, "connections": args.connections,
                    "rates": {"messagesPerSecond": args.rate}}
        path = Path(tmp) / "soak.json"
        path.write_text(json.dumps(scenario))
        run = subprocess.Popen([sys.executable, "-m", "streamtestbench", "run", "-s", str(path), "--workers", "1",
                                "-o", str(Path(tmp) / "out.json"), "--progress-interval", "60"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        while run.poll() is None:
            time.sleep(5.0)
            workers = [p for p in psutil.Process(run.pid).children(recursive=True)
                       if "resource_tracker" not in " ".join(p.cmdline())]
            if workers:
                samples.append((round(time.monotonic() - started, 1), max(p.memory_info().rss for p in workers)))
        results = json.loads((Path(tmp) / "out.json").read_text())
    after_minute = [rss for at, rss in samples if at >= 60.0]
    growth = (after_minute[-1] - after_minute[0]) / after_minute[0] if len(after_minute) > 1 else float("nan")
    row = {"seconds": args.seconds, "connections": args.connections, "rate_per_connection": args.rate,
           "messages": results["totalMessages"], "rss_at_60s_mb": round(after_minute[0] / 2**20, 1) if after_minute
           else None, "rss_at_end_mb": round(after_minute[-1] / 2**20, 1) if after_minute else None,
           "growth_after_first_minute": round(growth, 4), "holds": growth < 0.10, "samples": samples}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory_soak.json").write_text(json.dumps(row, indent=2))
    verdict = "yes" if row["holds"] else "NO"
    text = ("# Client memory over a constant-load run\n\n"
            "| run | messages | RSS at 60 s | RSS at end | growth | < 10% |\n|---|---|---|---|---|---|\n"
            f"| {args.connections} conns x {args.rate:g} msg/s, {args.seconds:g} s | {row['messages']} | "
            f"{row['rss_at_60s_mb']} MB | {row['rss_at_end_mb']} MB | {growth:.2%} | {verdict} |\n")
    (RESULTS / "memory_soak.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
