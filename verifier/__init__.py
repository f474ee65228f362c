"""fedmarket verifier component."""
