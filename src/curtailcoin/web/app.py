"""The FastAPI application: JSON API, dashboard, error handling and security headers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curtailcoin import __version__
from curtailcoin.config import Settings, get_settings
from curtailcoin.simulated import HEADER
from curtailcoin.web import about, dashboard
from curtailcoin.web.cache import CacheMiddleware, ResponseCache
from curtailcoin.web.deps import AppContext
from curtailcoin.web.errors import ApiError
from curtailcoin.web.params import InputError
from curtailcoin.web.routes import (
    curtailment,
    farms,
    health,
    ingest,
    mining,
    prices,
    reconciliation,
    reference,
    scenario,
    share,
    wind_generation,
)

log = logging.getLogger("curtailcoin.web")

DESCRIPTION = """
How much Bitcoin could have been mined with the wind energy Great Britain paid wind farms to
curtail, and how that compares with what the curtailment cost.

**Units and signs (every route):**
* energy (`curtailedEnergy`, `totalCurtailedEnergy`): **MWh, positive** (−Σ Elexon volume);
* money (`totalPayment`, `payment`, `curtailmentPayment`): **£ paid to the farms** — positive
  when farms were paid to switch off (usual), negative when farms paid. Never an absolute value;
* Bitcoin (`bitcoinMined`, `potentialBtc`): **BTC** expected had all curtailed energy run the
  chosen miner model: `E × 3.6e9 / P × H × 1e12 / (D × 2^32) × R` with each settlement period's
  difficulty `D` and block subsidy `R`;
* prices: 1 BTC in GBP/USD on a date = its UTC close; values are given at each date's price and at
  the latest stored price, labelled. A missing price gives `null` and a `missingReason`.

Settlement dates are Europe/London days of 46, 48 or 50 half-hour periods. Dates may not be in
the future. Errors are `{"error": "...", "detail": [...]}` with 422 for invalid input.
"""

TAGS = [
    {"name": "summary", "description": "Curtailed energy and payments to farms"},
    {"name": "curtailment", "description": "Curtailment by local clock hour"},
    {"name": "mining potential", "description": "Bitcoin the curtailed energy could have mined"},
    {"name": "farms", "description": "Lead parties and their BM units"},
    {
        "name": "site economics",
        "description": "A fleet of miners at a site run only when it was curtailed: scenario, "
        "sizing sweep, duration curve (docs/economics.md)",
    },
    {
        "name": "curtailment share",
        "description": "Curtailed ÷ (generated + curtailed) wind energy, national and per farm",
    },
    {"name": "reference", "description": "Miner models, lead parties, prices, data range"},
    {"name": "service", "description": "Health and data completeness"},
    {"name": "ingestion", "description": "Token-protected reingestion"},
]

# In the order of the OpenAPI document's paths.
ROUTERS = (
    health,
    reference,
    curtailment,
    share,
    mining,
    farms,
    scenario,
    wind_generation,
    prices,
    reconciliation,
    ingest,
)

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
DASHBOARD_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


SIMULATED_HEADER = (HEADER.lower().encode(), b"simulated")


class SecurityHeaders:
    """Adds security headers to every response (a CSP on the dashboard pages), and
    ``X-CurtailCoin-Data: simulated`` to every response from a demo database."""

    def __init__(self, app: ASGIApp, ctx: AppContext | None = None) -> None:
        self.app = app
        self.ctx = ctx

    def _simulated(self) -> bool:
        try:
            return self.ctx is not None and self.ctx.simulated
        except SQLAlchemyError:  # the database is down: the routes answer 503 themselves
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_page = (
            path in ("/", "/about", "/sizing")
            or path.startswith("/static/")
            or path.startswith("/vendor/")
        )
        simulated = self._simulated()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key not in present:
                        headers.append((key, value))
                if is_page:
                    headers.append((b"content-security-policy", DASHBOARD_CSP))
                if simulated:
                    headers.append(SIMULATED_HEADER)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def _error(
    status: int,
    message: str,
    detail: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def _loc_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    return parts[-1] if parts else "request"


_frozen = False


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Before the first request of a process: what is loaded by then (modules, the routes and
    their schemas, about 100k objects) leaves the garbage collector's generations. A full
    collection scans every tracked object; under load the interpreter ran one every second or
    so, and each stopped every request for ~100 ms. Refcounting still frees frozen objects."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
    yield
    cache: ResponseCache | None = getattr(app.state, "cache", None)
    if cache is not None:
        cache.close()


def create_app(settings: Settings | None = None, *, cache: bool = True) -> FastAPI:
    """The application for ``settings`` (default: the process settings).

    ``cache`` enables the data-version response cache of :mod:`curtailcoin.web.cache`.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="CurtailCoin API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,  # served below with Swagger UI from the installed package (no CDN)
        lifespan=lifespan,
    )
    app.mount(
        "/vendor/swagger-ui",
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="swagger-ui",
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="CurtailCoin API",
            swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
        )
        if not app.state.ctx.simulated:
            return page
        banner = dashboard.TEMPLATES.get_template("_simulated.html").render(simulated=True)
        html = bytes(page.body).decode().replace("<body>", "<body>" + banner, 1)
        return HTMLResponse(html)

    app.state.ctx = AppContext(settings=settings, started_at=datetime.now(UTC))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
        name = _loc_name(first["loc"])  # type: ignore[arg-type]
        return _error(422, f"invalid {name}: {first['msg']}", detail)

    @app.exception_handler(InputError)
    async def input_error(_request: Request, exc: InputError) -> JSONResponse:
        return _error(
            422, str(exc), [{"loc": list(exc.loc), "msg": str(exc), "type": "value_error"}]
        )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, str(exc), headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error(
            "database error",
            extra={"path": request.url.path, "error": type(exc).__name__},
            exc_info=exc,
        )
        if (
            isinstance(exc, OperationalError | DBAPIError)
            and getattr(exc, "connection_invalidated", False)
        ) or isinstance(exc, OperationalError):
            return _error(503, "database unavailable; try again shortly")
        return _error(500, "internal error (logged on the server)")

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"path": request.url.path}, exc_info=exc)
        return _error(500, "internal error (logged on the server)")

    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(dashboard.router)
    app.include_router(about.router)
    if cache:
        ctx: AppContext = app.state.ctx
        app.state.cache = ResponseCache(lambda: ctx.engine)
        app.add_middleware(CacheMiddleware, cache=app.state.cache)
    app.add_middleware(SecurityHeaders, ctx=app.state.ctx)
    return app
