"""schemes stage."""
