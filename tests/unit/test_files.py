"""The one atomic-file writer: fsync before the rename, no partial file on error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from curtailcoin.files import TempFileError, write_atomic


def _trace(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record fsyncs (of a file or a directory) and renames, in order."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        events.append(f"replace {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.parametrize("content", ["ünïcode text\n", b"\x00bytes\xff"])
def test_text_and_bytes_are_fsynced_then_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | bytes
) -> None:
    events = _trace(monkeypatch)
    target = tmp_path / "state.json"
    assert write_atomic(target, content) is None
    expected = content.encode("utf-8") if isinstance(content, str) else content
    assert target.read_bytes() == expected
    assert events == ["fsync file", "replace state.json", "fsync dir"]
    assert os.listdir(tmp_path) == ["state.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # mkstemp's mode unless told


def test_a_writer_gets_the_temporary_path_and_its_result_is_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = _trace(monkeypatch)
    target = tmp_path / "out.csv"
    seen: list[Path] = []

    def writer(temp: Path) -> int:
        seen.append(temp)
        assert temp.parent == tmp_path and temp.name.startswith(".out.csv.")
        assert temp.name.endswith(".part")
        temp.write_text("a,b\n1,2\n", encoding="utf-8")
        return 1

    assert write_atomic(target, writer, suffix=".part", mode=0o644) == 1
    assert target.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert events == ["fsync file", "replace out.csv", "fsync dir"]
    assert not seen[0].exists()


def test_an_error_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.json"
    target.write_text("old", encoding="utf-8")

    def failing(temp: Path) -> None:
        temp.write_text("half of the new cont", encoding="utf-8")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic(target, failing)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.json"]


def test_an_interrupt_leaves_no_file_at_all(tmp_path: Path) -> None:
    target = tmp_path / "export.parquet"

    def interrupted(temp: Path) -> None:
        temp.write_bytes(b"PAR1")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert os.listdir(tmp_path) == []


def test_a_failed_fsync_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(target, "{}")
    assert os.listdir(tmp_path) == []


def test_a_missing_directory_is_a_temp_file_error(tmp_path: Path) -> None:
    with pytest.raises(TempFileError) as caught:
        write_atomic(tmp_path / "missing" / "x.json", "{}")
    assert caught.value.strerror == "No such file or directory"
    assert not (tmp_path / "missing").exists()
