"""``curtailcoin scenario``: a fleet at a site run only when curtailed (issue 12).

Everything is checked before the database is opened where it can be (site options, sizes,
assumptions), the rest (unknown unit, lead party or model; dates) before anything is read
further; each bad input is one line and exit 2. The command only reads (one snapshot).
Heavy imports are made inside the function, so ``scenario --help`` costs only Typer.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from curtailcoin.cli import scenario_options as o
from curtailcoin.cli.common import date_argument, fail, settings_and_logging
from curtailcoin.pipeline.inputs import BadInput

if TYPE_CHECKING:
    from curtailcoin.config import Settings
    from curtailcoin.economics.inputs import Assumptions
    from curtailcoin.economics.results import (
        DurationPoint,
        DurationResult,
        Level,
        ScenarioResult,
        SizingResult,
    )
    from curtailcoin.economics.site import Site


def _money(value: float | None) -> str:
    return "missing" if value is None else f"£{value:,.0f}"


def _btc(value: float | None) -> str:
    return "missing" if value is None else f"{value:.8f}"


def _sizes(text: str) -> list[float]:
    from curtailcoin.economics.sizing import size_grid
    from curtailcoin.pipeline.inputs import BadInput

    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise BadInput(
            f"invalid --sizes {text!r}: expected MIN:MAX:COUNT in MW, e.g. 1:500:50"
        ) from None
    return size_grid(low, high, count)


def _revenue(value: float | None, unpriced_btc: float) -> str:
    """Revenue, starred when part of the row's BTC has no price (not counted)."""
    return _money(value) + ("*" if value is not None and unpriced_btc else "")


def _print_scenario(result: ScenarioResult) -> None:
    from rich.table import Table

    from curtailcoin.cli.common import console

    f = result.fleet
    table = Table(
        title=(
            f"{f.miners:,} × {f.model_key} ({f.capacity_mw:,.3f} MW) at {result.site}, "
            f"{result.start.isoformat()}..{result.end.isoformat()}"
        )
    )
    columns = (result.level.capitalize(), "Used MWh", "Util.", "Hours", "BTC", "Revenue", "Margin")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in [*result.rows, result.total]:
        table.add_row(
            row.key,
            f"{row.used_mwh:,.1f}",
            f"{row.utilisation:.1%}",
            f"{row.hours_run_h:,.1f}",
            _btc(row.btc),
            _revenue(row.revenue_gbp, row.unpriced_btc),
            _revenue(row.margin_gbp, row.unpriced_btc),
            end_section=bool(result.rows) and row is result.rows[-1],
        )
    console.print(table)
    t, price = result.total, result.price
    latest = (
        "no stored price"
        if price.latest_price_date is None
        else f"£{price.latest_gbp_per_btc:,.2f}/BTC on {price.latest_price_date.isoformat()}"
    )
    totals = Table(title="Total", show_header=False)
    totals.add_column("item", style="bold")
    totals.add_column("value", justify="right")
    totals.add_row("Curtailed energy available", f"{t.available_mwh:,.1f} MWh")
    totals.add_row("Used / spilled", f"{t.used_mwh:,.1f} / {t.spilled_mwh:,.1f} MWh")
    totals.add_row("Fleet capacity over the range", f"{t.capacity_mwh:,.1f} MWh")
    totals.add_row("Utilisation", f"{t.utilisation:.2%}")
    totals.add_row(
        "Hours run / at full load", f"{t.hours_run_h:,.1f} / {t.full_load_hours_h:,.1f} h"
    )
    totals.add_row("Bitcoin", f"{_btc(t.btc)} BTC")
    totals.add_row(f"Revenue at {price.label}", _revenue(t.revenue_gbp, t.unpriced_btc))
    totals.add_row(f"Revenue at the latest price ({latest})", _money(t.revenue_at_latest_price_gbp))
    totals.add_row("Energy cost / opex", f"{_money(t.energy_cost_gbp)} / {_money(t.opex_gbp)}")
    totals.add_row("Margin", _revenue(t.margin_gbp, t.unpriced_btc))
    pb = result.payback
    if pb.status == "reached":
        totals.add_row(f"Payback of {_money(pb.capex_gbp)}", f"{pb.months} months ({pb.month})")
    elif pb.status == "not_within_range":
        totals.add_row(f"Payback of {_money(pb.capex_gbp)}", "not within the range")
    else:
        totals.add_row("Payback", "no capex given")
    console.print(totals)
    if t.pending_mwh:
        console.print(f"[yellow]missing:[/] BTC of {t.pending_mwh:,.1f} MWh (difficulty pending)")
    if t.no_fee_data_mwh:
        console.print(f"[yellow]missing:[/] BTC of {t.no_fee_data_mwh:,.1f} MWh (no fee data)")
    if t.unpriced_btc:
        console.print(
            f"[yellow]missing:[/] * the value of {t.unpriced_btc:.8f} BTC (dates without a "
            "BTC/GBP price; fetch them with `curtailcoin prices update`)"
        )


