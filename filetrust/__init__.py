"""Whether a file is still the one this machine's service verified or wrote since the
machine booted: a mark beside it holds the kernel's boot id and the file's identity
(device, inode, size and modification time).

Why: the whole-file checks at start-up (SQLite's `quick_check` of the database, the
SHA-256 of the index file) cost seconds at a million snippets, and what they look for
cannot have happened to a file this machine has held since it was verified: a killed
process loses nothing the kernel holds, and SQLite's commits and the index file's
rename are atomic against a process's death. A power loss or a machine crash changes
the boot id; a file copied or restored over it, in place or not, changes its size or
modification time (or its inode). The holder of a file that it changes itself (the
database at each checkpoint) vouches again after each change. Where the boot id cannot
be read (not Linux), nothing is vouched for. A mark can fail to vouch for its file; it
cannot vouch for another.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot of the machine's kernel, or None where it cannot be read."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def _state(path: Path, st: os.stat_result | None) -> dict[str, Any] | None:
    boot = boot_id()
    if boot is None:
        return None
    if st is None:
        try:
            st = path.stat()
        except OSError:
            return None
    return {"boot": boot, "file": identity(st)}


def vouch(path: Path, mark: Path, st: os.stat_result | None = None) -> None:
    """Mark `path` as sound, as it is now (or as `st`, the stat of the very file that
    was verified, taken from its open descriptor), for the rest of this boot."""
    state = _state(path, st)
    if state is not None:
        with contextlib.suppress(OSError):
            mark.write_text(json.dumps(state))


def vouched(path: Path, mark: Path, st: os.stat_result | None = None) -> bool:
    """True when `mark` was written for this very file, unchanged since, on this boot."""
    try:
        recorded = json.loads(mark.read_text())
    except (OSError, ValueError):
        return False
    current = _state(path, st)
    return current is not None and recorded == current


def withdraw(mark: Path) -> None:
    with contextlib.suppress(OSError):
        mark.unlink()
