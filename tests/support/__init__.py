"""Test and benchmark support that is not shipped in the package.

Importable as ``support`` from the tests (pytest puts ``tests/`` on ``sys.path`` for the rootdir
``conftest.py``) and from ``bench/`` scripts, which add ``tests/`` to ``sys.path`` first.
"""
