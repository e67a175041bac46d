"""The run directory: its layout, how to open it, and the one set of errors for a wrong one.

A run directory is what ``corrigible run`` leaves behind: the sweep it was made by
(:data:`CONFIG_FILE`), every sample's record (:data:`STORE_FILE`), Inspect logs and reports.
Every command that reads one (``export``, ``classify``, ``report``, ``compare``, ``gate``) opens it
here, so they agree on what a run directory is and say the same thing when it is not one.
"""

from __future__ import annotations

import os
from pathlib import Path

from corrigible.errors import RunDirError
from corrigible.results.store import ResultsStore

__all__ = [
    "CONFIG_FILE",
    "LOCK_FILE",
    "LOGS_DIR",
    "STORE_FILE",
    "RunDirLock",
    "check_run_dir",
    "is_run_dir",
    "lock_holder",
    "open_store",
]

CONFIG_FILE = "config.yaml"
"""The sweep, as run (a run directory refuses a different sweep)."""
STORE_FILE = "results.sqlite"
"""Every planned sample's record (:class:`~corrigible.results.store.ResultsStore`)."""
LOGS_DIR = "logs"
"""Inspect's own logs, for ``inspect view``."""
LOCK_FILE = ".lock"
"""Held (an exclusive ``flock``) by the one ``corrigible run`` writing the directory; holds its
PID. The kernel drops the lock when the process dies, however it dies."""


def is_run_dir(path: Path) -> bool:
    """True when ``path`` is a directory holding a results store."""
    return path.is_dir() and (path / STORE_FILE).is_file()


def check_run_dir(run_dir: Path) -> None:
    """Raise :class:`RunDirError`, on one line, unless ``run_dir`` is a run directory."""
    if not run_dir.exists():
        raise RunDirError(f"{run_dir}: no such directory; pass a run directory of `corrigible run`")
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: not a directory; pass a run directory of `corrigible run`")
    if not (run_dir / STORE_FILE).is_file():
        raise RunDirError(
            f"{run_dir}: not a run directory (no {STORE_FILE}); run `corrigible run` first"
        )


def open_store(run_dir: str | Path) -> ResultsStore:
    """The results store of an existing run directory (never creates one)."""
    check_run_dir(Path(run_dir))
    return ResultsStore(Path(run_dir) / STORE_FILE, read_only=True)


def lock_holder(run_dir: Path) -> str | None:
    """The PID of the ``corrigible run`` writing RUN_DIR now, or None when none is. Asks the
    kernel (a non-blocking shared ``flock``), so a PID left behind by a killed run is ignored."""
    path = Path(run_dir) / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RunDirLock:
    """An exclusive lock on a run directory, so that two runs of one sweep into one directory
    cannot both run everything. A second run is refused with one line naming the holder's PID.
    On systems without ``fcntl`` (Windows) it locks nothing."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunDirLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RunDirError(
                f"{self.path.parent}: another `corrigible run` (PID {holder}) is writing this run "
                "directory; wait for it to finish, or pick another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
