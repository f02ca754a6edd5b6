"""Client-side failure injection (contract 6): per-message faults and a reconnect storm."""

from .counters import COUNTS, DROP_ERROR, InjectionCounts
from .injector import Injector
from .storm import ReconnectStorm

__all__ = ["COUNTS", "DROP_ERROR", "InjectionCounts", "Injector", "ReconnectStorm"]
