"""Print an execution plan as k6 prints its execution requirements: plain, aligned text."""

from __future__ import annotations

from ..scenario.plan import ExecutionPlan, PlanStage, StageKind


def _level(stage: PlanStage) -> str:
    if stage.kind is StageKind.IDLE:
        return "-"
    unit = stage.unit
    if stage.start_level == stage.end_level:
        text = f"{stage.start_level:g} {unit}"
    else:
        text = f"{stage.start_level:g} -> {stage.end_level:g} {unit}"
    if stage.messages_per_second:
        text += f" x {stage.messages_per_second:g} msg/s"
    if stage.max_vus:
        text += f" (max {stage.max_vus} VUs)"
    return text


def _count(value: float | None, exact: bool) -> str:
    if value is None:
        return "unbounded"
    return f"{'' if exact else '~'}{round(value):,}"


def _seconds(value: float) -> str:
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"


def render_plan(plan: ExecutionPlan) -> str:
    rows = [("stage", "start", "duration", "load", "messages")]
    rows += [(s.name, _seconds(s.start_seconds), _seconds(s.duration_seconds), _level(s),
              _count(s.expected_messages, s.exact)) for s in plan.stages]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"scenario: {plan.scenario_name}",
        f"protocol: {plan.protocol.value}   load shape: {plan.shape}   "
        f"total: {_seconds(plan.total_seconds)}   peak connections: {plan.peak_connections:,}   "
        f"expected messages: {_count(plan.expected_messages, plan.exact)}",
    ]
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) if i < 3 else cell.rjust(width) if i == 4 else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        lines.append("  " + "  ".join(cells).rstrip())
        if index == 0:
            lines.append("  " + "  ".join("-" * width for width in widths))
    lines += [f"  note: {note}" for note in plan.notes]
    return "\n".join(lines)
