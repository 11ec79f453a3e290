"""``curtailcoin testserver …``: run a local Elexon, mempool.space or CoinGecko test server.

Each command serves in the foreground until Ctrl-C and prints the base URL and the
``export CURTAILCOIN_…_BASE_URL=…`` line that points CurtailCoin at it.
"""

from __future__ import annotations

import math
import re
import threading
from datetime import date
from typing import Annotated, Any

import typer

from curtailcoin.settlement import parse_date
from curtailcoin.testservers.coingecko import CoinGeckoTestServer
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.faults import FAULT_KINDS
from curtailcoin.testservers.mempool import MempoolTestServer
from curtailcoin.testservers.server import BaseTestServer

app = typer.Typer(
    help="Run local test servers that speak the Elexon Insights, mempool.space and CoinGecko "
    "formats, with deterministic data and injectable faults (see docs/testservers.md).",
    no_args_is_help=True,
)

_FAULT_RE = re.compile(
    r"^(?P<kind>[a-z0-9_]+)(?::(?P<times>\d+))?(?:@(?P<match>[^#]+))?(?:#(?P<params>.+))?$"
)
_DRIFT_PARAMS = ("field", "to", "value", "unit", "line")

FaultOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fault",
        help="Inject a fault: KIND\\[:TIMES]\\[@REGEX]\\[#KEY=VALUE,...], e.g. "
        "'429:3@/stack/all/bid/', '5xx' or 'set_field@/stack/#field=volume,value=NaN,line=0' "
        f"(drift keys: {', '.join(_DRIFT_PARAMS)}). "
        f"Kinds: {', '.join(FAULT_KINDS)}. Repeatable.",
    ),
]
LatencyOption = Annotated[
    float, typer.Option("--latency-ms", help="Delay before every answer, in ms (0 or more).")
]
HostOption = Annotated[str, typer.Option("--host", help="Interface to bind.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the generated data.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print one line per request to stderr.")
]
NoPriceDayOption = Annotated[
    list[str] | None,
    typer.Option("--no-price-day", help="A day without a price (YYYY-MM-DD). Repeatable."),
]
NoFeeDayOption = Annotated[
    list[str] | None,
    typer.Option("--no-fee-day", help="A UTC day without fee data (YYYY-MM-DD). Repeatable."),
]


def _dates(values: list[str] | None, option: str) -> list[date]:
    out = []
    for value in values or []:
        try:
            out.append(parse_date(value))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=option) from None
    return out


def _drift_params(spec: str, text: str | None) -> dict[str, Any]:
    """``field=volume,value=NaN,line=0`` as keyword arguments of ``faults.add``."""
    out: dict[str, Any] = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if not sep or key not in _DRIFT_PARAMS:
            raise typer.BadParameter(
                f"invalid fault {spec!r}: {item!r} is not KEY=VALUE with KEY one of "
                f"{', '.join(_DRIFT_PARAMS)}",
                param_hint="--fault",
            )
        out[key] = int(value) if key == "line" and value.isdigit() else value
    return out


def _check_server_options(port: int, latency_ms: float) -> None:
    """The numbers every test server takes, checked before it binds."""
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"{port} is not allowed: use 0..65535", param_hint="--port")
    if not (math.isfinite(latency_ms) and latency_ms >= 0):
        raise typer.BadParameter(
            f"{latency_ms:g} is not allowed: use 0 or more (milliseconds)",
            param_hint="--latency-ms",
        )


def apply_fault_specs(server: BaseTestServer, specs: list[str] | None) -> None:
    """Queue faults given as ``KIND[:TIMES][@REGEX][#KEY=VALUE,...]``."""
    for spec in specs or []:
        m = _FAULT_RE.match(spec)
        if not m or m["kind"] not in FAULT_KINDS:
            raise typer.BadParameter(
                f"invalid fault {spec!r}: expected KIND[:TIMES][@REGEX][#KEY=VALUE,...] with KIND "
                f"one of {', '.join(FAULT_KINDS)}",
                param_hint="--fault",
            )
        params = _drift_params(spec, m["params"]) if m["params"] else {}
        try:
            server.faults.add(
                m["kind"],
                times=int(m["times"]) if m["times"] else None,
                match=m["match"],
                **params,
            )
        except (ValueError, re.error) as exc:
            raise typer.BadParameter(
                f"invalid fault {spec!r}: {exc}", param_hint="--fault"
            ) from None


