"""Seed 000's payload types as realistic, reproducible message generators (contract 5)."""

from .base import PayloadGenerator
from .generator import make_generator

__all__ = ["PayloadGenerator", "make_generator"]
