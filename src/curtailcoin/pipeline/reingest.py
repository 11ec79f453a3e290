"""Reingest a settlement date: validate once, fetch every period, then store and derive it in one
transaction.

This is the seed's ``reingest-data.ts`` and ``complete_reingestion_process.ts``. All periods are
fetched first (``pipeline.fetch``); only when every one succeeded does one transaction replace
the date's lines, records and statuses (``pipeline.store``) and its calculations and summaries
(``pipeline.derive``). A failure leaves the database as it was. Callers that hold fetched
answers already (reconciliation) hand them to :func:`write_fetched` directly; the caller holds
the date's lock (``db.locks.DateLocks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, select

from curtailcoin.calculations import VerificationRow, verify_calculations, verify_written
from curtailcoin.config import Settings
from curtailcoin.coverage import expected_period_count
from curtailcoin.db.curtailment_tables import historical_bitcoin_calculations
from curtailcoin.db.dialect import is_in_memory
from curtailcoin.ingest import check_curtailment_data
from curtailcoin.miners import MinerModel, resolve_models
from curtailcoin.pipeline.derive import DerivedDate, derive_date
from curtailcoin.pipeline.fetch import FetchedDate, ensure_network_conditions, fetch_date
from curtailcoin.pipeline.generation import store_generation
from curtailcoin.pipeline.inputs import BadInput, validate_date
from curtailcoin.pipeline.result import ReingestResult
from curtailcoin.pipeline.store import replace_periods
from curtailcoin.reference import ensure_reference_data, load_miner_models
from curtailcoin.registry import ensure_snapshot
from curtailcoin.settlement import periods_in_day
from curtailcoin.shrink_guard import ShrinkVerdict, judge
from curtailcoin.sources.elexon import ElexonClient
from curtailcoin.suspects import (
    clear_suspect,
    fetched_totals,
    record_suspect,
    shrink_limits,
    stored_totals,
)

log = logging.getLogger("curtailcoin.pipeline")


def prepare_database(engine: Engine) -> None:
    """Load the shipped reference data and BM unit snapshot where missing."""
    with engine.begin() as conn:
        ensure_reference_data(conn)
        ensure_snapshot(conn)


def resolve_model_keys(engine: Engine, names: Sequence[str]) -> list[MinerModel]:
    """Resolve model keys against the database catalogue (``BadInput`` when unknown)."""
    with engine.connect() as conn:
        catalogue = load_miner_models(conn)
    try:
        return resolve_models(names, catalogue)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


async def reingest_date(
    engine: Engine,
    settings: Settings,
    settlement_date: date,
    *,
    models: Sequence[MinerModel] | None = None,
    skip_bitcoin: bool = False,
    skip_verify: bool = False,
    clear_all_models: bool = False,
    client: ElexonClient | None = None,
    periods: Sequence[int] | None = None,
    now: datetime | None = None,
    accept_shrink: bool = False,
    detected_by: str = "reingest",
    generation: bool | None = None,
) -> ReingestResult:
    """Fetch every published period of the date (or ``periods``), then :func:`write_fetched`.

    A whole date's wind generation (AGWS, B1610: ``pipeline.generation``) is fetched with it
    unless ``generation`` is false (default: ``settings.fetch_generation``) and stored in the
    same transaction; its failure is recorded as the generation's status, never the date's.

    ``models`` defaults to the tracked models; ``clear_all_models`` (complete reingestion) also
    removes the date's calculations of every other model. Raises ``BadInput`` for a date
    outside the settlement calendar, ``UnreachableSourceError`` when Elexon cannot be reached.
    """
    validate_date(settlement_date, now)
    prepare_database(engine)
    if models is None:
        models = resolve_model_keys(engine, settings.tracked_models)
    own_client = client is None
    elexon = client or ElexonClient.from_settings(settings)
    try:
        fetched = await fetch_date(
            engine,
            settings,
            elexon,
            settlement_date,
            periods=periods,
            now=now,
            generation=settings.fetch_generation if generation is None else generation,
        )
    finally:
        if own_client:
            await elexon.aclose()
    return await write_fetched(
        engine,
        settings,
        fetched,
        models=models,
        skip_bitcoin=skip_bitcoin,
        skip_verify=skip_verify,
        clear_all_models=clear_all_models,
        now=now,
        accept_shrink=accept_shrink,
        detected_by=detected_by,
    )


async def write_fetched(
    engine: Engine,
    settings: Settings,
    fetched: FetchedDate,
    *,
    models: Sequence[MinerModel],
    skip_bitcoin: bool = False,
    skip_verify: bool = False,
    clear_all_models: bool = False,
    now: datetime | None = None,
    accept_shrink: bool = False,
    detected_by: str = "reingest",
) -> ReingestResult:
    """Store and derive fetched periods in one transaction; nothing when any period failed.

    An answer the drift guard finds implausible (``shrink_guard.judge`` over the periods being
    replaced) is not written: the date is recorded in ``suspect_dates`` (by ``detected_by``)
    and ``result.suspect`` is set — unless ``accept_shrink``, which applies it.
    """
    settlement_date = fetched.settlement_date
    result = ReingestResult(
        settlement_date,
        periods_in_day(settlement_date),
        periods_requested=len(fetched.results),
        periods_expected=expected_period_count(settlement_date, now),
        models=[m.key for m in models],
        bitcoin_skipped=skip_bitcoin,
        warnings=list(fetched.warnings),
        requests=fetched.requests
        + (fetched.generation.requests if fetched.generation is not None else 0),
        retries=fetched.retries,
        timeouts=fetched.timeouts,
        fetch_seconds=fetched.seconds,
        failed_periods=fetched.failed,
        failure_causes=fetched.causes,
        fetch=fetched,
    )
    if not fetched.ok:
        log.error(
            "fetch failed; date left unchanged",
            extra={"date": settlement_date.isoformat(), "periods": sorted(result.failed_periods)},
        )
        _fill_stored_totals(engine, result)
        return result

    timeline = await ensure_network_conditions(engine, settings, settlement_date, result.warnings)
    keys = [m.key for m in models]

    def write() -> DerivedDate | None:
        started = time.perf_counter()
        with engine.begin() as conn:
            result.shrink = _judge_answer(conn, settings, fetched)
            if result.shrink.suspect and not accept_shrink:
                record_suspect(conn, settlement_date, result.shrink, detected_by)
                return None
            result.shrink_accepted = result.shrink.suspect
            clear_suspect(conn, settlement_date)
            stored = replace_periods(
                conn,
                settlement_date,
                fetched.results,
                fetched.wind,
                timeline,
                whole_date=fetched.whole_date,
            )
            others: list[str] = []
            if clear_all_models and not skip_bitcoin:
                # complete reingestion: no calculation of any other model survives the date
                others = [k for k in _stored_models(conn, settlement_date) if k not in keys]
                conn.execute(
                    historical_bitcoin_calculations.delete().where(
                        historical_bitcoin_calculations.c.settlement_date == settlement_date,
                        historical_bitcoin_calculations.c.miner_model.in_(others),
                    )
                )
            derived = derive_date(
                conn,
                settlement_date,
                [] if skip_bitcoin else keys,
                fetched.periods,
                base=stored.base,
                stack=stored.stack,
                also_summarise=others,
            )
            if fetched.generation is not None:
                store_generation(conn, fetched.generation)
                result.generation = fetched.generation
                result.warnings.extend(fetched.generation.warnings)
        result.write_seconds = time.perf_counter() - started
        result.written = True
        result.pending_periods = list(stored.pending_periods)
        return derived

    def write_and_verify() -> None:
        derived = write()
        if derived is None:
            return
        _fill_stored_totals(engine, result)
        if not skip_verify and not skip_bitcoin:
            with engine.connect() as conn:
                result.verification = _verify(conn, derived, models)
            result.verified = True

    # The database work is blocking: run it in a thread so that the event loop keeps serving
    # other dates' requests and a worker's heartbeat (an in-memory SQLite stays on this thread).
    if _thread_safe(engine):
        await asyncio.to_thread(write_and_verify)
    else:
        write_and_verify()
    if result.suspect:
        _fill_stored_totals(engine, result)
        log.warning(
            "date suspect; stored data kept",
            extra={
                "date": settlement_date.isoformat(),
                "reason": result.suspect_reason,
                "detected_by": detected_by,
            },
        )
        return result
    if result.shrink_accepted:
        log.warning(
            "suspect answer applied on request",
            extra={"date": settlement_date.isoformat(), "reason": result.suspect_reason},
        )
    log.info(
        "date reingested",
        extra={
            "date": settlement_date.isoformat(),
            "records": result.records,
            "periods_fetched": result.periods_fetched,
            "fetch_s": round(result.fetch_seconds, 3),
            "write_s": round(result.write_seconds, 3),
        },
    )
    return result


def _stored_models(conn: Connection, settlement_date: date) -> list[str]:
    c = historical_bitcoin_calculations.c
    return list(
        conn.execute(
            select(c.miner_model).distinct().where(c.settlement_date == settlement_date)
        ).scalars()
    )


def _verify(
    conn: Connection, derived: DerivedDate, models: Sequence[MinerModel]
) -> list[VerificationRow]:
    """The verification table: from memory when the whole date was just derived."""
    if derived.whole_date:
        return verify_written(
            conn,
            derived.settlement_date,
            list(models),
            derived.energies,
            derived.conditions,
            derived.rows,
        )
    return verify_calculations(conn, derived.settlement_date, list(models))


def _judge_answer(conn: Connection, settings: Settings, fetched: FetchedDate) -> ShrinkVerdict:
    """The drift guard's verdict on replacing the stored periods with the answers."""
    periods = fetched.periods
    return judge(
        stored_totals(conn, fetched.settlement_date, periods),
        fetched_totals(fetched.results, fetched.wind),
        shrink_limits(settings),
        periods,
    )


def _thread_safe(engine: Engine) -> bool:
    """False for an in-memory SQLite database (one connection per thread would be empty)."""
    return not is_in_memory(engine)


def _fill_stored_totals(engine: Engine, result: ReingestResult) -> None:
    """Headline totals and BTC per model as the database now holds them for the date."""
    with engine.connect() as conn:
        check = check_curtailment_data(conn, result.settlement_date)
        c = historical_bitcoin_calculations.c
        btc = dict(
            conn.execute(
                select(c.miner_model, func.sum(c.bitcoin_mined_btc))
                .where(
                    c.settlement_date == result.settlement_date, c.miner_model.in_(result.models)
                )
                .group_by(c.miner_model)
            ).all()
        )
    result.records = check.records
    result.farms = check.farms
    result.curtailed_mwh = check.curtailed_energy_mwh
    result.payment_gbp = check.payment_gbp
    result.periods_fetched = check.periods_fetched
    result.incomplete_periods = check.incomplete_periods
    result.bitcoin = {key: float(btc.get(key, 0.0)) for key in result.models}
