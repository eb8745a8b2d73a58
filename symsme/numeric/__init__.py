"""numeric stage."""
