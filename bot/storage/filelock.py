"""One process per SQLite file, enforced by the OS: an advisory lock on `<db>.lock`.

SQLite's own locks keep writes atomic, not work single: two `storybot run` on one file would
both send each alert. `flock` is released by the kernel when the process ends, however it ends
(SIGKILL included), so a crash never leaves a stale lock to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.storage.errors import StoreError


class ProcessLock:
    """Held from `acquire` to `release`; a second holder, in any process, is refused."""

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, database: Path) -> ProcessLock:
        path = database.with_name(database.name + ".lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreError(f"cannot open database {database}: {err.strerror} ({path})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"database {database} is in use by another storybot process (pid {holder}): "
                "one process per SQLite file; use PostgreSQL to run several"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