def _print_sizing(result: SizingResult) -> None:
    from rich.table import Table

    from curtailcoin.cli.common import console

    table = Table(
        title=(
            f"Sizing {result.model_key} at {result.site}, "
            f"{result.start.isoformat()}..{result.end.isoformat()}"
        )
    )
    for column in (
        "Size MW",
        "Miners",
        "BTC",
        "Utilisation",
        "Revenue",
        "Revenue per MW",
        "Margin",
        "Payback months",
    ):
        table.add_column(column, justify="right")
    for p in result.sizes:
        table.add_row(
            f"{p.size_mw:,.2f}",
            f"{p.miners:,}",
            f"{p.btc:.8f}",
            f"{p.utilisation:.1%}",
            _money(p.revenue_gbp),
            _money(p.revenue_per_mw_gbp),
            _money(p.margin_gbp),
            "-" if p.payback_months is None else str(p.payback_months),
        )
    console.print(table)
    best = result.best
    if best is None:
        console.print(f"Best size: none ({result.best_reason}).")
    else:
        console.print(
            f"Best size: {best.size_mw:,.2f} MW ({best.miners:,} miners), payback "
            f"{best.payback_months} months ({result.best_reason})."
        )


def _print_duration(points: list[DurationPoint], site: str) -> None:
    from rich.table import Table

    from curtailcoin.cli.common import console

    table = Table(title=f"Curtailment duration curve of {site}")
    for column in ("At least MW", "Hours", "Hours per year"):
        table.add_column(column, justify="right")
    for p in points:
        table.add_row(f"{p.mw:,.2f}", f"{p.hours:,.1f}", f"{p.hours_per_year:,.1f}")
    console.print(table)


def _write_csv(rows: list[Any]) -> None:
    from curtailcoin.economics.results import to_json

    records = [to_json(r) for r in rows]
    if not records:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in record.items()})


