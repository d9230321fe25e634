"""Domain errors the edge maps to answers (app/http/errors.py), each saying what to do."""

from __future__ import annotations


class NotFound(LookupError):
    """An id that names nothing; the message says which."""


class Gone(NotFound):
    """An id that was deleted (DELETE /v1/snippets, or a story left empty by it): 410."""


class BadCursor(ValueError):
    """A pagination cursor that this service did not issue."""


class Conflict(ValueError):
    """The request contradicts stored state (an external_id that names another snippet)."""


class Overloaded(RuntimeError):
    """The writer queue is full; the client should retry later."""


class JobConflict(RuntimeError):
    """A job of the same kind is already queued or running."""

    def __init__(self, kind: str, job_id: int) -> None:
        super().__init__(f"a {kind} job is already running (job {job_id}); wait for it to finish")
        self.job_id = job_id


class JobCancelled(RuntimeError):
    """The service is shutting down; the job stops at its next checkpoint."""


class ModelMismatch(RuntimeError):
    """Stored vectors were made by another model than the one configured."""


class StaleModel(RuntimeError):
    """The model a request was queued for has been replaced (a re-index swap)."""
