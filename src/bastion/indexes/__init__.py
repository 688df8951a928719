"""Similarity indexes: exact, sublinear search over the hashes in the banks."""
