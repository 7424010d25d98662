"""Every integer and date option of every command of the project, fuzzed: edges, negative,
huge, garbage. 0 tracebacks: each run exits 0, 1 or 2, and a failure ends in one error line.

The options are found in the commands' argparse parsers (an option with a `type`, or whose help
names a YYYY format), so a new option is covered without touching this file. Commands run in
this process through `run_from_argv`, the path `manage.py` takes, with stdout and stderr
captured; one test checks the exit code of a real `manage.py` process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import BaseCommand, get_commands, load_command_class
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backfill.services import broker, recovery

APPS = {"backfill", "districts", "simulator", "snapshots", "website"}
# These serve until stopped: for them only the parser runs (a value it accepts would start a
# server), which is where their arguments are checked.
SERVING = {"demo", "run_dashboard_simulator"}
EXPORT = Path(__file__).parent / "districts" / "data"
EDGES = [
    "0",
    "1",
    "-1",
    "2",
    "7",
    "32",
    "33",
    "255",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "-99999999999999999999999",
    "9" * 5000,
    "-" + "9" * 400,
    "1e3",
    "1.5",
    "0x10",
    " 7 ",
    "1_000",
    "",
    "abc",
    "-",
    "--",
    "NaN",
    "\u0661\u0662",
    "2025-03-10",
    "2025-02-30",
    "0001-01-01",
    "9999-12-31",
    "2025-13-01",
    "2025-W11-1",
    "20250310",
    "2025-03",
    "0001-01",
    "9999-12",
    "2025-00",
    "2024-2025",
    "2024-2026",
    "x" * 3000,
]
VALUES = st.one_of(
    st.sampled_from(EDGES),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"{d:%Y-%m}"),
    st.text(max_size=12),
)


def _positional_value(action: argparse.Action) -> str:
    if action.choices:
        return next(iter(action.choices))
    return {"file": str(next(EXPORT.glob("*.csv"))), "job_id": str(uuid.uuid4())}.get(
        action.dest, "nobody"
    )


def _fuzzed_options() -> list[tuple[str, list[str], str, list[str]]]:
    """(command, words before the option, option, words after it) for every integer or date
    option of every command of the project's apps, subcommands included."""
    found = []
    for name, app in sorted(get_commands().items()):
        if app not in APPS:
            continue
        parser = load_command_class(app, name).create_parser("manage.py", name)
        found += _options_of(name, parser, [])
    return found


# Django's own options (--verbosity, --settings, ...) are Django's business.
DJANGO_OPTIONS = {a.dest for a in BaseCommand().create_parser("manage.py", "x")._actions}


def _options_of(name: str, parser: argparse.ArgumentParser, prefix: list[str]) -> list:
    found, positionals, suffix = [], [], []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found += _options_of(name, sub, [*prefix, sub_name])
        elif not action.option_strings and action.nargs not in ("*", "?"):
            positionals.append(_positional_value(action))
    for action in parser._actions:
        if action.option_strings and "--dry-run" in action.option_strings:
            suffix.append("--dry-run")  # what can be previewed is not run
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.dest in DJANGO_OPTIONS:
            continue
        described = f"{action.help or ''} {action.metavar or ''}"
        if action.type is not None or "YYYY" in described:
            found.append((name, [*prefix, *positionals], action.option_strings[-1], suffix))
    return found


OPTIONS = _fuzzed_options()


def run_cli(name: str, argv: list[str]) -> tuple[int, str]:
    """`manage.py <name> <argv>` in this process: (exit code, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        # Created here: a command writes its errors to the stderr of its creation.
        command = load_command_class(get_commands()[name], name)
        if name in SERVING:
            command._called_from_command_line = True  # errors exit 2, as from manage.py
            parser = command.create_parser("manage.py", name)
            try:
                parser.parse_args(argv)
            except SystemExit as exc:
                code = exc.code
        else:
            try:
                command.run_from_argv(["manage.py", name, *argv, "--skip-checks"])
            except SystemExit as exc:
                code = exc.code
    return code, err.getvalue()


def assert_clean_exit(code: int, stderr: str, argv: list[str]) -> None:
    assert "Traceback" not in stderr, (argv, stderr)
    assert code in (0, 1, 2), (argv, code, stderr[-500:])
    if code:
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("CommandError: ") or ": error: " in last, (argv, stderr[-500:])
        assert len(last) < 400, (argv, last[:500])


@pytest.fixture
def quiet_commands(transactional_db, settings, simulator, fast_limits, monkeypatch):
    """Commands run against the local simulator at full speed, with nothing sent to Celery."""
    monkeypatch.setattr(broker, "send", lambda *args, **kwargs: None)
    # No worker runs here: recovery need not broadcast a ping to find that out each time.
    monkeypatch.setattr(recovery, "alive_workers", lambda: set())
    settings.BACKFILL_LIMITS_KEY_PREFIX = f"cli-fuzz-{uuid.uuid4().hex[:12]}"


def test_every_integer_and_date_option_is_found():
    names = {(name, option) for name, _, option, _ in OPTIONS}
    assert {
        ("backfill_recover", "--stale-after"),
        ("backfill_jobs", "--limit"),
        ("backfill_cleanup", "--days"),
        ("run_dashboard_simulator", "--port"),
        ("run_dashboard_simulator", "--today"),
        ("backfill", "--start"),
        ("backfill", "--concurrency"),
        ("closing_dates", "--month"),
        ("snapshots_audit", "--seed"),
        ("demo", "--web-port"),
    } <= names


def _fuzz(name: str, before: list[str], option: str, after: list[str]):
    """Every edge value, then generated ones."""

    @given(value=VALUES)
    @settings(
        max_examples=len(EDGES) + 15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(value):
        argv = [*before, f"{option}={value}", *after]
        assert_clean_exit(*run_cli(name, argv), argv)

    for value in EDGES:
        run = example(value=value)(run)
    return run


def test_no_value_of_any_option_makes_a_traceback(quiet_commands):
    failures = []
    for name, before, option, after in OPTIONS:
        try:
            _fuzz(name, before, option, after)()
        except (Exception, BaseExceptionGroup) as exc:  # every option's failure is reported
            failures.append(f"{name} {option}: {_describe(exc)}"[:2000])
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    "argv,error",
    [
        (
            ["backfill_recover", "--stale-after", "99999999999999999999999"],
            "argument --stale-after: must be at most 31622400, got 99999999999999999999999",
        ),
        (
            ["backfill_jobs", "--limit", "99999999999999999999999"],
            "argument --limit: must be at most 1000, got 99999999999999999999999",
        ),
        (
            ["run_dashboard_simulator", "--port", "99999"],
            "argument --port: must be at most 65535, got 99999",
        ),
        (
            ["backfill_cleanup", "--days", "9" * 5000],
            f"argument --days: must be at most 36500, got '{'9' * 64}\u2026'",
        ),
    ],
)
def test_out_of_range_integers_are_one_line_errors_with_exit_2(quiet_commands, argv, error):
    code, stderr = run_cli(argv[0], argv[1:])
    assert code == 2
    assert stderr.strip().splitlines()[-1] == f"manage.py {argv[0]}: error: {error}"


def test_manage_py_exits_2_with_the_error_on_its_last_line():
    done = subprocess.run(
        [sys.executable, "manage.py", "backfill_jobs", "--limit", "99999999999999999999999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "manage.py backfill_jobs: error: argument --limit: must be at most 1000, "
        "got 99999999999999999999999"
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
