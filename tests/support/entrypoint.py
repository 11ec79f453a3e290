"""The installed ``curtailcoin`` entry point: the one beside the interpreter running the tests.

CI runs ``.venv/bin/pytest`` without activating the venv, so ``PATH`` may not have it.
"""

from __future__ import annotations

import sys
from pathlib import Path

CURTAILCOIN = str(Path(sys.executable).parent / "curtailcoin")
assert Path(CURTAILCOIN).exists(), f"{CURTAILCOIN} missing: install the project (pip install -e .)"
