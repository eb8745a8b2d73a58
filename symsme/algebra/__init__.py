"""algebra stage."""
