"""The table of malformed scenarios: each with the exact problem the loader must report.

Shared by ``test_loader.py`` (through ``load_scenario_text``) and ``test_cli_validate.py``
(through ``streamtestbench validate``, which must exit with code 2 and print no traceback).

``line`` is computed from the text (the line the offending key or item is on) so a reader can
check it by eye: ``at('"rates"')`` is the line where ``"rates"`` first appears.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._support import as_json, base, line_of

LineSpec = int | None | Callable[[str], int] | str
ANY = "<any>"
"""For cross-field errors raised by a model validator: where they point is not asserted here."""

STEPS = "connect, send, expect, subscribe, unsubscribe, loop, think, disconnect, request, graphql, rpc, mcp, publish"
PROTOCOLS = "'WEBSOCKET', 'MQTT', 'HTTP', 'GRAPHQL', 'JSONRPC', 'NATS' or 'MIXED'"
PAYLOADS = "'VOICE_DATA', 'BEHAVIORAL_DATA', 'SESSION_DATA', 'METRICS', 'HEARTBEAT' or 'CUSTOM'"


def at(needle: str, offset: int = 0, occurrence: int = 1) -> Callable[[str], int]:
    return lambda text: line_of(text, needle, occurrence) + offset


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    path: str
    message: str
    line: LineSpec = None
    hint: str | None = None
    source: str = "s.json"
    exact: bool = True
    """False: the message must start with ``message`` (an allowed-keys list the model may extend)."""
    count: int = 1
    env: tuple[tuple[str, str], ...] = ()

    def expected_line(self) -> int | str | None:
        if callable(self.line):
            return self.line(self.text)
        return self.line


def j(**changes: Any) -> str:
    return as_json(base(**changes))


def mixed(groups: list[dict[str, Any]]) -> str:
    return j(protocol="MIXED", endpoint=None, rates=None, groups=groups)


MQTT_GROUP = {"name": "a", "protocol": "MQTT", "endpoint": "127.0.0.1:1883"}

YAML_NESTED = """\
name: T
protocol: WEBSOCKET
endpoint: ws://127.0.0.1:8000/ws
duration_seconds: 60
connections: 10
rates:
  messagesPerSecond: 1
  burstMultipler: 2
flow:
  - connect: {}
  - loop:
      count: 2
      steps:
        - think: 1
        - sned: hi