def scenario(
    bm_unit: list[str] = o.BM_UNIT,
    lead_party: str | None = o.LEAD_PARTY,
    all_wind: bool = o.ALL_WIND,
    model: str = o.MODEL,
    miners: int | None = o.MINERS,
    mw: float | None = o.MW,
    start_text: str = typer.Option(..., "--from", help="First settlement date, YYYY-MM-DD."),
    end_text: str | None = typer.Option(
        None, "--to", help="Last settlement date, YYYY-MM-DD (default today)."
    ),
    uptime: float = o.UPTIME,
    pool_fee: float = o.POOL_FEE,
    fees: str = o.FEES,
    energy_cost: float = o.ENERGY_COST,
    capex_per_miner: float | None = o.CAPEX_PER_MINER,
    capex_per_th: float | None = o.CAPEX_PER_TH,
    opex_per_month: float = o.OPEX_PER_MONTH,
    btc_price: float | None = o.BTC_PRICE,
    by: str = typer.Option("month", "--by", help="Rows per period | day | month | year."),
    sizing: bool = typer.Option(False, "--sizing", help="Sweep fleet sizes (--sizes) instead."),
    sizes: str = typer.Option("1:500:50", "--sizes", help="Sizes to sweep, MIN:MAX:COUNT in MW."),
    duration: bool = typer.Option(
        False, "--duration-curve", help="The site's curtailment duration curve."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the rows as CSV on stdout."),
) -> None:
    """A fleet of miners at a site, run only when it was curtailed: energy, BTC, £, payback.

    The site is one or more --bm-unit, a --lead-party or --all-wind; the fleet --model with
    --miners or --mw. --sizing sweeps fleet sizes from the same per-period energies and
    names the size with the shortest payback; --duration-curve shows the hours with at least
    x MW curtailed. Exit 2 on bad input (one line, nothing written).
    """
    options = o.ScenarioOptions.given(locals())
    settings = settings_and_logging(False, "scenario")
    start = date_argument(start_text, "--from")
    end = date_argument(end_text, "--to") if end_text is not None else None
    if as_json and as_csv:
        fail("--json and --csv: choose one output")
    try:
        site = options.site()
        assumptions = options.assumptions()
        request = _Request(
            site=site,
            model=model,
            start=start,
            end=end,
            miners=miners,
            mw=mw,
            assumptions=assumptions,
            level=o.level_of(by, "--by"),
            grid=_sizes(sizes) if sizing else None,
            duration=duration,
        )
        outcome = _run(settings, request)
    except BadInput as exc:
        fail(str(exc))
    _emit(outcome, as_json=as_json, as_csv=as_csv, duration=duration)


@dataclass
class _Request:
    """What the command was asked, checked (``grid`` set: a sizing sweep)."""

    site: Site
    model: str
    start: date
    end: date | None
    miners: int | None
    mw: float | None
    assumptions: Assumptions
    level: Level
    grid: list[float] | None
    duration: bool


@dataclass
class _Outcome:
    result: ScenarioResult | None = None
    sized: SizingResult | None = None
    curve: DurationResult | None = None


def _run(settings: Settings, r: _Request) -> _Outcome:
    """Run what was asked at one read snapshot (``BadInput`` on what the data refuses)."""
    from curtailcoin.cli.common import engine_for
    from curtailcoin.db.engine import read_snapshot
    from curtailcoin.economics.scenario import (
        ScenarioRequest,
        SizingRequest,
        run_duration_curve,
        run_scenario,
        run_sizing,
    )
    from curtailcoin.settlement import settlement_today

    no_fleet = r.miners is None and r.mw is None
    if r.grid is None and not r.duration and (r.miners is None) == (r.mw is None):
        raise BadInput("fleet size: give exactly one of --miners N or --mw X")
    end = r.end if r.end is not None else settlement_today()
    out = _Outcome()
    with read_snapshot(engine_for(settings)) as conn:
        if r.grid is not None:
            request = SizingRequest(r.site, r.model, r.start, end, r.grid, r.assumptions)
            out.sized = run_sizing(conn, request)
            return out
        if not no_fleet:
            out.result = run_scenario(
                conn,
                ScenarioRequest(
                    r.site, r.model, r.start, end, r.miners, r.mw, r.assumptions, r.level
                ),
            )
        if r.duration:
            out.curve = run_duration_curve(conn, r.site, r.start, end)
    return out


def _emit(out: _Outcome, *, as_json: bool, as_csv: bool, duration: bool) -> None:
    if as_json:
        _print_json(out)
    elif as_csv:
        _print_csv(out, duration)
    else:
        _print_tables(out, duration)


def _print_json(out: _Outcome) -> None:
    from curtailcoin.economics.results import to_json

    if out.result is not None:
        data = to_json(out.result)
        if out.curve is not None:
            data["duration_curve"] = to_json(out.curve.duration_curve)
    else:
        data = to_json(out.sized if out.sized is not None else out.curve)
    print(json.dumps(data))


def _print_csv(out: _Outcome, duration: bool) -> None:
    if out.result is not None:
        _write_csv([*out.result.rows, out.result.total])
    elif out.sized is not None:
        _write_csv(out.sized.duration_curve if duration else out.sized.sizes)
    elif out.curve is not None:
        _write_csv(out.curve.duration_curve)


def _print_tables(out: _Outcome, duration: bool) -> None:
    if out.result is not None:
        _print_scenario(out.result)
    if out.sized is not None:
        _print_sizing(out.sized)
        if duration:
            _print_duration(out.sized.duration_curve, out.sized.site)
    if out.curve is not None:
        _print_duration(out.curve.duration_curve, out.curve.site)
