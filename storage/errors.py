"""Errors every storage backend raises the same way."""


class StorageCorruptError(RuntimeError):
    """The database cannot be trusted; the service must not start on it."""
