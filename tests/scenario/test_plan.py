"""The execution plan: stages, levels and expected message counts for every load shape."""

from __future__ import annotations

from typing import Any

import pytest

from streamtestbench.scenario.enums import Protocol
from streamtestbench.scenario.examples import EXAMPLES, examples_for
from streamtestbench.scenario.plan import (
    DEFAULT_LADDER_INTERVAL_SECONDS,
    ExecutionPlan,
    StageKind,
    build_plan,
    share_text,
)

from ._support import base, data_problems, load


def plan_of(data: dict[str, Any], env: dict[str, str] | None = None) -> ExecutionPlan:
    return build_plan(load(data, env))


def rows(plan: ExecutionPlan) -> list[tuple[Any, ...]]:
    """(name, kind, start, duration, start level, end level, messages) per stage, rounded."""
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return [(s.name, s.kind, r(s.start_seconds), r(s.duration_seconds), r(s.start_level), r(s.end_level),
             r(s.expected_messages)) for s in plan.stages]


C, A, ITER, IDLE = StageKind.CONNECTIONS, StageKind.ARRIVALS, StageKind.ITERATIONS, StageKind.IDLE


# --- seed 000's rates ---------------------------------------------------------------------------


def test_constant_connections_without_rates_send_nothing() -> None:
    plan = plan_of(base(rates=None))
    assert plan.shape == "constant"
    assert rows(plan) == [("steady", C, 0, 60, 10, 10, 0)]
    assert plan.peak_connections == 10 and plan.total_seconds == 60


def test_rates_with_ramps_and_bursts() -> None:
    plan = plan_of(base(duration_seconds=100, connections=20, rates={
        "messagesPerSecond": 2, "burstMultiplier": 3, "burstIntervalSeconds": 10, "burstDurationSeconds": "2s",
        "rampUpSeconds": 10, "rampDownSeconds": 20}))
    # steady: 70 s x 20 connections x 2/s = 2800, plus bursts: 1400 conn-s x 2/s x (3-1) x 2/10 = 1120
    assert rows(plan) == [
        ("ramp-up", C, 0, 10, 0, 20, 200),
        ("steady", C, 10, 70, 20, 20, 3920),
        ("ramp-down", C, 80, 20, 20, 0, 400),
    ]
    assert plan.shape == "rates" and plan.exact
    assert plan.expected_messages == 4520
    assert {s.messages_per_second for s in plan.stages} == {2}


def test_seed000_mobile_sync_test_plan() -> None:
    (example,) = [e for e in examples_for("websocket") if e.name == "Mobile Sync Test"]
    plan = build_plan(load(example.data))
    # 50 connections x 15/s x 300 s = 225,000 plus 2.5x bursts for 1 s in every 10 s: +33,750
    assert rows(plan) == [("steady", C, 0, 300, 50, 50, 258_750)]


def test_rates_ramps_filling_the_whole_duration_leave_no_steady_stage() -> None:
    plan = plan_of(base(duration_seconds=20, rates={"messagesPerSecond": 1, "rampUpSeconds": 10,
                                                    "rampDownSeconds": 10}))
    assert [s.name for s in plan.stages] == ["ramp-up", "ramp-down"]
    assert plan.expected_messages == 100


def test_flow_paces_the_sends_instead_of_rates() -> None:
    plan = plan_of(base(flow=[{"send": {"text": "x"}}, {"think": 2}]))
    # 10 connections x 60 s, one send per 2 s of think time: at most 300
    assert rows(plan) == [("steady", C, 0, 60, 10, 10, 300)]
    assert not plan.exact
    assert plan.stages[0].messages_per_second is None
    assert any("upper bounds" in note for note in plan.notes)


def test_think_range_counts_its_mean() -> None:
    plan = plan_of(base(rates=None, flow=[{"send": {"text": "x"}}, {"think": {"min": 1, "max": 3}}]))
    assert plan.expected_messages == 300


def test_flow_without_think_time_has_no_expected_count() -> None:
    plan = plan_of(base(rates=None, flow=[{"send": {"text": "x"}}]))
    assert plan.expected_messages is None
    assert any("as fast as the target answers" in note for note in plan.notes)


# --- Artillery phases ---------------------------------------------------------------------------


PHASES = [
    {"name": "ramp", "duration": 10, "arrivalRate": 5, "rampTo": 15},
    {"duration": 5, "pause": True},
    {"name": "count", "duration": 10, "arrivalCount": 30, "maxVusers": 12},
    {"name": "flat", "duration": "20s", "arrivalRate": 2},
]


