"""Web dashboard and JSON API (FastAPI)."""

from curtailcoin.web.app import create_app

__all__ = ["create_app"]
