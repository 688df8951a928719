"""Bastion: open, self-hostable detection and moderation of terrorist content."""

__version__ = "0.1.0"
