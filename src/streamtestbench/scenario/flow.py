"""Flow steps a virtual user runs (seed 003's "WebSocket Communication Flow", seed 004's HTTP).

A step is a mapping with exactly one action key, as in Artillery: ``{"think": 5}``,
``{"loop": {"count": 20, "steps": [...]}}``. Short forms are accepted where they read
naturally: ``{"connect": "/ws"}``, ``{"subscribe": "agents"}``, ``{"disconnect": true}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from .base import ScenarioModel, Seconds
from .enums import PayloadType

_HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


class ConnectSpec(ScenarioModel):
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    subprotocols: list[str] = Field(default_factory=list)
    timeout_ms: int = Field(default=10_000, ge=1)


class Expect(ScenarioModel):
    """What the next matching message must look like: JSON fields (subset match) or text."""

    match: dict[str, Any] = Field(default_factory=dict)
    contains: str | None = None
    timeout_ms: int = Field(default=5_000, ge=1)


class SendSpec(ScenarioModel):
    """One message: literal JSON, literal text, or a generated payload of a seed 000 type."""

    json_body: Any = Field(default=None, alias="json")
    text: str | None = None
    payload: PayloadType | None = None
    size_bytes: int | None = Field(default=None, ge=1, le=16 * 1024 * 1024)
    expect: Expect | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        given = [k for k, v in (("json", self.json_body), ("text", self.text), ("payload", self.payload))
                 if v is not None]
        if len(given) != 1:
            raise ValueError("send needs exactly one of json, text, payload")
        return self


class ChannelSpec(ScenarioModel):
    channel: str | None = Field(default=None, min_length=1)
    topic: str | None = Field(default=None, min_length=1)
    qos: Literal[0, 1, 2] = 0

    @model_validator(mode="after")
    def _one_name(self) -> Self:
        if (self.channel is None) == (self.topic is None):
            raise ValueError("give exactly one of channel (WebSocket) or topic (MQTT)")
        return self


class ThinkSpec(ScenarioModel):
    seconds: Seconds | None = Field(default=None, ge=0)
    min: Seconds | None = Field(default=None, ge=0)
    max: Seconds | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _fixed_or_range(self) -> Self:
        if self.seconds is None and (self.min is None or self.max is None):
            raise ValueError("think needs seconds, or min and max")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError(f"think max ({self.max:g}) must be >= min ({self.min:g})")
        return self

    @property
    def mean_seconds(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return ((self.min or 0.0) + (self.max or 0.0)) / 2


class Check(ScenarioModel):
    """A response check: status, a JSON path's value or presence, body text, or a header."""

    status: int | list[int] | None = None
    json_path: str | None = None
    equals: Any = None
    exists: bool | None = None
    contains: str | None = None
    header: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [k for k, v in (("status", self.status), ("jsonPath", self.json_path),
                                ("contains", None if self.header is not None else self.contains),
                                ("header", self.header)) if v is not None]
        if len(kinds) != 1:
            raise ValueError("a check needs exactly one of status, jsonPath, contains, header")
        return self


class Capture(ScenarioModel):
    """Store a JSON path's value or a header into a variable, as Artillery's ``capture``."""

    json_path: str | None = Field(default=None, alias="json")
    header: str | None = None
    as_: str = Field(alias="as", min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.json_path is None) == (self.header is None):
            raise ValueError("a capture needs exactly one of json, header")
        return self


