"""expansion stage."""
