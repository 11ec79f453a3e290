"""The dashboard page, its static files, and Plotly's JavaScript from the installed package.

``TEMPLATES`` (the package's Jinja2 templates) and :func:`asset_version` also serve the
methodology page (``curtailcoin.web.about``).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from curtailcoin import __version__
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, settlement_today

router = APIRouter(include_in_schema=False)

TEMPLATES = Environment(
    loader=PackageLoader("curtailcoin.web", "templates"),
    autoescape=select_autoescape(["html"]),
)
_lock = threading.Lock()
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


class Asset:
    """A file served from memory, with an ETag and a gzip copy."""

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.gzipped = gzip.compress(body, compresslevel=6)
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def response(self, request: Request, max_age: int) -> Response:
        headers = {
            "ETag": self.etag,
            "Cache-Control": f"public, max-age={max_age}",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(self.gzipped, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


@lru_cache(maxsize=1)
def plotly_asset() -> Asset:
    """``plotly.min.js`` from the installed ``plotly`` package (never a CDN)."""
    with _lock:
        path = files("plotly") / "package_data" / "plotly.min.js"
        if path.is_file():
            body = path.read_bytes()
        else:  # pragma: no cover - older plotly layouts
            from plotly.offline import get_plotlyjs

            body = get_plotlyjs().encode("utf-8")
        return Asset(body, STATIC_TYPES[".js"])


@lru_cache(maxsize=16)
def static_asset(name: str) -> Asset | None:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        return None
    path = files("curtailcoin.web") / "static" / name
    if not path.is_file():
        return None
    return Asset(path.read_bytes(), STATIC_TYPES[suffix])


@lru_cache(maxsize=1)
def asset_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for name in ("dashboard.css", "dashboard.js", "share.js", "sizing.js"):
        asset = static_asset(name)
        if asset is not None:
            digest.update(asset.body)
    return digest.hexdigest()[:12]


def _render(request: Request, template: str) -> HTMLResponse:
    ctx = getattr(request.app.state, "ctx", None)
    html = TEMPLATES.get_template(template).render(
        version=__version__,
        v=asset_version(),
        today=settlement_today().isoformat(),
        earliest=FIRST_SETTLEMENT_DATE.isoformat(),
        default_model=ctx.default_model if ctx is not None else "",
        simulated=ctx is not None and ctx.simulated,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    # The settlement date and default miner model let the script request the first view's data
    # straight away, in parallel with /api/data-range (no database access here).
    return _render(request, "dashboard.html")


@router.get("/sizing", response_class=HTMLResponse)
def sizing_page(request: Request) -> HTMLResponse:
    """The "Site sizing" view: a fleet at a site (``/api/scenario``, ``/api/scenario/sizing``)."""
    return _render(request, "sizing.html")


@router.get("/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    return plotly_asset().response(request, 86400)


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    asset = static_asset(name)
    if asset is None:
        return Response('{"error":"not found"}', status_code=404, media_type="application/json")
    return asset.response(request, 3600)
