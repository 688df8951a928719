"""Signals: hashes computed from content. One module per signal type."""
