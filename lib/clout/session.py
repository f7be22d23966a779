"""The one place a SparkSession is built: from conf, with the Delta jars, extension and catalog."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from clout.config import Settings
from clout.jvm import JarsMissing, jar_group, unavailable_reason


def spark_jars() -> list[str]:
    """Delta and GraphFrames jars resolved by ``make setup``: both are required, a session without them is refused."""
    jars = []
    for group in ("delta", "graphframes"):
        resolved = jar_group(group)
        if not resolved:
            raise JarsMissing(f"the {group} jars are missing ({unavailable_reason(group)}); run `make setup`")
        jars += resolved
    return jars


def build_session(settings: Settings, app_suffix: str = "") -> SparkSession:
    """Build (or return the running) SparkSession configured for Clout.

    The jars go through ``spark.jars`` (resolved offline by ``make setup``), never ``spark.jars.packages``,
    so nothing is downloaded at run time. On a cluster, spark-submit's own --master and --driver-memory win
    when conf leaves them empty.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    builder = SparkSession.builder.appName(settings.spark.app_name + (f"-{app_suffix}" if app_suffix else ""))
    if settings.spark.master:
        builder = builder.master(settings.spark.master)
    if settings.spark.driver_memory:
        builder = builder.config("spark.driver.memory", settings.spark.driver_memory)
    checkpoint = settings.path(settings.storage.checkpoint_dir)
    builder = (
        builder.config("spark.jars", ",".join(spark_jars()))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.warehouse.dir", settings.table_path("_warehouse"))
        # Spark's generated code for wide adapter plans is larger than the 8,000 bytes HotSpot compiles by
        # default; left interpreted, parsing runs many times slower.
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={settings.path('var')} -XX:-DontCompileHugeMethods")
    )
    for key, value in settings.spark.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(checkpoint)
    return spark
