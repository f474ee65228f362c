"""Chain access: compile contracts, run a local node, deploy, typed bindings."""
