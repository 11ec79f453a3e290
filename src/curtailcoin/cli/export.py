"""``curtailcoin export``: a table of any date range to CSV or Parquet, streamed.

Every argument is checked before the database is opened (one line, exit 2, no file written);
the rows are then read in chunks and written to a temporary file renamed when complete.
"""

from __future__ import annotations

from pathlib import Path

import typer

from curtailcoin.cli.common import date_argument, engine_for, fail, settings_and_logging

CHUNK_ROWS = 20_000


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        fail(f"unknown {what} {value!r}: allowed {', '.join(allowed)}")
    return value


def export(
    table: str = typer.Argument(
        ..., help="records | calculations | daily | monthly | yearly | farms"
    ),
    start: str = typer.Option(..., "--from", help="First settlement date (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last settlement date (YYYY-MM-DD), inclusive."),
    format: str = typer.Option("csv", "--format", help="csv | parquet"),
    output: Path = typer.Option(..., "--output", "-o", help="File to write (replaced when done)."),
    lead_party: str | None = typer.Option(
        None, "--lead-party", help="Only this lead party (records, farms)."
    ),
    bm_unit: str | None = typer.Option(
        None, "--bm-unit", help="Only this BM unit (records, calculations, farms)."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Miner model key: calculations of it; the daily, monthly, yearly and farms tables "
        "gain its stored BTC (tracked models; empty for others).",
    ),
) -> None:
    """Export a table of any date range to CSV or Parquet, streamed.

    Columns carry their units (curtailed_energy_mwh, payment_gbp, bitcoin_mined_btc …, as in
    the field registry); Parquet columns are typed and missing values are null. Exit 2 on bad
    input, with nothing written.
    """
    from curtailcoin.exports.tables import OPTION, TABLES, ExportRequest
    from curtailcoin.exports.writer import (
        FORMATS,
        ExportFormat,
        OutputError,
        check_output,
        write_export,
    )

    name = _one_of(table, tuple(TABLES), "table")
    kind: ExportFormat = "parquet" if _one_of(format, FORMATS, "format") == "parquet" else "csv"
    first = date_argument(start, "--from")
    last = date_argument(end, "--to")
    if last < first:
        fail(f"--to {last} is before --from {first}: the range must not be reversed")
    request = ExportRequest(first, last, lead_party, bm_unit, model)
    chosen = TABLES[name]
    for given in request.given():
        if given not in chosen.filters:
            where = ", ".join(n for n, t in TABLES.items() if given in t.filters)
            fail(f"{OPTION[given]} does not apply to {name}: it applies to {where}")
    try:
        check_output(output)
    except OutputError as exc:
        fail(str(exc))
    settings = settings_and_logging(False, "export")
    engine = engine_for(settings)
    if model is not None:
        from curtailcoin.web.queries.reference import miner_catalogue

        with engine.connect() as conn:
            known = miner_catalogue(conn)
        if model not in known:
            fail(f"unknown --model {model!r}: allowed {', '.join(sorted(known))}")
    from curtailcoin.db.engine import read_snapshot

    with read_snapshot(engine) as conn:
        fields = chosen.fields(request)
        try:
            count = write_export(output, kind, fields, chosen.chunks(conn, request, CHUNK_ROWS))
        except OutputError as exc:
            fail(str(exc))
    print(f"{name} {first}..{last}: {count} rows to {output} ({kind})")
