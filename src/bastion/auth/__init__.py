"""Authentication and authorisation: API tokens, roles and the permissions they grant."""
