"""The web console: server-rendered pages for moderators, auditors and admins."""
