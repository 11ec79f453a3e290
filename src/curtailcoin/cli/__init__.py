"""The ``curtailcoin`` command line."""
