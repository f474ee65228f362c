"""fedmarket aggregator component."""
