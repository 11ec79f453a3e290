"""``curtailcoin export TABLE``: a table of any date range to CSV or Parquet, streamed.

One subcommand per table of ``exports.tables.TABLES``: the stored tables take the filters, the
``scenario`` the site scenario's own options (declared and checked in ``cli.scenario_options``,
as ``curtailcoin scenario`` takes them) and ``--grain``. Every argument is checked before a file
is opened (one line, exit 2, no file written); the rows are then written chunk by chunk to a
temporary file renamed when complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import typer.core

from curtailcoin.cli import scenario_options as o
from curtailcoin.cli.common import date_argument, engine_for, fail, settings_and_logging
from curtailcoin.pipeline.inputs import BadInput

if TYPE_CHECKING:
    from datetime import date

    from curtailcoin.exports.tables import ExportRequest

CHUNK_ROWS = 20_000

STORED: dict[str, str] = {
    "records": "Curtailment records (SO-flagged wind bids), one row per record.",
    "calculations": "Bitcoin calculations: settlement period x BM unit x tracked model.",
    "daily": "Daily summaries (with --model: its stored BTC).",
    "monthly": "Monthly summaries (with --model: its stored BTC).",
    "yearly": "Yearly summaries (with --model: its stored BTC).",
    "farms": "Farm-day summaries: date x BM unit (with --model: its stored BTC).",
}
"""The stored tables in ``exports.tables.TABLES`` order, with their short help (light: no
SQLAlchemy to list them; a test checks the names against ``TABLES``)."""
SCENARIO_HELP = "The site scenario: a fleet run only when the site was curtailed."
NAMES = (*STORED, "scenario")

START = typer.Option(..., "--from", help="First settlement date (YYYY-MM-DD).")
END = typer.Option(..., "--to", help="Last settlement date (YYYY-MM-DD), inclusive.")
FORMAT = typer.Option("csv", "--format", help="csv | parquet")
OUTPUT = typer.Option(..., "--output", "-o", help="File to write (replaced when done).")


class _Tables(typer.core.TyperGroup):
    """The export's tables as subcommands; an unknown table is one line naming the allowed."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(NAMES)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and not cmd_name.startswith("-"):
            ctx.fail(f"unknown table {cmd_name!r}: allowed {', '.join(NAMES)}")
        return command


app = typer.Typer(
    cls=_Tables,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="""Export a table of any date range to CSV or Parquet, streamed.

    Columns carry their units (curtailed_energy_mwh, payment_gbp, bitcoin_mined_btc …, as in
    the field registry); Parquet columns are typed and missing values are null. Exit 2 on bad
    input, with nothing written.
    """,
)


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        fail(f"unknown {what} {value!r}: allowed {', '.join(allowed)}")
    return value


def _range(start: str, end: str) -> tuple[date, date]:
    first = date_argument(start, "--from")
    last = date_argument(end, "--to")
    if last < first:
        fail(f"--to {last} is before --from {first}: the range must not be reversed")
    return first, last


def _write(name: str, request: ExportRequest, format: str, output: Path) -> None:
    """Check the format and the output, then write the table's rows (one line on bad input)."""
    from curtailcoin.exports.tables import TABLES
    from curtailcoin.exports.writer import (
        FORMATS,
        ExportFormat,
        OutputError,
        check_output,
        write_export,
    )

    kind: ExportFormat = "parquet" if _one_of(format, FORMATS, "format") == "parquet" else "csv"
    chosen = TABLES[name]
    for given in request.given():
        if given not in chosen.filters:
            from curtailcoin.exports.tables import OPTION

            where = ", ".join(n for n, t in TABLES.items() if given in t.filters)
            fail(f"{OPTION[given]} does not apply to {name}: it applies to {where}")
    try:
        check_output(output)
    except OutputError as exc:
        fail(str(exc))
    settings = settings_and_logging(False, "export")
    engine = engine_for(settings)
    if request.model is not None:
        from curtailcoin.web.queries.reference import miner_catalogue

        with engine.connect() as conn:
            known = miner_catalogue(conn)
        if request.model not in known:
            fail(f"unknown --model {request.model!r}: allowed {', '.join(sorted(known))}")
    from curtailcoin.db.engine import read_snapshot

    with read_snapshot(engine) as conn:
        try:
            fields = chosen.fields(request)
            count = write_export(output, kind, fields, chosen.chunks(conn, request, CHUNK_ROWS))
        except (OutputError, BadInput) as exc:  # the scenario is checked before any file
            fail(str(exc))
    print(f"{name} {request.start}..{request.end}: {count} rows to {output} ({kind})")


def _stored(name: str) -> Callable[..., None]:
    """The subcommand of a stored table: the range, the format, the output and the filters."""

    def command(
        start: str = START,
        end: str = END,
        format: str = FORMAT,
        output: Path = OUTPUT,
        lead_party: str | None = typer.Option(
            None, "--lead-party", help="Only this lead party (records, farms)."
        ),
        bm_unit: str | None = typer.Option(
            None, "--bm-unit", help="Only this BM unit (records, calculations, farms)."
        ),
        model: str | None = typer.Option(
            None,
            "--model",
            help="Miner model key: calculations of it; the daily, monthly, yearly and farms "
            "tables gain its stored BTC (tracked models; empty for others).",
        ),
    ) -> None:
        from curtailcoin.exports.tables import ExportRequest

        first, last = _range(start, end)
        _write(name, ExportRequest(first, last, lead_party, bm_unit, model), format, output)

    command.__doc__ = STORED[name] + "\n\nExit 2 on bad input, with nothing written."
    return command


for _name in STORED:
    app.command(_name)(_stored(_name))


@app.command("scenario")
def scenario(
    start: str = START,
    end: str = END,
    format: str = FORMAT,
    output: Path = OUTPUT,
    grain: str = typer.Option("day", "--grain", help="One row per period | day | month | year."),
    bm_unit: list[str] = o.BM_UNIT,
    lead_party: str | None = o.LEAD_PARTY,
    all_wind: bool = o.ALL_WIND,
    model: str = o.MODEL,
    miners: int | None = o.MINERS,
    mw: float | None = o.MW,
    uptime: float = o.UPTIME,
    pool_fee: float = o.POOL_FEE,
    fees: str = o.FEES,
    energy_cost: float = o.ENERGY_COST,
    capex_per_miner: float | None = o.CAPEX_PER_MINER,
    capex_per_th: float | None = o.CAPEX_PER_TH,
    opex_per_month: float = o.OPEX_PER_MONTH,
    btc_price: float | None = o.BTC_PRICE,
) -> None:
    """The site scenario: a fleet run only when the site was curtailed.

    The site, fleet and assumptions as in `curtailcoin scenario` (one or more --bm-unit, a
    --lead-party or --all-wind; --model with --miners or --mw); one row per --grain with the
    scenario's figures (available_mwh, used_mwh, btc, revenue_gbp, margin_gbp …) and a
    missing_reason. Exit 2 on bad input, with nothing written.
    """
    options = o.ScenarioOptions.given(locals())
    from curtailcoin.exports.tables import ExportRequest

    first, last = _range(start, end)
    try:
        request = options.request(first, last, o.level_of(grain, "--grain"))
    except BadInput as exc:
        fail(str(exc))
    _write("scenario", ExportRequest(first, last, scenario=request), format, output)
