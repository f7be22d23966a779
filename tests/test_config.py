import datetime as dt
from pathlib import Path

import pytest

from clout.config import ConfigError, load_algorithm, load_settings, parse_override


def test_base_and_local_merge_with_overrides():
    s = load_settings("local", ["spark.conf.spark.sql.shuffle.partitions=3", "ingest.max_field_chars=10"])
    assert s.spark.conf["spark.sql.shuffle.partitions"] == "3"
    assert s.ingest.max_field_chars == 10
    assert s.networks["twitter"].founded == dt.date(2006, 3, 21)
    assert s.env == "local"


def test_cluster_env_leaves_master_to_spark_submit():
    s = load_settings("cluster")
    assert s.spark.master == ""
    assert s.storage.root.startswith("s3a://")
    assert s.table_path("events") == "s3a://clout-lakehouse/tables/clout/events"


def test_unknown_key_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"storage\.rooot: unknown key"):
        load_settings("local", ["storage.rooot=/x"])


def test_wrong_type_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"ingest\.max_field_chars"):
        load_settings("local", ["ingest.max_field_chars=lots"])


def test_missing_env_file_is_an_error():
    with pytest.raises(ConfigError, match="not found"):
        load_settings("nowhere")


def test_override_keeps_dotted_spark_keys_whole():
    assert parse_override("spark.conf.spark.sql.shuffle.partitions=4") == {"spark": {"conf": {"spark.sql.shuffle.partitions": "4"}}}
    with pytest.raises(ConfigError):
        parse_override("no-equals-sign")


def test_algorithm_v1_loads_and_checks_version(tmp_path):
    algo = load_algorithm(load_settings("local"))
    assert algo.version == "v1"
    assert algo.action_weights["reply"] > algo.action_weights["like"] > algo.action_weights["view"]
    assert algo.action_weights["follow"] == 0.0
    (tmp_path / "v9.yaml").write_text("version: v8\n")
    s = load_settings("local", [f"algorithm.dir={tmp_path}"])
    with pytest.raises(ConfigError):
        load_algorithm(s, "v9")


def test_conf_dir_order_env_var_then_working_dir(tmp_path, monkeypatch):
    """$CLOUT_CONF_DIR first, then base.yaml in the working directory (spark-submit --files), with the algorithms beside
    the conf read: in algorithms/ when there is one, else flat (files shipped with --files land in one folder)."""
    import shutil

    from clout.config import find_conf_dir

    source = find_conf_dir()
    own = tmp_path / "own"
    shutil.copytree(str(source), own)
    (own / "base.yaml").write_text((own / "base.yaml").read_text().replace("app_name: clout", "app_name: clout-own"))
    monkeypatch.setenv("CLOUT_CONF_DIR", str(own))
    s = load_settings("cluster")
    assert s.spark.app_name == "clout-own" and s.conf_source() == str(own)
    assert load_algorithm(s, "v2").version == "v2"

    shipped = tmp_path / "shipped"  # what --files conf/base.yaml,conf/local.yaml,conf/algorithms/v1.yaml leaves in the working dir
    shipped.mkdir()
    for name in ("base.yaml", "local.yaml", "algorithms/v1.yaml"):
        shutil.copy(own / name, shipped)
    monkeypatch.delenv("CLOUT_CONF_DIR")
    monkeypatch.chdir(shipped)
    s = load_settings("local")
    assert s.spark.app_name == "clout-own" and s.conf_source() == str(shipped)
    assert load_algorithm(s).version == "v1"
    with pytest.raises(ConfigError, match="not found"):
        load_algorithm(s, "v2")  # not shipped

    monkeypatch.setenv("CLOUT_CONF_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"no base\.yaml"):
        load_settings("local")


def test_jars_from_spark_submit_or_conf_when_there_is_no_jars_folder(monkeypatch):
    """A wheel on a cluster has no .jars/: jars named in conf (or given to spark-submit) are accepted, the session then
    checks the classes load; nothing at all is refused upfront, and so is a source tree whose set-up did not run."""
    from clout import session
    from clout.jvm import JarsMissing

    monkeypatch.setattr(session, "jar_group", lambda group: [])
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setattr(session, "SOURCE_TREE", None)
    packages = "spark.conf.spark.jars.packages=io.delta:delta-spark_4.1_2.13:4.4.0,io.graphframes:graphframes-spark4_2.13:0.11.0"
    assert session.local_jars(load_settings("cluster", [packages])) == []
    with pytest.raises(JarsMissing, match="spark-submit"):
        session.local_jars(load_settings("cluster"))
    monkeypatch.setattr(session, "SOURCE_TREE", Path("/src"))
    with pytest.raises(JarsMissing, match="make setup"):
        session.local_jars(load_settings("local"))


def test_topics_conf_is_typed_and_checked(tmp_path):
    from conftest import edited_v1

    assert load_algorithm(load_settings("local"), "v2").topics.min_reactors == 5
    cases = {  # (old, new) -> the message naming the key
        ("  min_reactors: 5", "  min_reactor: 5"): r"topics\.min_reactor: unknown key",
        ("  min_reactors: 5", "  min_reactors: 0"): r"topics\.min_reactors",
        ("  unnamed_authority: 1.0", "  unnamed_authority: -1.0"): r"topics\.unnamed_authority",
    }
    for (old, new), message in cases.items():
        with pytest.raises(ConfigError, match=message):
            edited_v1(tmp_path, old, new)


def test_max_daily_move_is_required_and_positive(tmp_path):
    from conftest import edited_v1

    assert edited_v1(tmp_path, "version: v1", "version: v1").score.max_daily_move == 5
    with pytest.raises(ConfigError, match=r"score\.max_daily_move"):
        edited_v1(tmp_path, "  max_daily_move: 5\n", "  max_daily_move: 0\n")
    with pytest.raises(ConfigError, match=r"score\.max_daily_move"):
        edited_v1(tmp_path, "  max_daily_move: 5\n", "")
    with pytest.raises(ConfigError, match=r"score\.max_daily_mov: unknown key"):
        edited_v1(tmp_path, "  max_daily_move: 5\n", "  max_daily_mov: 5\n")
