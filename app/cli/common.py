"""What every command shares: settings from the environment with its own options on top."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.settings import Settings, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return load_settings(**overrides)