def test_phases_with_ramp_pause_and_arrival_count() -> None:
    flow = [{"loop": {"count": 3, "steps": [{"send": {"text": "x"}}, {"think": 1}]}}, {"send": {"text": "y"}}]
    plan = plan_of(base(rates=None, phases=PHASES, flow=flow))
    assert plan.shape == "phases"
    # arrivals: 10 s x (5+15)/2 = 100; 30; 20 s x 2 = 40 -- each sends 3 + 1 = 4 messages
    assert rows(plan) == [
        ("ramp", A, 0, 10, 5, 15, 400),
        ("phase 2", IDLE, 10, 5, 0, 0, 0),
        ("count", A, 15, 10, 3, 3, 120),
        ("flat", A, 25, 20, 2, 2, 160),
    ]
    assert plan.stages[2].max_vus == 12
    assert plan.total_seconds == 45
    assert plan.expected_messages == 680 and plan.exact
    assert plan.stages[0].unit == "arrivals/s" and plan.stages[1].unit == ""


def test_phases_without_a_flow_count_one_message_per_arrival() -> None:
    plan = plan_of(base(rates=None, phases=[{"duration": 10, "arrivalRate": 3}]))
    assert plan.expected_messages == 30


# --- k6 executors -------------------------------------------------------------------------------


def test_constant_vus() -> None:
    plan = plan_of(base(rates=None, executor={"type": "constant-vus", "vus": 5, "duration": 30},
                        flow=[{"send": {"text": "a"}}, {"send": {"text": "b"}}, {"think": 3}]))
    assert rows(plan) == [("constant-vus", C, 0, 30, 5, 5, 100)]
    assert not plan.exact and plan.peak_connections == 5


def test_ramping_vus_with_rates_and_an_instant_stage() -> None:
    plan = plan_of(base(rates={"messagesPerSecond": 0.5}, executor={
        "type": "ramping-vus", "startVUs": 2,
        "stages": [{"duration": "10s", "target": 10}, {"duration": 0, "target": 4},
                   {"duration": "20s", "target": 0}]}))
    assert rows(plan) == [
        ("stage 1", C, 0, 10, 2, 10, 30),
        ("stage 2", C, 10, 0, 10, 4, 0),
        ("stage 3", C, 10, 20, 4, 0, 20),
    ]
    assert plan.peak_connections == 10 and plan.total_seconds == 30


def test_constant_arrival_rate_per_minute() -> None:
    plan = plan_of(base(rates=None, executor={"type": "constant-arrival-rate", "rate": 30, "timeUnit": "1m",
                                              "duration": "2m", "preAllocatedVUs": 5},
                        flow=[{"get": {"url": "/a"}}, {"post": {"url": "/b"}}]))
    # 30 per minute = 0.5/s for 120 s = 60 iterations of 2 requests
    assert rows(plan) == [("constant-arrival-rate", ITER, 0, 120, 0.5, 0.5, 120)]
    assert plan.stages[0].max_vus == 5 and plan.peak_connections == 5
    assert plan.stages[0].unit == "iterations/s"


def test_ramping_arrival_rate() -> None:
    plan = plan_of(base(rates=None, executor={
        "type": "ramping-arrival-rate", "startRate": 60, "timeUnit": "1m", "preAllocatedVUs": 2, "maxVUs": 10,
        "stages": [{"duration": "30s", "target": 120}, {"duration": "30s", "target": 0}]}))
    assert rows(plan) == [("stage 1", ITER, 0, 30, 1, 2, 45), ("stage 2", ITER, 30, 30, 2, 0, 30)]
    assert {s.max_vus for s in plan.stages} == {10}


def test_basic_load_example_is_100_requests_per_second_for_2_minutes() -> None:
    (example,) = [e for e in EXAMPLES["http"] if e.file_name == "http_basic_load.json"]
    plan = build_plan(load(example.data))
    assert rows(plan) == [("constant-arrival-rate", ITER, 0, 120, 100, 100, 12_000)]


# --- seed 001's ladder --------------------------------------------------------------------------