"""

CASES: list[Case] = [
    # --- misspelt keys: "unknown field" with the allowed keys and a "did you mean" hint ---------
    Case("rates-key-typo", j(rates={"messagesPerSeconds": 10.0}), "rates.messagesPerSeconds",
         "unknown field 'messagesPerSeconds'; allowed: messagesPerSecond, burstMultiplier, "
         "burstIntervalSeconds, burstDurationSeconds, rampUpSeconds, rampDownSeconds",
         at('"messagesPerSeconds"'), "did you mean 'messagesPerSecond'?", exact=False),
    Case("top-key-typo", j(connections=None, conections=5), "conections",
         "unknown field 'conections'; allowed: ", at('"conections"'), "did you mean 'connections'?",
         exact=False),
    Case("duration-camel-case", j(duration_seconds=None, durationSeconds=60), "durationSeconds",
         "unknown field 'durationSeconds'; allowed: ", at('"durationSeconds"'),
         "did you mean 'duration_seconds'?", exact=False),
    Case("unknown-key-no-hint", j(zzzqqq=1), "zzzqqq", "unknown field 'zzzqqq'; allowed: ", at('"zzzqqq"'),
         exact=False),
    Case("yaml-key-typo", YAML_NESTED.replace("        - sned: hi\n", "        - think: 2\n"),
         "rates.burstMultipler",
         "unknown field 'burstMultipler'; allowed: messagesPerSecond, burstMultiplier, burstIntervalSeconds, "
         "burstDurationSeconds, rampUpSeconds, rampDownSeconds", 8, "did you mean 'burstMultiplier'?",
         source="s.yaml", exact=False),
    Case("failure-injection-key-typo", j(failureInjection={"networkDelay": {}}), "failureInjection.networkDelay",
         "unknown field 'networkDelay'; allowed: enabled, networkDelays, duplicateMessages, schemaDrift, "
         "connectionDrops", at('"networkDelay"'), "did you mean 'networkDelays'?", exact=False),
    Case("auth-key-typo", j(authentication={"type": "BEARER_TOKEN", "credentail": {"token": "x"}}),
         "authentication.credentail", "unknown field 'credentail'; allowed: type, credentials, login",
         at('"credentail"'), "did you mean 'credentials'?", exact=False),
    Case("phase-key-typo", j(rates=None, phases=[{"duration": 10, "arivalRate": 2}]), "phases[0].arivalRate",
         "unknown field 'arivalRate'; allowed: name, duration, arrivalRate, rampTo, arrivalCount, maxVusers, pause",
         at('"arivalRate"'), "did you mean 'arrivalRate'?", exact=False),
    Case("executor-key-case", j(executor={"type": "constant-arrival-rate", "rate": 10, "duration": "1m",
                                          "preallocatedVus": 10}),
         "executor.preallocatedVus", "unknown field 'preallocatedVus'; allowed: ", at('"preallocatedVus"'),
         "did you mean 'preAllocatedVUs'?", exact=False),
    Case("validation-key-case", j(validation={"maxP95LatencyMS": 2}), "validation.maxP95LatencyMS",
         "unknown field 'maxP95LatencyMS'; allowed: ", at('"maxP95LatencyMS"'), "did you mean 'maxP95LatencyMs'?",
         exact=False),
    Case("group-key-typo", mixed([{**MQTT_GROUP, "wieght": 2}]), "groups[0].wieght",
         "unknown field 'wieght'; allowed: ", at('"wieght"'), "did you mean 'weight'?", exact=False),
    Case("nested-step-field-typo",
         j(flow=[{"loop": {"count": 2, "steps": [{"send": {"text": "x", "expct": {}}}]}}]),
         "flow[0].loop.steps[0].send.expct",
         "unknown field 'expct'; allowed: json, text, payload, sizeBytes, expect", at('"expct"'),
         "did you mean 'expect'?", exact=False),
    Case("range-end-misnamed",
         j(failureInjection={"networkDelays": {"rangeMs": {"start": 50, "end": 500}, "probability": 0.1}}),
         "failureInjection.networkDelays.rangeMs.endInclusive", "required field is missing", at('"rangeMs"'),
         'add "endInclusive"', count=2),
    # --- closed vocabularies: the choices, and the nearest one ---------------------------------
    Case("protocol-typo", j(protocol="WEBSOKET"), "protocol", f"input should be {PROTOCOLS}", at('"protocol"'),
         "did you mean 'WEBSOCKET'?"),
    Case("protocol-unknown", j(protocol="FTP"), "protocol", f"input should be {PROTOCOLS}", at('"protocol"')),
    Case("payload-typo", j(payloads=["VOICE_DATA", "VOICE_DAT"]), "payloads[1]", f"input should be {PAYLOADS}",
         at('"VOICE_DAT"'), "did you mean 'VOICE_DATA'?"),
    Case("auth-type-typo", j(authentication={"type": "BEARER_TOKN", "credentials": {"token": "x"}}),
         "authentication.type", "input should be 'BEARER_TOKEN', 'BASIC_AUTH', 'API_KEY', 'JWT' or 'NONE'",
         at('"BEARER_TOKN"'), "did you mean 'BEARER_TOKEN'?"),
    Case("mutation-type-typo",
         j(failureInjection={"schemaDrift": {"probability": 0.1,
                                             "mutations": [{"type": "ADD_FIELDS", "fieldPath": "x"}]}}),
         "failureInjection.schemaDrift.mutations[0].type",
         "input should be 'ADD_FIELD', 'REMOVE_FIELD', 'RENAME_FIELD', 'CHANGE_TYPE' or 'NULL_FIELD'",
         at('"ADD_FIELDS"'), "did you mean 'ADD_FIELD'?"),
    Case("executor-type-typo", j(rates=None, executor={"type": "ramping-vu",
                                                       "stages": [{"duration": "5s", "target": 5}]}),
         "executor.type",
         "input should be 'constant-vus', 'ramping-vus', 'constant-arrival-rate' or 'ramping-arrival-rate'",
         at('"ramping-vu"'), "did you mean 'ramping-vus'?"),
    Case("http-method-unknown", j(flow=[{"request": {"method": "FETCH", "url": "/x"}}]), "flow[0].request.method",
         "input should be 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD' or 'OPTIONS'", at('"FETCH"'),
         "did you mean 'PATCH'?"),
    Case("mqtt-qos", j(protocol="MQTT", endpoint="127.0.0.1:1883", mqtt={"qos": 3}), "mqtt.qos",
         "input should be 0, 1 or 2", at('"qos"')),
    Case("mqtt-version", j(protocol="MQTT", endpoint="127.0.0.1:1883", mqtt={"version": "5.0"}), "mqtt.version",
         "input should be '3.1.1' or '5'", at('"version"')),
    # --- missing and out-of-range values ---------------------------------------------------------
    Case("name-missing", j(name=None), "name", "required field is missing", 1, 'add "name"'),
    Case("name-empty", j(name=""), "name", "string should have at least 1 character", at('"name"')),
    Case("name-too-long", j(name="x" * 201), "name", "string should have at most 200 characters", at('"name"')),
    Case("duration-negative", j(duration_seconds=-5), "duration_seconds", "input should be greater than 0, got -5",
         at('"duration_seconds"')),
    Case("duration-not-a-number", j(duration_seconds="abc"), "duration_seconds",
         'input should be a valid number, unable to parse string as a number, got "abc"', at('"duration_seconds"')),
    Case("duration-over-a-week", j(duration_seconds=8 * 86400), "duration_seconds",
         "input should be less than or equal to 604800, got 691200", at('"duration_seconds"')),
    Case("connections-zero", j(connections=0), "connections",
         "input should be greater than or equal to 1, got 0", at('"connections"')),
    Case("connections-fraction", j(connections=1.5), "connections",
         "input should be a valid integer, got a number with a fractional part", at('"connections"')),
    Case("connections-text", j(connections="many"), "connections",
         'input should be a valid integer, unable to parse string as an integer, got "many"', at('"connections"')),
    Case("rate-zero", j(rates={"messagesPerSecond": 0}), "rates.messagesPerSecond",
         "input should be greater than 0, got 0", at('"messagesPerSecond"')),
    Case("rate-missing", j(rates={"burstMultiplier": 2}), "rates.messagesPerSecond", "required field is missing",
         at('"rates"'), 'add "messagesPerSecond"'),
    Case("burst-below-one", j(rates={"messagesPerSecond": 1, "burstMultiplier": 0.5}), "rates.burstMultiplier",
         "input should be greater than or equal to 1, got 0.5", at('"burstMultiplier"')),
    Case("burst-longer-than-interval", j(rates={"messagesPerSecond": 1, "burstDurationSeconds": 20}), "rates",
         "burstDurationSeconds (20) must not exceed burstIntervalSeconds (10)", at('"rates"')),
    Case("ramps-exceed-duration", j(rates={"messagesPerSecond": 1, "rampUpSeconds": 40, "rampDownSeconds": 30}),
         ANY, "rampUpSeconds + rampDownSeconds (70) exceed duration_seconds (60)", ANY),
    Case("payloads-not-a-list", j(payloads="VOICE_DATA"), "payloads",
         'input should be a valid list, got "VOICE_DATA"', at('"payloads"')),
    Case("rates-not-a-mapping", j(rates=[1]), "rates", "input should be a valid dictionary or instance of Rates",
         at('"rates"')),
    Case("probability-above-one",
         j(failureInjection={"networkDelays": {"rangeMs": {"start": 50, "endInclusive": 500},
                                               "probability": 1.5}}),
         "failureInjection.networkDelays.probability", "input should be less than or equal to 1, got 1.5",
         at('"probability"')),
    Case("range-reversed",
         j(failureInjection={"networkDelays": {"rangeMs": {"start": 500, "endInclusive": 50},
                                               "probability": 0.1}}),
         "failureInjection.networkDelays.rangeMs", "endInclusive (50) must be >= start (500)", at('"rangeMs"')),
    Case("mutations-empty", j(failureInjection={"schemaDrift": {"probability": 0.1, "mutations": []}}),
         "failureInjection.schemaDrift.mutations", "list should have at least 1 item after validation, not 0",
         at('"mutations"')),
    Case("auth-login-not-bearer", j(authentication={"type": "BASIC_AUTH", "login": {"url": "/auth/login"}}),
         "authentication", "a login step supplies a bearer token: use type BEARER_TOKEN with it",
         at('"authentication"')),
    Case("bearer-without-token", j(authentication={"type": "BEARER_TOKEN", "credentials": {}}), "authentication",
         "BEARER_TOKEN needs credentials.token", at('"authentication"')),
    Case("basic-auth-without-password", j(authentication={"type": "BASIC_AUTH", "credentials": {"username": "u"}}),
         "authentication", "BASIC_AUTH needs credentials.password", at('"authentication"')),
    Case("api-key-in-body", j(authentication={"type": "API_KEY", "credentials": {"key": "k", "in": "body"}}),
         "authentication", "API_KEY credentials.in must be 'header' or 'query'", at('"authentication"')),
    Case("rename-without-new-name",
         j(failureInjection={"schemaDrift": {"probability": 0.1,
                                             "mutations": [{"type": "RENAME_FIELD", "fieldPath": "x"}]}}),
         "failureInjection.schemaDrift.mutations[0]", "RENAME_FIELD needs newName (the field's new name)",
         at('"mutations"', 1)),
    Case("connections-boolean", j(connections=True), "connections", "expected a number, got true",
         at('"connections"')),
    Case("validation-error-rate", j(validation={"maxErrorRate": 2}), "validation.maxErrorRate",
         "input should be less than or equal to 1, got 2", at('"maxErrorRate"')),
    Case("endpoint-spaces", j(endpoint="ws://127.0.0.1 :8000"), "endpoint",
         "endpoint must be a URL or host:port/path without spaces", at('"endpoint"')),
    Case("endpoint-missing", j(endpoint=None), ANY, "endpoint is required for WEBSOCKET", ANY),
    Case("endpoint-wrong-scheme", j(endpoint="http://127.0.0.1:8000/ws"), ANY,
         "scheme 'http://' does not fit WEBSOCKET; use ws:// or wss://", ANY),
    # --- MIXED groups and load shapes ----------------------------------------------------------
    Case("mixed-without-groups", j(protocol="MIXED"), "groups", "protocol MIXED needs groups (one per protocol, "
         "with weights)", 1),
    Case("groups-without-mixed", j(groups=[MQTT_GROUP]), ANY,
         "groups are for protocol MIXED; this scenario is WEBSOCKET", ANY),
    Case("group-names-repeated", mixed([MQTT_GROUP, MQTT_GROUP]), ANY,
         "group names must be unique; repeated: a", ANY),
    Case("group-protocol-mixed", mixed([{"name": "a", "protocol": "MIXED"}]), "groups[0]",
         "a group's protocol must be a single protocol, not MIXED", at('"name": "a"', -1)),
    Case("group-weight-zero", mixed([{**MQTT_GROUP, "weight": 0}]), "groups[0].weight",
         "input should be greater than 0, got 0", at('"weight"')),
    Case("group-endpoint-missing", mixed([{"name": "a", "protocol": "MQTT"}]), "groups[0]",
         "endpoint is required for MQTT", at('"name": "a"', -1)),
    Case("mixed-top-level-flow", as_json(base(protocol="MIXED", endpoint=None, flow=[{"think": 1}],
                                              groups=[MQTT_GROUP])), ANY,
         "a MIXED scenario's flow belongs in each group (groups[].flow), not at the top", ANY),
    Case("two-load-shapes", j(phases=[{"duration": 10, "arrivalRate": 1}],
                              executor={"type": "constant-vus", "vus": 1, "duration": 10}),
         "", "choose one load shape; this scenario sets phases and executor", 1),
    Case("no-duration", j(duration_seconds=None), "",
         "duration_seconds is required (or give phases, executor or ladder)", 1),
    Case("phase-without-arrivals", j(rates=None, phases=[{"duration": 10}]), "phases[0]",
         "a phase needs exactly one of arrivalRate, arrivalCount (or pause: true)", at('"phases"', 1)),
    Case("phase-ramp-without-rate", j(rates=None, phases=[{"duration": 10, "rampTo": 3, "arrivalCount": 3}]),
         "phases[0]", "rampTo needs arrivalRate (the rate it ramps from)", at('"phases"', 1)),
    Case("phase-pause-with-rate", j(rates=None, phases=[{"duration": 10, "pause": True, "arrivalRate": 2}]),
         "phases[0]", "a pause phase takes no arrivalRate or arrivalCount", at('"phases"', 1)),
    Case("executor-needs-vus", j(rates=None, executor={"type": "constant-arrival-rate", "rate": 10,
                                                       "duration": "1m"}),
         "executor", "executor type constant-arrival-rate needs preAllocatedVUs", at('"executor"')),
    Case("executor-max-below-prealloc", j(rates=None, executor={"type": "constant-arrival-rate", "rate": 10,
                                                                "duration": "1m", "preAllocatedVUs": 10,
                                                                "maxVUs": 5}),
         "executor", "maxVUs (5) must be >= preAllocatedVUs (10)", at('"executor"')),
    Case("executor-duration-unit", j(rates=None, executor={"type": "constant-vus", "vus": 3, "duration": "1x"}),
         "executor.duration", 'input should be a valid number, unable to parse string as a number, got "1x"',
         at('"1x"')),
    Case("stage-target-negative", j(rates=None, executor={"type": "ramping-vus",
                                                          "stages": [{"duration": "5s", "target": -1}]}),
         "executor.stages[0].target", "input should be greater than or equal to 0, got -1", at('"target"')),
    Case("ladder-empty", j(rates=None, ladder={"steps": []}), "ladder.steps",
         "list should have at least 1 item after validation, not 0", at('"steps"')),
    Case("ladder-step-sustain-missing", j(rates=None, ladder={"steps": [{"connections": 10}]}),
         "ladder.steps[0].sustainSeconds", "required field is missing", at('"steps"', 1), 'add "sustainSeconds"'),
    # --- flow steps ----------------------------------------------------------------------------
    Case("step-unknown", j(flow=[{"sned": "x"}]), "flow[0]", f"unknown step 'sned'; steps: {STEPS}",
         at('"flow"', 1), "did you mean 'send'?"),
    Case("step-two-actions", j(flow=[{"send": "x", "think": 2}]), "flow[0]",
         f"a step has exactly one action key, got send, think; steps: {STEPS}", at('"flow"', 1)),
    Case("step-empty", j(flow=[{}]), "flow[0]", f"empty step; steps: {STEPS}", at('"flow"', 1)),
    Case("step-not-a-mapping", j(flow=["ping"]), "flow[0]", "a step is a mapping with one action key, got text",
         at('"ping"'), f'for example {{"think": 5}}; steps: {STEPS}'),
    Case("yaml-nested-step-unknown", YAML_NESTED.replace("  burstMultipler: 2\n", ""),
         "flow[1].loop.steps[1]", f"unknown step 'sned'; steps: {STEPS}", 14, "did you mean 'send'?",
         source="s.yaml"),
    Case("send-without-body", j(flow=[{"send": {}}]), "flow[0].send", "send needs exactly one of json, text, payload",
         at('"send"')),
    Case("send-two-bodies", j(flow=[{"send": {"text": "a", "json": {}}}]), "flow[0].send",
         "send needs exactly one of json, text, payload", at('"send"')),
    Case("loop-count-zero", j(flow=[{"loop": {"count": 0, "steps": [{"think": 1}]}}]), "flow[0].loop.count",
         "input should be greater than or equal to 1, got 0", at('"count"')),
    Case("think-negative", j(flow=[{"think": -1}]), "flow[0].think.seconds",
         "input should be greater than or equal to 0, got -1", at('"think"')),
    Case("think-range-reversed", j(flow=[{"think": {"min": 5, "max": 1}}]), "flow[0].think",
         "think max (1) must be >= min (5)", at('"think"')),
    Case("subscribe-channel-and-topic", j(flow=[{"subscribe": {"channel": "a", "topic": "b"}}]),
         "flow[0].subscribe", "give exactly one of channel (WebSocket) or topic (MQTT)", at('"subscribe"')),
    Case("request-without-url", j(flow=[{"request": {"method": "GET"}}]), "flow[0].request.url",
         "required field is missing", at('"request"'), 'add "url"'),
    Case("check-without-kind", j(flow=[{"request": {"url": "/x", "check": [{}]}}]), "flow[0].request.check[0]",
         "a check needs exactly one of status, jsonPath, contains, header", at('"check"', 1)),
    Case("capture-without-source", j(flow=[{"request": {"url": "/x", "capture": [{"as": "x"}]}}]),
         "flow[0].request.capture[0]", "a capture needs exactly one of json, header", at('"capture"', 1)),
    Case("disconnect-code", j(flow=[{"disconnect": {"code": 999}}]), "flow[0].disconnect.code",
         "input should be greater than or equal to 1000, got 999", at('"code"')),
    Case("graphql-without-query", j(flow=[{"graphql": {"variables": {}}}]), "flow[0].graphql.query",
         "required field is missing", at('"graphql"'), 'add "query"'),
    # --- environment, syntax and shape of the file --------------------------------------------
    Case("env-missing", j(endpoint="${WS_URL}"), "endpoint", "environment variable WS_URL is not set",
         at('"endpoint"'), "export WS_URL=... or write ${WS_URL:-default}"),
    Case("env-bad-number", j(connections="${CONNECTIONS:-100}"), "connections",
         'input should be a valid integer, unable to parse string as an integer, got "many"', at('"connections"'),
         env=(("CONNECTIONS", "many"),)),
    Case("top-level-list", "[1, 2]\n", "", "a scenario is a mapping of fields, got a list", 1,
         'start the file with {"name": ..., "protocol": ...}'),
    Case("top-level-text", '"just text"\n', "", "a scenario is a mapping of fields, got text", 1,
         'start the file with {"name": ..., "protocol": ...}'),
    Case("empty-yaml", "# nothing here\n", "", "a scenario is a mapping of fields, got null", 1,
         'start the file with {"name": ..., "protocol": ...}', source="s.yaml"),
    Case("json-trailing-comma", '{\n  "name": "T",\n  "connections": 3,\n}\n', "",
         "invalid JSON: Expecting property name enclosed in double quotes (column 1)", 4,
         "check for a missing comma, an unquoted key or a trailing comma before } or ]"),
    Case("json-missing-comma", '{\n  "name": "T"\n  "connections": 3\n}\n', "",
         "invalid JSON: Expecting ',' delimiter (column 3)", 3,
         "check for a missing comma, an unquoted key or a trailing comma before } or ]"),
    Case("json-duplicate-key", '{\n  "name": "T",\n  "connections": 3,\n  "name": "U"\n}\n', "name",
         "key 'name' appears twice in one object", 4, "keep one of them"),
    Case("yaml-tab-indent", "name: T\nrates:\n\tmessagesPerSecond: 1\n", "",
         "invalid YAML: found character '\\t' that cannot start any token", 3,
         "check indentation and that every key is followed by ': '", source="s.yaml"),
    Case("yaml-unclosed-flow", "name: T\nrates: {messagesPerSecond: 1\n", "",
         "invalid YAML: expected ',' or '}', but got '<stream end>'", 3,
         "check indentation and that every key is followed by ': '", source="s.yaml"),
    Case("bracket-key", j(**{"[": 1}), "[", "unknown field '['; allowed: ", at('"["'), exact=False),
    Case("json-nested-too-deep", "[" * 100_000, "",
         "cannot parse: RecursionError: maximum recursion depth exceeded while decoding a JSON array from a "
         "unicode string", None, "nesting that deep or numbers that long are not a scenario"),
    Case("yaml-number-too-long", "name: T\nconnections: " + "9" * 5000 + "\n", "",
         "cannot parse: ValueError: Exceeds the limit (4300 digits) for integer string conversion", None,
         "nesting that deep or numbers that long are not a scenario", source="s.yaml", exact=False),
    Case("yaml-unsafe-tag", "name: !!python/object:os.system {}\n", "",
         "invalid YAML: could not determine a constructor for the tag "
         "'tag:yaml.org,2002:python/object:os.system'", 1,
         "check indentation and that every key is followed by ': '", source="s.yaml"),
]
