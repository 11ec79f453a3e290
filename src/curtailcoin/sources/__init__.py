"""Clients for the outside world: Elexon Insights, mempool.space, price sources."""
