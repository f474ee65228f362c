"""fedmarket trainer component."""
