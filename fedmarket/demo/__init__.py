"""``fedmarket demo``: the whole market on the local chain, each role in its own process."""

from fedmarket.demo.config import DemoConfig
from fedmarket.demo.run import run_demo

__all__ = ["DemoConfig", "run_demo"]
