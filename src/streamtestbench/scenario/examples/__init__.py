"""Example scenarios, one set per protocol, written by ``streamtestbench generate``.

Every example comes from a seed: seed 000's scenario format (its two examples verbatim,
and its "Basic Structure" filled in), seed 001's quick/medium/stress/progressive WebSocket
tests, seed 003's agent-message tests and Artillery phases, seed 004's HTTP, GraphQL,
WebSocket and MCP tests. They aim at loopback only (``127.0.0.1`` / ``localhost``);
``${VAR:-default}`` lets a run point them elsewhere on the same machine or scale them
(``CONNECTIONS=250 MESSAGES=30``) without editing the file.

The examples are data, so ``streamtestbench validate`` and the tests check that each one
loads and gives an execution plan.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .mixed import MIXED_PROTOCOLS
from .mqtt import MQTT_PUBSUB_FLOW, MQTT_QOS1
from .seed000 import BASIC_STRUCTURE, MOBILE_SYNC_TEST, MQTT_GRAPHQL_LOAD
from .seed001 import FANOUT_NATS, WS_MEDIUM, WS_PROGRESSIVE, WS_QUICK, WS_STRESS
from .seed003 import AGENTS_FLOW, AGENTS_HEAVY, AGENTS_MEDIUM, AGENTS_QUICK, ARTILLERY_QUICK, ARTILLERY_STAGING
from .seed004 import (
    GRAPHQL_QUERY_MUTATION,
    HTTP_BASIC_LOAD,
    K6_RAMPING_ARRIVAL_RATE,
    K6_RAMPING_VUS,
    MCP_TOOLS,
    REST_CRUD,
    WS_SUBSCRIBE_PUBLISH,
)

__all__ = [
    "EXAMPLES",
    "EXAMPLE_KINDS",
    "FORMATS",
    "KEY_ORDER",
    "Example",
    "examples_for",
    "ordered",
    "render_example",
    "write_examples",
]


@dataclass(frozen=True)
class Example:
    """One example scenario: the file it is written to and its content as plain data."""

    file_name: str
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])


KEY_ORDER: tuple[str, ...] = (
    "name", "description", "protocol", "endpoint",
    "duration_seconds", "connections", "rates", "phases", "executor", "ladder", "groups",
    "payloads", "mqtt", "failureInjection", "authentication", "flow", "validation",
    "variables", "seed",
)
"""Top-level keys in the order a reader wants them: what it is, where it goes, how much load."""

FORMATS: tuple[str, ...] = ("json", "yaml")


class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared between places in full each time, never as a YAML anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _example(file_name: str, data: dict[str, Any]) -> Example:
    return Example(file_name, copy.deepcopy(data))


EXAMPLES: dict[str, list[Example]] = {
    "websocket": [
        _example("mobile_sync_stress.json", MOBILE_SYNC_TEST),
        _example("basic_structure.json", BASIC_STRUCTURE),
        _example("websocket_quick.json", WS_QUICK),
        _example("websocket_medium.json", WS_MEDIUM),
        _example("websocket_stress.json", WS_STRESS),
        _example("websocket_progressive.json", WS_PROGRESSIVE),
        _example("agents_quick.json", AGENTS_QUICK),
        _example("agents_medium.json", AGENTS_MEDIUM),
        _example("agents_heavy.json", AGENTS_HEAVY),
        _example("agents_communication_flow.json", AGENTS_FLOW),
        _example("artillery_quick.json", ARTILLERY_QUICK),
        _example("artillery_staging.json", ARTILLERY_STAGING),
        _example("websocket_subscribe_publish.json", WS_SUBSCRIBE_PUBLISH),
    ],
    "mqtt": [
        _example("mqtt_graphql_load.json", MQTT_GRAPHQL_LOAD),
        _example("mqtt_qos1.json", MQTT_QOS1),
        _example("mqtt_pubsub_flow.json", MQTT_PUBSUB_FLOW),
    ],
    "http": [
        _example("http_basic_load.json", HTTP_BASIC_LOAD),
        _example("rest_crud.json", REST_CRUD),
        _example("k6_ramping_vus.json", K6_RAMPING_VUS),
        _example("k6_ramping_arrival_rate.json", K6_RAMPING_ARRIVAL_RATE),
    ],
    "graphql": [_example("graphql_query_mutation.json", GRAPHQL_QUERY_MUTATION)],
    "mcp": [_example("mcp_tools.json", MCP_TOOLS)],
    "mixed": [_example("mixed_protocols.json", MIXED_PROTOCOLS), _example("fanout_nats.json", FANOUT_NATS)],
}
"""The examples by kind; ``generate --type all`` writes every one into one directory."""

EXAMPLE_KINDS: tuple[str, ...] = (*EXAMPLES, "all")


def examples_for(kind: str) -> list[Example]:
    """The examples of one kind (``websocket`` ... ``mixed``), or all of them for ``all``."""
    key = kind.strip().lower()
    if key == "all":
        return [example for group in EXAMPLES.values() for example in group]
    if key not in EXAMPLES:
        raise ValueError(f"unknown example type {kind!r}; choose one of {', '.join(EXAMPLE_KINDS)}")
    return list(EXAMPLES[key])


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its top-level keys in :data:`KEY_ORDER`; keys it does not name keep their order."""
    rank = {key: index for index, key in enumerate(KEY_ORDER)}
    keys = sorted(data, key=lambda key: rank.get(key, len(rank)))
    return {key: data[key] for key in keys}


def render_example(example: Example, fmt: str = "json") -> str:
    """The file text of ``example``: JSON with a 2-space indent, or block-style YAML."""
    data = ordered(example.data)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        text: str = yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=100)
        return text
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _file_name(example: Example, fmt: str) -> str:
    stem = example.file_name.rsplit(".", 1)[0] if example.file_name.endswith(".json") else example.file_name
    return f"{stem}.{fmt}"


def write_examples(kind: str, directory: Path, fmt: str = "json") -> list[Path]:
    """Write the examples of ``kind`` (or ``all``) into ``directory``; return the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    chosen = examples_for(kind)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for example in chosen:
        path = directory / _file_name(example, fmt)
        path.write_text(render_example(example, fmt), encoding="utf-8")
        written.append(path)
    return written
