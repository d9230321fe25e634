"""Row decoding and query helpers shared by the SQLite stores."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import numpy as np

from storage.records import SnippetRow

SNIPPET_COLUMNS = (
    "id, external_id, title, text, lang, lang_detected, source, url, published_at, "
    "received_at, content_hash, report_id, story_id, status, story_sim"
)


def snippet_row(row: Sequence) -> SnippetRow:
    return SnippetRow(
        id=row[0],
        external_id=row[1],
        title=row[2],
        text=row[3],
        lang=row[4],
        lang_detected=bool(row[5]),
        source=row[6],
        url=row[7],
        published_at=row[8],
        received_at=row[9],
        content_hash=row[10],
        report_id=row[11],
        story_id=row[12],
        status=row[13],
        story_sim=row[14],
    )


def blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def floats(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


def storable(ids: Sequence[int]) -> list[int]:
    """Ids SQLite can hold (signed 64-bit); any other names nothing, rather than overflowing."""
    return [int(i) for i in ids if -(2**63) <= int(i) < 2**63]


def id_vector_arrays(rows: Sequence[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """(id, vector blob) rows as an id array and a (n, dim) float32 matrix."""
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, vecs.reshape(len(rows), -1)


def chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(chunk: Sequence) -> str:
    return ",".join("?" * len(chunk))


# -- queries both the readers and the writer run (each on its own connection) ----------
def snippets_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, SnippetRow]:
    out: dict[int, SnippetRow] = {}
    for chunk in chunks(storable(ids)):
        for row in conn.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE id IN ({marks(chunk)})", chunk
        ):
            out[row[0]] = snippet_row(row)
    return out


def snippets_by_external_id(
    conn: sqlite3.Connection, external_ids: Sequence[str]
) -> dict[str, SnippetRow]:
    out: dict[str, SnippetRow] = {}
    for chunk in chunks(list(external_ids)):
        for row in conn.execute(
            f"SELECT {SNIPPET_COLUMNS} FROM snippets WHERE external_id IN ({marks(chunk)})", chunk
        ):
            out[row[1]] = snippet_row(row)
    return out


def vectors_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for chunk in chunks([int(i) for i in ids]):
        for sid, data in conn.execute(
            f"SELECT id, vector FROM snippets WHERE id IN ({marks(chunk)})", chunk
        ):
            out[sid] = floats(data)
    return out


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
