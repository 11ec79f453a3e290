"""Test and benchmark support that is not shipped in the package.

Importable as ``support`` from ``tests/unit`` and ``tests/integration`` (pytest's ``pythonpath``
in ``pyproject.toml`` puts ``tests/`` on ``sys.path``) and from ``bench/`` scripts, which add
``tests/`` to ``sys.path`` first.
"""
