"""The ``streamtestbench`` (alias ``stb``) command line: each command a thin call into the library."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from . import exit_codes
from ._version import __version__
from .outputs.plan_text import render_plan
from .scenario.errors import Problem, ScenarioError
from .scenario.loader import load_scenario, scenario_from_data
from .scenario.model import Scenario
from .scenario.overrides import RunOverrides, apply_overrides, data_from_flags
from .scenario.plan import build_plan
from .scenario.source import build_source_map, parse_text

EXAMPLE_TYPES = ("websocket", "mqtt", "http", "graphql", "mcp", "mixed", "all")
PROTOCOL_CHOICES = ("websocket", "mqtt", "http", "graphql", "jsonrpc", "mcp", "mixed")


LAZY_COMMANDS = {
    "target": "streamtestbench.target.command:target_command",
    "token": "streamtestbench.target.command:token_command",
    "demo": "streamtestbench.engine.demo:demo",
}
"""Commands whose modules pull in heavy libraries load only when called."""


class _Group(click.Group):
    """Loads heavy commands lazily; turns ScenarioError into exit code 2, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, attribute = LAZY_COMMANDS[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                return None
            command = getattr(module, attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScenarioError as error:
            click.echo(f"error: invalid scenario\n{error}", err=True)
            ctx.exit(exit_codes.INVALID_INPUT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="streamtestbench")
def main() -> None:
    """Load and stream testing for WebSocket, MQTT, HTTP, GraphQL and MCP services."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Only report problems, not the plans.")
def validate(files: tuple[Path, ...], quiet: bool) -> None:
    """Check scenario files and print the plan each would execute, sending nothing."""
    failed = False
    for file in files:
        try:
            scenario = load_scenario(file)
        except ScenarioError as error:
            failed = True
            click.echo(f"✗ {file}\n{error}", err=True)
            continue
        click.echo(f"✓ {file}")
        if not quiet:
            click.echo(render_plan(build_plan(scenario)) + "\n")
    if failed:
        sys.exit(exit_codes.INVALID_INPUT)


@main.command()
@click.option("--type", "kind", type=click.Choice(EXAMPLE_TYPES), default="all", show_default=True,
              help="Which protocol's examples to write.")
@click.option("--output", "-o", "directory", type=click.Path(path_type=Path), default=Path("scenarios"),
              show_default=True, help="Directory to write into (created if missing).")
@click.option("--format", "fmt", type=click.Choice(("json", "yaml")), default="json", show_default=True)
def generate(kind: str, directory: Path, fmt: str) -> None:
    """Write example scenarios: every protocol and the seeds' tests."""
    from .scenario.examples import write_examples

    for path in write_examples(kind, directory, fmt):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("report.html"), show_default=True,
              help="The self-contained HTML report.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Results of an earlier run to compare with.")
@click.option("--junit", type=click.Path(path_type=Path), help="Also write JUnit XML (one case per threshold).")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path), help="Also write the per-second series as CSV.")
def report(results: Path, output: Path, baseline: Path | None, junit: Path | None, csv_out: Path | None) -> None:
    """Turn a results JSON into an HTML report (charts inlined, no network), and JUnit or CSV."""
    from .outputs.report import ReportInputError, generate_reports

    try:
        written = generate_reports(results, output, baseline_path=baseline, junit_path=junit, csv_path=csv_out)
    except ReportInputError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_codes.INVALID_INPUT)
    for path in written:
        click.echo(f"wrote {path}")


def resolve_scenario(scenario_file: Path | None, overrides: RunOverrides) -> Scenario:
    """The scenario a run executes: the file with options merged on, or options alone."""
    if scenario_file is None:
        return scenario_from_data(data_from_flags(overrides), "<command-line options>")
    source = str(scenario_file)
    if overrides.empty:
        return load_scenario(scenario_file)
    try:
        text = scenario_file.read_text(encoding="utf-8")
    except OSError:
        return load_scenario(scenario_file)  # reports the read error precisely
    data = parse_text(text, source)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(source, "", "a scenario is a mapping of fields", line=1)])
    return scenario_from_data(apply_overrides(data, overrides), f"{source} (with command-line options)",
                              build_source_map(text), base_dir=scenario_file.parent)


