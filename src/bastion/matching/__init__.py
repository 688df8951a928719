"""Matching: signals of an item against the banks' indexes."""
