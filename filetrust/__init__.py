"""Whether a file is still the one this machine's service verified or wrote since the
machine booted: a mark beside it holds the kernel's boot id and the file's identity.

Why: the whole-file checks at start-up (SQLite's `quick_check` of the database, the
SHA-256 of the index file) cost seconds at a million snippets, and what they look for
cannot have happened to a file this machine has held since it was verified: a killed
process loses nothing the kernel holds, and SQLite's commits and the index file's
rename are atomic against a process's death. A power loss or a machine crash changes
the boot id; a copied or restored file has another inode; `exact` marks also name the
size and modification time, for files nothing should write in place. Where the boot id
cannot be read (not Linux), nothing is vouched for.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot of the machine's kernel, or None where it cannot be read."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _state(path: Path, exact: bool) -> dict[str, Any] | None:
    boot = boot_id()
    try:
        st = path.stat()
    except OSError:
        return None
    if boot is None:
        return None
    file = [st.st_dev, st.st_ino] + ([st.st_size, st.st_mtime_ns] if exact else [])
    return {"boot": boot, "file": file}


def vouch(path: Path, mark: Path, exact: bool) -> None:
    """Mark `path` as sound, as it is now, for the rest of this boot."""
    state = _state(path, exact)
    if state is not None:
        with contextlib.suppress(OSError):
            mark.write_text(json.dumps(state))


def vouched(path: Path, mark: Path, exact: bool) -> bool:
    """True when `mark` was written for this very file on this boot (and, `exact`, it
    has not changed size or modification time since)."""
    try:
        recorded = json.loads(mark.read_text())
    except (OSError, ValueError):
        return False
    current = _state(path, exact)
    return current is not None and recorded == current


def withdraw(mark: Path) -> None:
    with contextlib.suppress(OSError):
        mark.unlink()