class RequestSpec(ScenarioModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    form: dict[str, str] | None = None
    capture: list[Capture] = Field(default_factory=list)
    check: list[Check] = Field(default_factory=list)
    timeout_ms: int = Field(default=30_000, ge=1)
    follow_redirects: bool = False

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class GraphQLSpec(ScenarioModel):
    query: str = Field(min_length=1)
    variables: dict[str, Any] = Field(default_factory=dict)
    operation_name: str | None = None
    url: str | None = None
    subscription: bool = False
    events: int | None = Field(default=None, ge=1)
    """A subscription ends after this many events (None: at the server's complete, or the run's end)."""
    capture: list[Capture] = Field(default_factory=list)
    check: list[Check] = Field(default_factory=list)


class RpcSpec(ScenarioModel):
    """A JSON-RPC 2.0 call; the id is generated and matched by the engine."""

    method: str = Field(min_length=1)
    params: dict[str, Any] | list[Any] | None = None
    url: str | None = None
    notification: bool = False


class McpSpec(ScenarioModel):
    """An MCP ``tools/call`` (after the initialize handshake the engine performs once)."""

    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    url: str | None = None


class PublishSpec(ScenarioModel):
    """Publish to an MQTT topic or NATS subject: one message, or ``count`` at ``rate``/s.

    ``url`` names a broker other than the scenario's endpoint (``nats://127.0.0.1:4222`` or
    ``mqtt://...``): a WebSocket flow publishes through it to reach its own subscribers (seed 001).
    """

    topic: str = Field(min_length=1)
    url: str | None = Field(default=None, pattern=r"^(nats|mqtt|tcp)://[^\s]+$")
    json_body: Any = Field(default=None, alias="json")
    text: str | None = None
    payload: PayloadType | None = None
    qos: Literal[0, 1, 2] = 0
    retain: bool = False
    count: int = Field(default=1, ge=1)
    rate: float | None = Field(default=None, gt=0)


class ConnectStep(ScenarioModel):
    connect: ConnectSpec

    @field_validator("connect", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if value is None:
            return {}
        return {"url": value} if isinstance(value, str) else value


class SendStep(ScenarioModel):
    send: SendSpec

    @field_validator("send", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value


class ExpectStep(ScenarioModel):
    expect: Expect


class SubscribeStep(ScenarioModel):
    subscribe: ChannelSpec

    @field_validator("subscribe", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"channel": value} if isinstance(value, str) else value


class UnsubscribeStep(ScenarioModel):
    unsubscribe: ChannelSpec

    @field_validator("unsubscribe", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"channel": value} if isinstance(value, str) else value


class ThinkStep(ScenarioModel):
    think: ThinkSpec

    @field_validator("think", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"seconds": value} if isinstance(value, int | float | str) and not isinstance(value, bool) \
            else value


class DisconnectSpec(ScenarioModel):
    code: int = Field(default=1000, ge=1000, le=4999)


class DisconnectStep(ScenarioModel):
    disconnect: DisconnectSpec

    @field_validator("disconnect", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {} if value is None or value is True else value


class LoopSpec(ScenarioModel):
    count: int = Field(ge=1, le=10_000_000)
    steps: list[Step] = Field(min_length=1)


class LoopStep(ScenarioModel):
    loop: LoopSpec


class RequestStep(ScenarioModel):
    request: RequestSpec


class GraphQLStep(ScenarioModel):
    graphql: GraphQLSpec


class RpcStep(ScenarioModel):
    rpc: RpcSpec


class McpStep(ScenarioModel):
    mcp: McpSpec


class PublishStep(ScenarioModel):
    publish: PublishSpec


STEP_KINDS: dict[str, type[ScenarioModel]] = {
    "connect": ConnectStep,
    "send": SendStep,
    "expect": ExpectStep,
    "subscribe": SubscribeStep,
    "unsubscribe": UnsubscribeStep,
    "loop": LoopStep,
    "think": ThinkStep,
    "disconnect": DisconnectStep,
    "request": RequestStep,
    "graphql": GraphQLStep,
    "rpc": RpcStep,
    "mcp": McpStep,
    "publish": PublishStep,
}
"""Every step kind by its action key; the loader uses it to name what is allowed."""


def step_kind(value: Any) -> str | None:
    """The action key of a raw step, or None when it has not exactly one known key."""
    if isinstance(value, ScenarioModel):
        for key, model in STEP_KINDS.items():
            if isinstance(value, model):
                return key
        return None
    if not isinstance(value, dict):
        return None
    keys = [key for key in value if key in STEP_KINDS]
    return keys[0] if len(keys) == 1 else None


def _expand_http_shorthand(value: Any) -> Any:
    """Artillery writes ``{"get": {"url": ...}}``: turn it into a request step."""
    if isinstance(value, dict) and len(value) == 1:
        (key, spec), = value.items()
        if key in _HTTP_METHODS and isinstance(spec, dict):
            return {"request": {"method": key.upper(), **spec}}
    return value


Step = Annotated[
    Annotated[ConnectStep, Tag("connect")]
    | Annotated[SendStep, Tag("send")]
    | Annotated[ExpectStep, Tag("expect")]
    | Annotated[SubscribeStep, Tag("subscribe")]
    | Annotated[UnsubscribeStep, Tag("unsubscribe")]
    | Annotated[LoopStep, Tag("loop")]
    | Annotated[ThinkStep, Tag("think")]
    | Annotated[DisconnectStep, Tag("disconnect")]
    | Annotated[RequestStep, Tag("request")]
    | Annotated[GraphQLStep, Tag("graphql")]
    | Annotated[RpcStep, Tag("rpc")]
    | Annotated[McpStep, Tag("mcp")]
    | Annotated[PublishStep, Tag("publish")],
    Discriminator(
        step_kind,
        custom_error_type="unknown_step",
        custom_error_message="a step needs exactly one action key",
    ),
]

LoopSpec.model_rebuild()


def normalise_steps(steps: Any) -> Any:
    """Expand shorthands in a raw list of steps (recursively into loops)."""
    if not isinstance(steps, list):
        return steps
    result = []
    for raw in steps:
        step = _expand_http_shorthand(raw)
        if isinstance(step, dict) and isinstance(step.get("loop"), dict):
            loop = dict(step["loop"])
            loop["steps"] = normalise_steps(loop.get("steps"))
            step = {**step, "loop": loop}
        result.append(step)
    return result


def count_sends(steps: list[Any]) -> int:
    """Messages one pass over ``steps`` sends (loops multiplied), for the execution plan."""
    total = 0
    for step in steps:
        if isinstance(step, LoopStep):
            total += step.loop.count * count_sends(step.loop.steps)
        elif isinstance(step, PublishStep):
            total += step.publish.count
        elif isinstance(step, SendStep | SubscribeStep | UnsubscribeStep | RequestStep | GraphQLStep
                        | RpcStep | McpStep):
            total += 1
    return total


def think_seconds(steps: list[Any]) -> float:
    """Mean think time of one pass over ``steps``: a lower bound on an iteration's length."""
    total = 0.0
    for step in steps:
        if isinstance(step, LoopStep):
            total += step.loop.count * think_seconds(step.loop.steps)
        elif isinstance(step, ThinkStep):
            total += step.think.mean_seconds
    return total
