"""The worker sink: pushes land under the stage that was running when they arrived."""

from __future__ import annotations

from streamtestbench.engine.sink import WorkerSink
from streamtestbench.metrics.snapshot import Recorder


def test_pushes_follow_stage_changes() -> None:
    metrics = Recorder(0)
    sink = WorkerSink(metrics)
    sink.set_stage("warm-up")
    sink.push("mqtt.deliver", 1_000, 10)
    sink.push("ws.broadcast", 1_000, 10)
    sink.set_stage("steady")
    sink.push("mqtt.deliver", 1_000, 10, gap=2)
    snapshot = metrics.snapshot(0, 0, 1_000_000_000, final=True)
    counts = {(key.name, key.tag_dict().get("stage")): stats.count() for key, stats in snapshot.metrics.items()}
    assert counts == {("push:mqtt.deliver", "warm-up"): 1, ("push:ws.broadcast", "warm-up"): 1,
                      ("push:mqtt.deliver", "steady"): 1}
    assert snapshot.counters.named["push_gaps"] == 2
