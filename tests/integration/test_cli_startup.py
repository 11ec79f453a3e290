"""The CLI starts light: ``--help`` imports no command module, ``reingest --help`` no database,
network or queue library. (The time it takes is measured by ``bench/bench_cli.py``.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup

from curtailcoin.cli.lazy import COMMANDS

HEAVY = ("sqlalchemy", "alembic", "procrastinate", "fastapi", "httpx", "psycopg", "uvicorn")

PROBE = """
import json, sys
from curtailcoin.cli.main import run
try:
    run({args!r})
except SystemExit:
    pass
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("reingest", "--help")])
def test_help_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    loaded = _imported(*args)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    if args == ("--help",):
        assert not any(m.startswith("curtailcoin.cli.") for m in loaded - {"curtailcoin"})


def test_root_help_lists_each_command_with_its_own_short_help() -> None:
    for name, lazy in COMMANDS.items():
        command = lazy.load(name)
        own = command.help or ""
        first = own.strip().split("\n\n")[0].replace("\n", " ")
        assert " ".join(first.split()) == lazy.help, name
    from curtailcoin.cli.main import app

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    assert root.list_commands(None) == list(COMMANDS)  # type: ignore[arg-type]
