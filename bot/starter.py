"""`storybot init`: a commented config.toml to start from, in a folder of one's choosing.

It is the packaged config.example.toml, word for word, so every key is explained where it is
set; the seed story it tracks is copied beside it, so `storybot check` and `storybot run`
work at once, offline. Nothing that exists is overwritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
EXAMPLE = DATA / "config.example.toml"


class InitRefused(Exception):
    """The file is already there (or cannot be written): it is left as it was."""


def write_starter(target: Path) -> list[Path]:
    """Write the example config to `target` and the seed story next to it; the paths written.
    InitRefused when `target` exists; seed files that exist are kept as they are."""
    if target.exists() or target.is_symlink():
        raise InitRefused(f"{target} already exists; not overwritten (remove it, or name another file)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as out:  # "x": never overwrite, even in a race
            out.write(EXAMPLE.read_text(encoding="utf-8"))
    except FileExistsError:
        raise InitRefused(f"{target} already exists; not overwritten") from None
    except OSError as err:
        raise InitRefused(f"cannot write {target}: {err.strerror or err}") from None
    written = [target]
    for source in sorted((DATA / "seeds").rglob("*.txt")):
        copy = target.parent / "seeds" / source.relative_to(DATA / "seeds")
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
            written.append(copy)
    return written
