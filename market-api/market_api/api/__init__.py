"""The read API: routes, dependencies and response schemas."""
