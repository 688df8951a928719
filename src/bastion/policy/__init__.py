"""The routing policy: what happens to an item given its matches (auto-action, review, nothing)."""
