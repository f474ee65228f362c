"""fedmarket: a blockchain marketplace for federated training (shared core and CLI)."""

__version__ = "0.1.0"
