"""Stream Testbench: load and stream testing for WebSocket, MQTT, HTTP, GraphQL and MCP services.

The public surface is small and re-exported here; implementation modules are private to
the package and may change.
"""

from ._version import __version__
from .scenario.errors import Problem, ScenarioError
from .scenario.loader import load_scenario, load_scenario_text, scenario_from_data
from .scenario.model import Scenario
from .scenario.plan import ExecutionPlan, build_plan

__all__ = [
    "ExecutionPlan",
    "Problem",
    "Scenario",
    "ScenarioError",
    "__version__",
    "build_plan",
    "load_scenario",
    "load_scenario_text",
    "scenario_from_data",
]
