"""The HTTP layer: requests become service calls, domain errors become status codes."""
