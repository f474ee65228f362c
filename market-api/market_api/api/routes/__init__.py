"""One router per resource."""

from market_api.api.routes import health, projects, trainers, verifiers

__all__ = ["health", "projects", "trainers", "verifiers"]
