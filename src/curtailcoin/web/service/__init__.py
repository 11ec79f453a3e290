"""API responses assembled from :mod:`curtailcoin.web.queries`, one module per resource: totals
are always the sums of the rows they are shown with, and every Bitcoin value says which price it
used or why it has none."""