@main.command()
@click.option("--scenario", "-s", "scenario_file", type=click.Path(path_type=Path),
              help="JSON or YAML scenario file.")
@click.option("--endpoint", "-e", help="Override the endpoint URL.")
@click.option("--duration", "-d", type=click.FloatRange(min=0, min_open=True), help="Override duration (s).")
@click.option("--protocol", "-p", type=click.Choice(PROTOCOL_CHOICES, case_sensitive=False),
              help="Protocol to use.")
@click.option("--connections", "-c", type=click.IntRange(min=1), help="Number of concurrent connections.")
@click.option("--rate", "-r", type=click.FloatRange(min=0, min_open=True), help="Messages per second.")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write results JSON here.")
@click.option("--verbose", "-v", is_flag=True, help="Verbose logging.")
@click.option("--dry-run", is_flag=True, help="Resolve and print the plan without sending anything.")
@click.option("--workers", type=click.IntRange(min=1, max=256), help="Worker processes (default: one per core).")
@click.option("--progress-interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds between live progress updates.")
@click.option("--grace", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds in-flight messages may finish after a stop.")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help="A pass/fail rule, e.g. 'p95 < 100', 'error_rate < 0.01', 'warning: p99 < 200'. Repeatable.")
@click.option("--slo", "slo_file", type=click.Path(path_type=Path), help="SLO file (seed 002's per-protocol form).")
@click.option("--default-slos", is_flag=True, help="Judge by seed 002's per-protocol SLOs when nothing else is given.")
@click.option("--baseline", metavar="FILE|NAME", help="Compare with an earlier results file or a saved baseline.")
@click.option("--save-baseline", metavar="NAME", help="Save this run's results as a named baseline.")
def run(scenario_file: Path | None, endpoint: str | None, duration: float | None, protocol: str | None,
        connections: int | None, rate: float | None, output: Path | None, verbose: bool,
        dry_run: bool, workers: int | None, progress_interval: float, grace: float, thresholds: tuple[str, ...],
        slo_file: Path | None, default_slos: bool, baseline: str | None, save_baseline: str | None) -> None:
    """Run a scenario file, or a quick test from options alone."""
    overrides = RunOverrides(endpoint, duration, protocol, connections, rate)
    scenario = resolve_scenario(scenario_file, overrides)
    plan = build_plan(scenario)
    from .slo.gate import prepare_gate

    gate = prepare_gate(scenario, slo_file=slo_file, extra=thresholds, use_defaults=default_slos,
                        baseline=baseline, save_as=save_baseline)
    click.echo(render_plan(plan))
    if gate.thresholds:
        click.echo("thresholds: " + "; ".join(t.text for t in gate.thresholds))
    if verbose:
        click.echo(json.dumps(scenario.to_data(), indent=2))
    if dry_run:
        return
    from .engine.runner import COORDINATOR_NICE, RunOptions, run_plan_from_cli
    from .slo.gate import abort_check

    executor = scenario.executor
    grace_given = click.get_current_context().get_parameter_source("grace") is ParameterSource.COMMANDLINE
    if executor is not None and "graceful_stop" in executor.model_fields_set and not grace_given:
        grace = executor.graceful_stop  # k6's gracefulStop: how long in-flight iterations may finish
    options = RunOptions(workers=workers, grace_s=grace, progress_every_s=progress_interval,
                         coordinator_nice=COORDINATOR_NICE)
    validation = scenario.validation
    if validation is not None and validation.abort_on_fail and gate.thresholds:
        options.abort_check = abort_check(gate)
        options.abort_after_s = validation.abort_delay
    sys.exit(run_plan_from_cli(scenario, plan, output=output, verbose=verbose, options=options, gate=gate))


@main.command(name="compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(base: Path, new: Path, as_json: bool) -> None:
    """Compare two results files: regressed, improved or no significant change (exit 1 on a regression)."""
    from .slo import BaselineError, compare, load_results_file

    try:
        comparison = compare(load_results_file(base), load_results_file(new), base_label=str(base),
                             new_label=str(new))
    except BaselineError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_codes.INVALID_INPUT)
    click.echo(json.dumps(comparison.to_json(), indent=2) if as_json else comparison.render_text())
    sys.exit(comparison.exit_code)