def run_until_interrupted(
    server: BaseTestServer, env_var: str, stop: threading.Event | None = None
) -> None:
    """Start the server, print how to use it, serve until Ctrl-C (or ``stop`` is set)."""
    server.start()
    typer.echo(f"{server.name} listening on {server.base_url}")
    typer.echo(f"export {env_var}={server.base_url}")
    typer.echo("Press Ctrl-C to stop.")
    done = stop or threading.Event()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        typer.echo("Stopping.")
    finally:
        server.stop()


@app.command()
def elexon(
    port: Annotated[int, typer.Option("--port", help="Port, 0..65535 (0: any).")] = 8081,
    host: HostOption = "127.0.0.1",
    latency_ms: LatencyOption = 0.0,
    seed: SeedOption = 1,
    heavy_day: Annotated[
        list[str] | None,
        typer.Option("--heavy-day", help="Force a heavy curtailment day (YYYY-MM-DD). Repeatable."),
    ] = None,
    light_day: Annotated[
        list[str] | None, typer.Option("--light-day", help="Force a light day. Repeatable.")
    ] = None,
    calm_day: Annotated[
        list[str] | None, typer.Option("--calm-day", help="Force a calm day. Repeatable.")
    ] = None,
    empty_day: Annotated[
        list[str] | None,
        typer.Option("--empty-day", help="Force a day whose stacks are empty. Repeatable."),
    ] = None,
    b1610_lag_days: Annotated[
        int,
        typer.Option(
            "--b1610-lag-days",
            min=0,
            max=366,
            help="Days after a settlement day ends before its B1610 is served (an empty array "
            "until then, as Elexon's five-day publication lag; 0: at once).",
        ),
    ] = 5,
    fault: FaultOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve the Elexon Insights endpoints (stack, acceptance volumes, BM units, wind
    generation)."""
    _check_server_options(port, latency_ms)
    server = ElexonTestServer(
        seed=seed,
        latency_s=latency_ms / 1000.0,
        host=host,
        port=port,
        verbose=verbose,
        b1610_lag_days=b1610_lag_days,
    )
    for kind, values, option in (
        ("heavy", heavy_day, "--heavy-day"),
        ("light", light_day, "--light-day"),
        ("calm", calm_day, "--calm-day"),
        ("empty", empty_day, "--empty-day"),
    ):
        for d in _dates(values, option):
            server.set_day(d, kind)
    apply_fault_specs(server, fault)
    run_until_interrupted(server, "CURTAILCOIN_ELEXON_BASE_URL")


@app.command()
def mempool(
    port: Annotated[int, typer.Option("--port", help="Port, 0..65535 (0: any).")] = 8082,
    host: HostOption = "127.0.0.1",
    latency_ms: LatencyOption = 0.0,
    seed: SeedOption = 1,
    no_price_day: NoPriceDayOption = None,
    no_fee_day: NoFeeDayOption = None,
    fault: FaultOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve mempool.space difficulty adjustments, BTC prices and fees per block."""
    _check_server_options(port, latency_ms)
    server = MempoolTestServer(
        seed=seed, latency_s=latency_ms / 1000.0, host=host, port=port, verbose=verbose
    )
    server.set_no_price(*_dates(no_price_day, "--no-price-day"))
    server.fee_book.set_gap(*_dates(no_fee_day, "--no-fee-day"))
    apply_fault_specs(server, fault)
    run_until_interrupted(server, "CURTAILCOIN_MEMPOOL_BASE_URL")


@app.command()
def coingecko(
    port: Annotated[int, typer.Option("--port", help="Port, 0..65535 (0: any).")] = 8083,
    host: HostOption = "127.0.0.1",
    latency_ms: LatencyOption = 0.0,
    seed: SeedOption = 1,
    no_price_day: NoPriceDayOption = None,
    fault: FaultOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Serve CoinGecko's BTC price history (market_chart/range)."""
    _check_server_options(port, latency_ms)
    server = CoinGeckoTestServer(
        seed=seed, latency_s=latency_ms / 1000.0, host=host, port=port, verbose=verbose
    )
    server.set_no_price(*_dates(no_price_day, "--no-price-day"))
    apply_fault_specs(server, fault)
    run_until_interrupted(server, "CURTAILCOIN_COINGECKO_BASE_URL")


if __name__ == "__main__":  # pragma: no cover
    app()
