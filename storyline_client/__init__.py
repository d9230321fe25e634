"""A small typed client for the storyline HTTP API, with the retries the README asks for.

    from storyline_client import Client, Snippet

    with Client("http://127.0.0.1:8000", api_key="...") as api:
        out = api.post(Snippet(text="...", lang="en", external_id="wire-1"))
        story = api.story(out.story_id)

Retries follow the API's rules: 503 and 429 (honouring `Retry-After`), 500, timeouts and
network errors are retried with backoff; a POST is retried only when it is safe (every
snippet carries an `external_id`, so a repeat answers `exists`; or nothing was sent);
a repeated DELETE that answers 410 was applied by an earlier attempt; other 4xx are
never retried.
"""

from storyline_client.client import Client
from storyline_client.errors import ItemError, StorylineError
from storyline_client.models import Deleted, Outcome, Snippet

__all__ = ["Client", "Deleted", "ItemError", "Outcome", "Snippet", "StorylineError"]