def test_ladder_with_cooldown_between_steps_only() -> None:
    plan = plan_of(base(rates={"messagesPerSecond": 0.25}, ladder={"cooldownSeconds": 15, "steps": [
        {"name": "a", "connections": 10, "rampUpSeconds": 10, "sustainSeconds": 20, "messageIntervalSeconds": 2},
        {"connections": 20, "sustainSeconds": 10},
    ]}))
    assert plan.shape == "ladder"
    assert rows(plan) == [
        ("a ramp", C, 0, 10, 0, 10, 25),
        ("a sustain", C, 10, 20, 10, 10, 100),
        ("a cooldown", IDLE, 30, 15, 0, 0, 0),
        ("step 2 sustain", C, 45, 10, 20, 20, 50),  # interval from rates: 1 / 0.25 = 4 s
    ]
    assert plan.peak_connections == 20 and plan.total_seconds == 55


def test_ladder_default_interval() -> None:
    plan = plan_of(base(rates=None, ladder={"steps": [{"connections": 10, "sustainSeconds": 10}]}))
    assert plan.expected_messages == 10 * 10 / DEFAULT_LADDER_INTERVAL_SECONDS


def test_progressive_example_runs_quick_medium_stress_with_cooldowns() -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == "websocket_progressive.json"]
    plan = build_plan(load(example.data))
    assert [(s.name, s.duration_seconds, s.end_level) for s in plan.stages] == [
        ("quick ramp", 10, 100), ("quick sustain", 30, 100), ("quick cooldown", 60, 0),
        ("medium ramp", 30, 1000), ("medium sustain", 120, 1000), ("medium cooldown", 60, 0),
        ("stress ramp", 60, 5000), ("stress sustain", 300, 5000),
    ]
    # messages: quick 100 x 30 s / 5 + ramp 50; medium 1000 x 120 / 10 + 1500; stress 5000 x 300 / 15 + 10000
    assert [s.expected_messages for s in plan.stages if s.kind is C] == pytest.approx(
        [100, 600, 1500, 12_000, 10_000, 100_000])
    assert plan.total_seconds == 670 and plan.peak_connections == 5000


@pytest.mark.parametrize("file_name, connections, ramp, sustain, messages", [
    ("websocket_quick.json", 100, 10, 30, 100 * 10 / 2 / 5 + 100 * 30 / 5),
    ("websocket_medium.json", 1000, 30, 120, 1000 * 30 / 2 / 10 + 1000 * 120 / 10),
    ("websocket_stress.json", 5000, 60, 300, 5000 * 60 / 2 / 15 + 5000 * 300 / 15),
])
def test_seed001_single_tests(file_name: str, connections: int, ramp: int, sustain: int, messages: float) -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == file_name]
    plan = build_plan(load(example.data))
    assert [(s.name, s.duration_seconds, s.end_level) for s in plan.stages] == [
        ("ramp-up", ramp, connections), ("steady", sustain, connections)]
    assert plan.expected_messages == pytest.approx(messages)


# --- MIXED --------------------------------------------------------------------------------------


MIXED_GROUPS = [
    {"name": "ws", "weight": 3, "protocol": "WEBSOCKET", "endpoint": "ws://127.0.0.1:8000/ws"},
    {"name": "mq", "weight": 1, "protocol": "MQTT", "endpoint": "127.0.0.1:1883", "rates": {"messagesPerSecond": 4}},
]


def test_mixed_shares_connections_by_weight() -> None:
    plan = plan_of(base(protocol="MIXED", endpoint=None, duration_seconds=10, connections=40,
                        rates={"messagesPerSecond": 2}, groups=MIXED_GROUPS))
    assert [(w.name, w.share, w.messages_per_second) for w in plan.workloads] == [("ws", 0.75, 2), ("mq", 0.25, 4)]
    # 400 connection-seconds: 75% at 2/s = 600, 25% at 4/s = 400
    assert plan.expected_messages == 1000
    assert plan.notes == ("group ws: 75% of connections", "group mq: 25% of connections")
    assert plan.protocol is Protocol.MIXED


def test_mixed_group_with_a_flow() -> None:
    groups = [{**MIXED_GROUPS[0], "weight": 1},
              {"name": "api", "protocol": "HTTP", "endpoint": "http://127.0.0.1:8000",
               "flow": [{"get": {"url": "/a"}}, {"think": 5}]}]
    plan = plan_of(base(protocol="MIXED", endpoint=None, duration_seconds=10, connections=40,
                        rates={"messagesPerSecond": 1}, groups=groups))
    # ws: 20 connections x 10 s x 1/s = 200; api: 20 x 10 s / 5 s = 40 (an upper bound)
    assert plan.expected_messages == 240 and not plan.exact


