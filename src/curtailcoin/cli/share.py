"""``curtailcoin share``: the curtailment share of a date range, national or per farm."""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, Any, cast

import typer
from rich import box
from rich.table import Table

from curtailcoin.cli.common import console, date_argument, engine_for, fail, settings_and_logging

if TYPE_CHECKING:
    from curtailcoin.web.share_schemas import Grain

GRAINS = ("period", "day", "month", "year")
BYS = ("leadParty", "bmUnit")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _mwh(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _write_csv(rows: list[Any]) -> None:
    from curtailcoin.tabular import csv_cell

    writer = csv.writer(sys.stdout, lineterminator="\n")
    names = list(type(rows[0]).model_fields) if rows else []
    writer.writerow(names)
    for row in rows:
        writer.writerow([csv_cell(getattr(row, n)) for n in names])


def share(
    start: str = typer.Option(..., "--from", help="First settlement date (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last settlement date (YYYY-MM-DD), inclusive."),
    grain: str = typer.Option("day", "--grain", help="Rows per period, day, month or year."),
    farms: bool = typer.Option(
        False, "--farms", help="Per lead party or BM unit (metered B1610) instead of national."
    ),
    by: str = typer.Option("leadParty", "--by", help="With --farms: leadParty or bmUnit."),
    lead_party: str | None = typer.Option(
        None, "--lead-party", help="With --farms: only this lead party."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="JSON (the API's answer) instead of a table."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="CSV rows on stdout instead of a table."),
) -> None:
    """Curtailment share: curtailed ÷ (wind generated + curtailed), national or per farm.

    National generation is AGWS onshore + offshore wind; per farm, B1610 metered generation.
    A row whose generation (or stack) is not complete shows no share and says why; B1610 that
    Elexon has not published yet (five days after the day) is shown as pending, with the date
    it is expected from.
    """
    first = date_argument(start, "--from")
    last = date_argument(end, "--to")
    if last < first:
        fail(f"--to {end!r} is before --from {start!r}")
    if grain not in GRAINS:
        fail(f"--grain {grain!r}: allowed {', '.join(GRAINS)}")
    if by not in BYS:
        fail(f"--by {by!r}: allowed {', '.join(BYS)}")
    if as_json and as_csv:
        fail("--json and --csv: choose one")
    from curtailcoin.db.engine import read_snapshot
    from curtailcoin.pipeline import prepare_database
    from curtailcoin.web.service import share as service
    from curtailcoin.web.share_schemas import FarmShares, ShareRow

    if grain == "period" and (last - first).days >= service.MAX_PERIOD_DAYS:
        fail(f"--grain period covers at most {service.MAX_PERIOD_DAYS} days")
    engine = engine_for(settings_and_logging(False, "share"))
    prepare_database(engine)
    with read_snapshot(engine) as conn:
        result = (
            service.farm_share(conn, first, last, by, lead_party)
            if farms
            else service.national_share(conn, first, last, cast("Grain", grain))
        )
    if as_json:
        print(json.dumps(result.model_dump(mode="json", by_alias=True)))
        return
    if as_csv:
        _write_csv(list(result.rows))
        return
    table = Table(title=f"Curtailment share {first} .. {last}", box=box.SIMPLE_HEAD)
    first_column = "lead party / BM unit" if farms else grain
    for name in (first_column, "curtailed MWh", "generated MWh", "share", "missing because"):
        table.add_column(
            name, justify="left" if name in (first_column, "missing because") else "right"
        )
    for row in result.rows:
        if isinstance(row, ShareRow):
            label = row.period
        else:
            label = row.farm_id or row.lead_party_name or "(no lead party)"
        table.add_row(
            label,
            _mwh(row.curtailed_energy_mwh),
            _mwh(row.generated_energy_mwh),
            _pct(row.curtailment_share),
            row.missing_reason or "",
        )
    console.print(table)
    from curtailcoin.coverage import B1610_PUBLICATION_LAG_DAYS as lag_days

    for pending in result.pending if isinstance(result, FarmShares) else []:
        console.print(
            f"[cyan]pending:[/] B1610 of {pending.date} not yet published (Elexon publishes it "
            f"{lag_days} days after the settlement day: expected from {pending.expected_from});"
            " the farm shares appear once it is fetched"
        )
