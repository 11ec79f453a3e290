"""``curtailcoin reconcile``: the seed's daily check and unified reconciliation.

The group only: its commands live by kind — reading (:mod:`.reconcile_status`), fixing dates
(:mod:`.reconcile_fix`), the daily check and the checkpoints (:mod:`.reconcile_daily`) — and are
listed here in the order ``reconcile --help`` shows them.

Exit codes: 0 all good, 1 something failed (the summary table says what and why), 2 bad input
(one line on stderr, nothing written).
"""

from __future__ import annotations

import typer

from curtailcoin.cli.reconcile_daily import daily_command, reset_command
from curtailcoin.cli.reconcile_fix import (
    critical_command,
    date_command,
    range_command,
    run_command,
    spot_fix_command,
)
from curtailcoin.cli.reconcile_status import analyze_command, status_command

app = typer.Typer(
    help="Reconciliation: find and fix incomplete, missing, stale and drifted data.",
    no_args_is_help=True,
)

app.command("status")(status_command)
app.command("analyze")(analyze_command)
app.command("run")(run_command)
app.command("date")(date_command)
app.command("range")(range_command)
app.command("critical")(critical_command)
app.command(
    "spot-fix",
    # PERIOD may be written -1: it must reach the period check, not click's option parser.
    context_settings={"ignore_unknown_options": True},
)(spot_fix_command)
app.command("daily")(daily_command)
app.command("reset")(reset_command)
