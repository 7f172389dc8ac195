"""Local story files stay inside the one directory the config names (`files_dir`).

A story `path` is meant for demos and snapshots, not for reading `/etc/passwd` or the
bot's own database into a chat channel. A path is judged after `..` and symlinks are
resolved, so neither a relative climb nor a link pointing out of the directory escapes.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit


class PathRefused(ValueError):
    """A story path outside `files_dir`."""


def story_path(source: str, base_dir: Path) -> Path:
    """The file a story `path` (or file:// URL) names; relative paths start at `base_dir`."""
    if source.startswith("file://"):
        return Path(unquote(urlsplit(source).path))
    path = Path(source).expanduser()
    return path if path.is_absolute() else base_dir / path


def confined(path: Path, files_dir: Path) -> Path:
    """`path` with `..` and symlinks resolved, if that lies inside `files_dir`; else PathRefused."""
    real, root = path.resolve(), files_dir.resolve()
    if not real.is_relative_to(root):
        raise PathRefused(f"refused: {path} is outside files_dir {root}")
    return real


def open_confined(path: Path) -> int:
    """Open a resolved path for reading, refusing a symlink swapped in after the check."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
