"""The ``target`` and ``token`` click commands (registered on the main CLI with ``add_command``)."""

from __future__ import annotations

import sys

import click

from ..auth.jwt import DEFAULT_TTL_SECONDS, SECRET_ENV_VAR, default_secret, mint_token
from .config import TargetConfig, TargetConfigError, is_loopback_host
from .faults import ALLOWED_FORMS, Fault, FaultSpecError, parse_faults

__all__ = ["target_command", "token_command"]


def _parse_fault_option(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[Fault, ...]:
    try:
        return parse_faults(value)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _check_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not is_loopback_host(value):
        raise click.BadParameter(
            f"{value!r} is not a loopback address; the target only listens on 127.0.0.0/8, ::1 or localhost",
            ctx=ctx,
            param=param,
        )
    return value


@click.command("target")
@click.option("--host", default="127.0.0.1", show_default=True, callback=_check_host,
              help="Loopback address to listen on (127.0.0.0/8, ::1, localhost).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port; 0 picks a free one (printed on the 'listening' line).")
@click.option("--auth", is_flag=True, help="Require an HS256 JWT on WebSocket upgrades and HTTP routes.")
@click.option("--jwt-secret", default=None, metavar="S",
              help=f"HS256 secret [default: ${SECRET_ENV_VAR} or the development default].")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="MSGS_PER_S",
              help="Per-client token bucket: WebSocket clients over it are closed with 1008, HTTP gets 429.")
@click.option("--fault", "faults", multiple=True, metavar="SPEC", callback=_parse_fault_option,
              help=f"Inject a fault (repeatable): {ALLOWED_FORMS}.")
@click.option("--broadcast-rate", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="HZ",
              help="Server broadcasts per second to every channel with subscribers; 0 disables.")
@click.option("--seed", type=int, default=None, help="Seed for the fault RNG (drop/reset draws).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes sharing the port via SO_REUSEPORT.")
@click.option("--loop", "loop_kind", type=click.Choice(["uvloop", "asyncio"]), default="uvloop",
              show_default=True, help="Event loop implementation.")
@click.option("--nats", "nats_url", default=None, metavar="URL",
              help="NATS server to relay from (seed 001's broker), e.g. nats://127.0.0.1:4222; needs --relay.")
@click.option("--relay", "relays", multiple=True, metavar="SUBJECT[=CHANNEL]",
              help="Relay a NATS subject (wildcards allowed) to WebSocket channel CHANNEL, or to the channel "
                   "named by the subject's last token (repeatable).")
def target_command(
    host: str,
    port: int,
    auth: bool,
    jwt_secret: str | None,
    rate_limit: float | None,
    faults: tuple[Fault, ...],
    broadcast_rate: float,
    seed: int | None,
    workers: int,
    loop_kind: str,
    nats_url: str | None,
    relays: tuple[str, ...],
) -> None:
    """Run the reference target on loopback: WebSocket (/ws, /ws/mobile/sync/), REST (/api/v1/users,
    /api/v1/posts), GraphQL (/graphql over HTTP and graphql-transport-ws), MCP (/mcp) and ops endpoints."""
    from .server import serve

    config = TargetConfig(
        host=host,
        port=port,
        auth=auth,
        jwt_secret=jwt_secret or default_secret(),
        rate_limit=rate_limit,
        faults=faults,
        broadcast_rate=broadcast_rate,
        seed=seed,
        workers=workers,
        use_uvloop=loop_kind == "uvloop",
        nats_url=nats_url,
        relays=relays,
    )
    try:
        config.validate()
    except TargetConfigError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(serve(config))


@click.command("token")
@click.option("--secret", default=None, metavar="S",
              help=f"HS256 secret [default: ${SECRET_ENV_VAR} or the development default].")
@click.option("--subject", default="loadtest", show_default=True, help="The token's 'sub' claim.")
@click.option("--ttl", type=click.IntRange(min=1), default=DEFAULT_TTL_SECONDS, show_default=True,
              help="Seconds until the token expires.")
def token_command(secret: str | None, subject: str, ttl: int) -> None:
    """Print a JWT the target accepts (seed 001's auth:token)."""
    click.echo(mint_token(secret or default_secret(), {"sub": subject}, ttl))
