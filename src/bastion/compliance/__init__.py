"""EU compliance: removal orders, vault, notices, complaints, statements, reports."""
