"""Failure injection on HTTP requests: drift on the wire bytes, duplicates, delays and connection drops."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson

from streamtestbench.faults import Injector
from streamtestbench.flows.http_faults import drift_request
from streamtestbench.scenario.injection import FailureInjection
from tests.flows.test_http import EchoServer, make_scenario, one_pass, run
from tests.protocols.test_http_client import ListRecorder


def injection(**blocks: Any) -> dict[str, Any]:
    return {"enabled": True, **blocks}


DRIFT = {"enabled": True, "probability": 1.0, "mutations": [{"type": "REMOVE_FIELD", "fieldPath": "secret"}]}


def test_drift_rewrites_the_body_and_its_content_length_only() -> None:
    injector = Injector.from_scenario(FailureInjection.model_validate(injection(schemaDrift=DRIFT)),
                                      random.Random(1), ListRecorder())
    assert injector is not None
    body = orjson.dumps({"keep": 1, "secret": "x" * 20})
    request = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\nX-Other: 5\r\n\r\n" % len(body) + body
    head, _, drifted = drift_request(injector, request).partition(b"\r\n\r\n")
    assert orjson.loads(drifted) == {"keep": 1}
    assert b"Content-Length: %d\r\n" % len(drifted) in head + b"\r\n" and b"X-Other: 5" in head
    bodiless = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    assert drift_request(injector, bodiless) == bodiless


def test_duplicates_reach_the_server_and_drift_changes_what_it_gets() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"post": {"url": "/items", "json": {"keep": 1, "secret": 2}}}],
                                     failureInjection=injection(
                                         schemaDrift=DRIFT,
                                         duplicateMessages={"enabled": True, "probability": 1.0, "maxDuplicates": 1}))
            behaviour = await one_pass(scenario, recorder)
            for _ in range(100):
                if len(server.requests) == 2:
                    break
                await asyncio.sleep(0.01)
            await behaviour.close()
            assert [orjson.loads(body) for _, _, _, body in server.requests] == [{"keep": 1}, {"keep": 1}]
            assert [error for *_, error in recorder.messages] == [None]  # the copy is never measured
            assert recorder.counts["injected.duplicate"] == 1 and recorder.counts["injected.schema_drift"] == 1

    run(go)


def test_a_delay_shows_in_corrected_latency_and_a_drop_opens_a_new_connection() -> None:
    async def go() -> None:
        async with EchoServer() as server:
            recorder = ListRecorder()
            scenario = make_scenario(server.url, [{"get": {"url": "/a"}}, {"get": {"url": "/b"}}],
                                     failureInjection=injection(
                                         networkDelays={"enabled": True, "probability": 1.0,
                                                        "rangeMs": {"start": 50, "endInclusive": 50}},
                                         connectionDrops={"enabled": True, "probability": 1.0,
                                                          "reconnectDelayMs": 0}))
            behaviour = await one_pass(scenario, recorder)
            await behaviour.close()
            assert [error for *_, error in recorder.messages] == [None, None]
            for _, intended, start, _end, _, _ in recorder.messages:
                assert start - intended >= 45_000_000  # held back by the injected delay
            assert [kind for kind, _ in recorder.events].count("open") == 2  # one new connection per request
            assert recorder.counts["injected.connection_drop"] == 2
            assert recorder.counts["injected.network_delay"] == 2

    run(go)
