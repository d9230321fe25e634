"""The storyline service: HTTP API, CLI, settings and the wiring between packages."""

__version__ = "0.1.0"
