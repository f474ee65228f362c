"""fedmarket read API and dashboard (FastAPI)."""
