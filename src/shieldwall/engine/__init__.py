"""The engine: builds the world from a scenario and runs the step loop of one raid."""

from shieldwall.engine.simulate import RunResult, simulate
from shieldwall.engine.world import World, build_world

__all__ = ["RunResult", "World", "build_world", "simulate"]
