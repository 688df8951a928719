"""Review: queues of items the policy sent to humans, claims, and decisions."""