def test_mixed_with_phases() -> None:
    groups = [{**MIXED_GROUPS[0], "weight": 1},
              {"name": "api", "protocol": "HTTP", "endpoint": "http://127.0.0.1:8000",
               "flow": [{"get": {"url": "/a"}}, {"get": {"url": "/b"}}, {"get": {"url": "/c"}}]}]
    plan = plan_of(base(protocol="MIXED", endpoint=None, rates=None, groups=groups,
                        phases=[{"duration": 10, "arrivalRate": 10}]))
    # 100 arrivals, half run ws (one message), half run api (three requests)
    assert plan.expected_messages == 200


def test_mixed_example_plan() -> None:
    example = EXAMPLES["mixed"][0]
    plan = build_plan(load(example.data))
    assert [round(w.share, 2) for w in plan.workloads] == [0.6, 0.2, 0.2]
    assert [s.name for s in plan.stages] == ["ramp-up", "steady", "ramp-down"]
    # ramp-up 250 connection-seconds: ws 0.6 x 2/s, mqtt 0.2 x 5/s, http 0.2 / 2 s think
    assert plan.stages[0].expected_messages == pytest.approx(250 * (0.6 * 2 + 0.2 * 5 + 0.2 / 2))


# --- every example, and the plan's properties ---------------------------------------------------


@pytest.mark.parametrize("example", examples_for("all"), ids=lambda e: e.file_name)
def test_every_example_has_a_consistent_plan(example: Any) -> None:
    plan = build_plan(load(example.data))
    assert plan.scenario_name == example.name
    assert plan.stages and plan.total_seconds > 0
    clock = 0.0
    for stage in plan.stages:
        assert stage.start_seconds == pytest.approx(clock)
        clock += stage.duration_seconds
        assert stage.expected_messages is None or stage.expected_messages >= 0
    assert sum(w.share for w in plan.workloads) == pytest.approx(1.0)


def test_seed003_env_scales_the_plan() -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == "agents_quick.json"]
    assert build_plan(load(example.data)).expected_messages == 100 * 10
    scaled = build_plan(load(example.data, env={"CONNECTIONS": "250", "MESSAGES": "30"}))
    assert scaled.expected_messages == 250 * 30


def test_artillery_staging_phases_as_in_the_seed() -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == "artillery_staging.json"]
    plan = build_plan(load(example.data))
    assert [(s.name, s.duration_seconds, s.start_level, s.end_level) for s in plan.stages] == [
        ("Warm-up", 60, 10, 100), ("Ramp-up", 300, 100, 1000), ("Sustained load", 1800, 1000, 1000),
        ("Peak load", 300, 1000, 2000), ("Ramp-down", 180, 2000, 100)]
    assert plan.total_seconds == 2640  # "~42 minutes"


def test_communication_flow_counts() -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == "agents_communication_flow.json"]
    (load_,) = build_plan(load(example.data)).workloads
    # subscribe x2, 20 x (ping + agent_message), unsubscribe, disconnect message; 20 x (5 + 3) s of think
    assert (load_.sends_per_iteration, load_.think_seconds) == (44, 160)


def test_expected_messages_is_unknown_if_any_stage_is() -> None:
    plan = plan_of(base(rates=None, phases=None, flow=[{"send": {"text": "x"}}]))
    assert plan.stages[0].expected_messages is None and plan.expected_messages is None


# --- plan gaps ------------------------------------------------------------------------------------


def test_model_bug_peak_connections_of_arrival_phases() -> None:
    (example,) = [e for e in EXAMPLES["websocket"] if e.file_name == "artillery_quick.json"]
    assert build_plan(load(example.data)).peak_connections > 0


def test_mixed_top_level_flow_is_rejected() -> None:
    """Was accepted and then ignored by the plan (0 messages expected)."""
    data = base(protocol="MIXED", endpoint=None, rates=None, flow=[{"send": {"text": "x"}}, {"think": 1}],
                groups=[{"name": "a", "protocol": "WEBSOCKET", "endpoint": "ws://127.0.0.1/ws"}])
    (problem,) = data_problems(data)
    assert problem.message == "a MIXED scenario's flow belongs in each group (groups[].flow), not at the top"


@pytest.mark.parametrize(("share", "text"), [(0.6, "60%"), (1 / 1001, "0.1%"), (0.0042, "0.42%"),
                                             (1000 / 1001, "99.9%"), (1.0, "100%")])
def test_a_small_groups_share_never_reads_as_zero(share: float, text: str) -> None:
    assert share_text(share) == text
