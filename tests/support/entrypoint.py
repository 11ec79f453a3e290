"""The installed ``curtailcoin`` entry point: the one beside the interpreter running the tests.

CI runs ``.venv/bin/pytest`` without activating the venv, so ``PATH`` may not have it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CURTAILCOIN = str(Path(sys.executable).parent / "curtailcoin")
assert Path(CURTAILCOIN).exists(), f"{CURTAILCOIN} missing: install the project (pip install -e .)"


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed command, its output captured; the exit code is the caller's to check."""
    return subprocess.run(
        [CURTAILCOIN, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
