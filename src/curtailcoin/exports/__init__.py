"""Exports of any date range to CSV or Parquet, streamed (``curtailcoin export``)."""
