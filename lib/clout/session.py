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


def build_session(settings: Settings, app_suffix: str = "", catalog: bool = False, extra: dict[str, str] | None = None) -> SparkSession:
    """Build (or return the running) SparkSession configured for Clout.

    The jars go through ``spark.jars`` (resolved offline by ``make setup``), never ``spark.jars.packages``,
    so nothing is downloaded at run time. On a cluster, spark-submit's own --master and --driver-memory win
    when conf leaves them empty.

    ``catalog``: the session uses the persistent metastore (clout.catalog). Sessions do anyway when conf names a
    shared metastore service; the embedded Derby one admits one process at a time, so only the short catalog
    steps, ``clout sql`` and ``clout serve-sql`` open it, and jobs keep an in-memory catalog and write by path.
    ``extra``: Spark settings of this session on top of conf.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    builder = SparkSession.builder.appName(settings.spark.app_name + (f"-{app_suffix}" if app_suffix else ""))
    if settings.spark.master:
        builder = builder.master(settings.spark.master)
    if settings.spark.driver_memory:
        builder = builder.config("spark.driver.memory", settings.spark.driver_memory)
    checkpoint = settings.path(settings.storage.checkpoint_dir)
    persistent = catalog or bool(settings.catalog.metastore_uri)
    metastore = settings.metastore_path() if persistent else None
    builder = (
        builder.config("spark.jars", ",".join(spark_jars()))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.warehouse.dir", settings.table_path("_warehouse"))
        # Spark's generated code for wide adapter plans is larger than the 8,000 bytes HotSpot compiles by
        # default; left interpreted, parsing runs many times slower.
        # derby.log goes to the metastore's folder when this session opens it
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore or settings.path('var')} -XX:-DontCompileHugeMethods")
    )
    if persistent:
        builder = builder.config("spark.sql.catalogImplementation", "hive")
        if metastore:
            builder = builder.config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={metastore}/metastore_db;create=true")
        else:
            builder = builder.config("spark.hadoop.hive.metastore.uris", settings.catalog.metastore_uri)
    for key, value in (settings.spark.conf | (extra or {})).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(checkpoint)
    return spark
