"""The HTTP API: one thin router per resource; logic lives in the services."""
