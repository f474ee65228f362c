"""Example projects that run end to end through the market (``fedmarket demo --example``).

Each :class:`~fedmarket.examples.base.Example` brings its data (bundled or generated, nothing
downloaded), the model the owner posts for it, and writes the trainers' shards and the owner's
validation data in the file formats a real owner and real trainers would use.
"""

from fedmarket.examples.base import EXAMPLE_NAMES, Example, get_example

__all__ = ["Example", "EXAMPLE_NAMES", "get_example"]
