"""On-disk format for saved indexes, and the atomic write that produces it.

One file holds both the JSON header and the FAISS bytes so a single
``os.replace`` swaps them together; the one sidecar (``<file>.verified``, below)
names the file's identity, so it can fail to vouch for the data but never vouch
for other data.

Layout (all integers big-endian)::

    magic        8 bytes   b"STLVIDX\\n"
    version      uint32
    header_len   uint64
    header_hash  32 bytes  sha256 of the header JSON
    header       header_len bytes of UTF-8 JSON
    payload      header["payload_bytes"] bytes of faiss.serialize_index output

The header JSON carries ``payload_sha256`` so truncation or bit rot anywhere
in the file is detected before FAISS ever sees the bytes, whenever the hash runs:
a reader that trusts marks (the service's start-up) skips it for a file this
machine wrote or verified since it booted, unchanged since (``<file>.verified``,
`filetrust`: 1.3 s of a restart at a million vectors). Damage found removes the
mark.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

import filetrust
from index.errors import IndexCorruptError

MAGIC = b"STLVIDX\n"
VERSION = 1
_PREFIX = struct.Struct(">8sIQ32s")


def encode_header(header: dict[str, Any]) -> bytes:
    """Serialise the header, failing early (before any file is touched) if not JSON-able."""
    try:
        text = json.dumps(header, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"index metadata must be JSON-serialisable: {exc}") from exc
    return text.encode("utf-8")


def write_index_file(path: Path, header: dict[str, Any], payload: np.ndarray) -> None:
    """Atomically write header + payload to ``path``.

    Writes a temp file in the same directory, fsyncs it, renames it over the
    target and fsyncs the directory, so readers see either the old file or the
    complete new one, even across a power cut.
    """
    path = Path(path)
    data = np.ascontiguousarray(payload, dtype=np.uint8)
    full_header = dict(header)
    full_header["payload_bytes"] = int(data.nbytes)
    full_header["payload_sha256"] = hashlib.sha256(data.data).hexdigest()
    header_bytes = encode_header(full_header)
    prefix = _PREFIX.pack(MAGIC, VERSION, len(header_bytes), hashlib.sha256(header_bytes).digest())

    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(prefix)
            fh.write(header_bytes)
            fh.write(data.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)
    filetrust.vouch(path, verified_mark(path))  # its hash is of what was written


def verified_mark(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a killed writer left beside ``path``; call only while no save runs."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; a no-op where directories cannot be opened (Windows)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _mapped(path: Path) -> tuple[memoryview, os.stat_result]:
    """The file's bytes, mapped rather than read: at a million vectors a read copied 2.3 GB
    (1.5 s of a restart) only for the checksum and FAISS's parse to walk them again. The
    map lives as long as a view of it (the payload array) does; an empty file maps to b"".
    With the stat of the very file mapped (marks name it, not whatever the path is now)."""
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_size == 0:
            return memoryview(b""), st
        mapped = mmap.mmap(fh.fileno(), st.st_size, access=mmap.ACCESS_READ)
    if hasattr(mapped, "madvise"):
        mapped.madvise(mmap.MADV_SEQUENTIAL)
    return memoryview(mapped), st


def distrust(path: Path) -> None:
    """Damage met: no mark may let a later start skip the hash."""
    filetrust.withdraw(verified_mark(path))


def read_index_file(path: Path, trust_mark: bool = False) -> tuple[dict[str, Any], np.ndarray]:
    """Read and verify a saved index; returns (header, payload as a read-only uint8 array
    over the mapped file). `trust_mark`: skip the payload's hash when this machine wrote
    or verified this very file since it booted (and mark it once verified).

    Raises FileNotFoundError if absent and IndexCorruptError for any damage.
    """
    path = Path(path)
    try:
        return _read(path, trust_mark)
    except IndexCorruptError:
        distrust(path)
        raise


def _read(path: Path, trust_mark: bool) -> tuple[dict[str, Any], np.ndarray]:
    raw, st = _mapped(path)
    if len(raw) < _PREFIX.size:
        raise IndexCorruptError(path, f"file is only {len(raw)} bytes, too short for a header")
    magic, version, header_len, header_hash = _PREFIX.unpack_from(raw, 0)
    if magic != MAGIC:
        raise IndexCorruptError(path, "missing magic bytes, not a storyline index file")
    if version != VERSION:
        raise IndexCorruptError(path, f"unsupported format version {version}")
    start = _PREFIX.size
    end = start + header_len
    if end > len(raw):
        raise IndexCorruptError(path, "file truncated inside the header")
    header_bytes = bytes(raw[start:end])
    if hashlib.sha256(header_bytes).digest() != header_hash:
        raise IndexCorruptError(path, "header checksum mismatch")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
        payload_len = int(header["payload_bytes"])
        payload_hash = str(header["payload_sha256"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(path, f"malformed header: {exc}") from exc
    available = len(raw) - end
    if available < payload_len:
        raise IndexCorruptError(
            path, f"file truncated: expected {payload_len} payload bytes, found {available}"
        )
    if available > payload_len:
        raise IndexCorruptError(path, f"{available - payload_len} unexpected trailing bytes")
    payload = np.frombuffer(raw, dtype=np.uint8, offset=end)
    if trust_mark and filetrust.vouched(path, verified_mark(path), st):
        return header, payload
    if hashlib.sha256(payload.data).hexdigest() != payload_hash:
        raise IndexCorruptError(path, "payload checksum mismatch")
    if trust_mark:
        filetrust.vouch(path, verified_mark(path), st)
    return header, payload
