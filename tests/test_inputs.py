"""Bad arguments and injected SQL: each gets a clear error naming the value, and touches nothing."""

import datetime as dt
from pathlib import Path

import pytest

from clout.cli import main
from clout.config import ConfigError, load_algorithm, load_settings
from clout.errors import InputError
from clout.sqltext import date_literal, identifier, path_literal, snapshot_condition, string_literal
from conftest import overrides_for, settings_for

INJECTIONS = ["x' OR '1'='1", "v1'; DROP TABLE scores; --", "; DROP TABLE events", "v1 OR 1=1", "../../etc/passwd", "", "a\nb"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_text_refuses_what_could_leave_its_literal(value):
    with pytest.raises(InputError, match="expected"):
        string_literal(value)
    with pytest.raises(InputError, match="expected"):
        identifier(value)
    with pytest.raises(InputError, match="not a date"):
        date_literal(value)


def test_sql_text_of_real_values():
    assert snapshot_condition(dt.date(2026, 11, 20), "v1-span") == "snapshot_date = DATE'2026-11-20' AND algorithm_version = 'v1-span'"
    assert identifier("clout_db") == "clout_db"
    with pytest.raises(InputError, match="not a date"):
        date_literal(dt.datetime(2026, 11, 20, 1, 2))  # a datetime would format a time into the literal
    with pytest.raises(InputError, match="quotes"):
        path_literal("/tmp/x' OR '1'='1")


@pytest.mark.parametrize("value", ["clout; DROP TABLE x", "clout db", "1clout", "clout.scores"])
def test_database_name_from_conf_must_be_a_plain_name(value):
    with pytest.raises(ConfigError, match=r"storage\.database"):
        load_settings("local", [f"storage.database={value}"])


@pytest.mark.parametrize("value", ["v1' OR '1'='1", "../../etc/passwd", "v1;DROP"])
def test_algorithm_version_never_reaches_a_path_or_sql(value):
    with pytest.raises(ConfigError, match="algorithm version"):
        load_algorithm(load_settings("local"), value)
    with pytest.raises(ConfigError):
        load_settings("local", [f"algorithm.version={value}"])


def _cli(root: Path, *args: str) -> int:
    return main([*args, *[x for item in overrides_for(root, "inputs") for x in ("--set", item)]])


def _nothing_written(root: Path) -> bool:
    """No Delta table and no MLflow run: the error came before the job started."""
    lake, mlflow_db = root / "inputs" / "lakehouse", root / "inputs" / "mlflow.db"
    return (not lake.exists() or not any(lake.rglob("_delta_log"))) and not mlflow_db.exists()


def test_ingest_of_an_unknown_network_is_an_error_naming_it(test_root, capsys):
    assert _cli(test_root, "ingest", "--network", "nosuch", "--path", "/nonexistent") == 2
    err = capsys.readouterr().err
    assert "unknown network 'nosuch'" in err and "twitter" in err  # names the value and what is configured
    assert _cli(test_root, "ingest", "--network", "../../twitter", "--path", "/nonexistent") == 2
    assert "unknown network '../../twitter'" in capsys.readouterr().err
    assert _nothing_written(test_root)


def test_ingest_of_a_missing_or_empty_path_is_an_error_naming_it(test_root, tmp_path, capsys):
    assert _cli(test_root, "ingest", "--network", "twitter", "--path", "/nonexistent/tweets.jsonl") == 2
    assert "twitter: no such file or folder: /nonexistent/tweets.jsonl" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".hidden").write_text("{}\n")  # hidden files are not landing files
    assert _cli(test_root, "ingest", "--network", "twitter", "--path", str(empty)) == 2
    assert f"twitter: no file under {empty}" in capsys.readouterr().err
    assert _nothing_written(test_root)


def test_validate_with_a_missing_dump_is_an_error(tmp_path, capsys):
    # its own folder: a validation records its (FAILED) run in MLflow
    assert _cli(tmp_path, "validate", "higgs", "--path", "/nonexistent/higgs.txt.gz") == 2
    assert "no such file or folder: /nonexistent/higgs.txt.gz" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["daily", "--date", "2026-11-20'; DROP TABLE scores; --"], ["bots", "risk", "--date", "x' OR '1'='1"]])
def test_dates_are_parsed_never_spliced(test_root, args):
    with pytest.raises(SystemExit) as exit_:  # argparse refuses the value before any command runs
        _cli(test_root, *args)
    assert exit_.value.code == 2
    assert _nothing_written(test_root)


def test_an_injected_algorithm_version_on_the_command_line_is_refused(test_root, capsys):
    assert _cli(test_root, "validate", "higgs", "--path", "/nonexistent", "--algorithm", "v1' OR '1'='1") == 2
    assert "algorithm version" in capsys.readouterr().err
    assert _nothing_written(test_root)


@pytest.mark.parametrize("value", ["x' OR '1'='1", "twitter:11; DROP TABLE suppressions", "nosuch:11", "11"])
def test_optout_and_optin_refuse_an_id_that_is_not_one(test_root, capsys, value):
    for command in ("optout", "optin"):
        assert _cli(test_root, command, value) == 2
        err = capsys.readouterr().err
        assert f"{command}: " in err and repr(value) in err
    assert _nothing_written(test_root)


def test_optout_lists_an_account_hashed_and_optin_takes_it_off(spark, tmp_path, capsys):
    from clout import suppression
    from clout.tables import SUPPRESSIONS, TableStore

    store = TableStore(spark, settings_for(tmp_path, "inputs"))  # where _cli puts its tables
    assert _cli(tmp_path, "optout", "twitter:99", "mastodon:ann@example.social") == 0
    assert "optout: 2 of 2 ids added" in capsys.readouterr().out
    assert suppression.is_listed(store, "twitter:99") and suppression.is_listed(store, "mastodon:ann@example.social")
    assert "ann" not in " ".join(str(v) for r in store.read(SUPPRESSIONS).collect() for v in r)
    assert _cli(tmp_path, "optout", "twitter:99") == 0 and "optout: 0 of 1 ids added" in capsys.readouterr().out
    assert _cli(tmp_path, "optin", "twitter:99") == 0 and "optin: 1 of 1 ids taken off" in capsys.readouterr().out
    assert not suppression.is_listed(store, "twitter:99") and suppression.is_listed(store, "mastodon:ann@example.social")
