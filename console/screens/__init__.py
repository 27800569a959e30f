"""Modal screens (help, forms)."""
