"""Atomic files: a temporary file beside the target, fsynced, then renamed over it.

A reader, or a run started after a ``kill -9`` or a power cut, sees the old content or the new,
never a mix; a failed write leaves no file behind and never half a file under the target's name.
The one home of this rule: checkpoints, the worker's state, backfill progress and exports.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, overload

T = TypeVar("T")


class TempFileError(OSError):
    """The temporary file beside the target could not be created (nothing was written)."""


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: some file systems refuse a directory)."""
    with contextlib.suppress(OSError):
        _fsync_file(directory)


@overload
def write_atomic(
    path: Path, content: str | bytes, *, suffix: str = ".tmp", mode: int | None = None
) -> None: ...


@overload
def write_atomic(
    path: Path, content: Callable[[Path], T], *, suffix: str = ".tmp", mode: int | None = None
) -> T: ...


def write_atomic(
    path: Path,
    content: str | bytes | Callable[[Path], T],
    *,
    suffix: str = ".tmp",
    mode: int | None = None,
) -> T | None:
    """Write ``content`` to ``path`` atomically; a writer's result.

    ``content`` is text (written as UTF-8), bytes, or a writer called with the temporary file's
    path, which writes it and closes what it opened (an export streams its chunks so). The
    temporary file is ``.<name>.<random><suffix>`` in the target's directory (created with mode
    0600; ``mode`` sets the final one). Anything raised, the temporary file is removed and the
    target is left as it was; ``TempFileError`` when the temporary file cannot be created.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise TempFileError(exc.errno, exc.strerror, str(path.parent)) from exc
    temp = Path(name)
    result: T | None = None
    try:
        if callable(content):
            os.close(fd)
            result = content(temp)
            _fsync_file(temp)
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return result
