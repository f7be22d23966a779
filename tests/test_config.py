import datetime as dt

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
