"""The one place a SparkSession is built: from conf, with the Delta jars, extension and catalog."""

from __future__ import annotations

import logging
import os
import sys

from py4j.java_gateway import JavaClass
from pyspark.sql import SparkSession

from clout.config import Settings
from clout.jvm import JARS_DIR, SOURCE_TREE, JarsMissing, jar_group, unavailable_reason

log = logging.getLogger(__name__)
JAR_GROUPS = ("delta", "graphframes")
# one class of each required group: the session checks the JVM can load them, however the jars got there
REQUIRED_CLASSES = {"delta": "io.delta.sql.DeltaSparkSessionExtension", "graphframes": "org.graphframes.GraphFrame"}
# what spark-submit or conf may hand the JVM instead of .jars/
JAR_SETTINGS = ("spark.jars", "spark.jars.packages")


def spark_jars() -> list[str]:
    """Delta and GraphFrames jars resolved by ``make setup``: both are required, a session without them is refused."""
    jars = []
    for group in JAR_GROUPS:
        resolved = jar_group(group)
        if not resolved:
            raise JarsMissing(f"the {group} jars are missing ({unavailable_reason(group)}); run `make setup`")
        jars += resolved
    return jars


def local_jars(settings: Settings) -> list[str]:
    """The jars of ``.jars/`` this session adds through ``spark.jars``; none when the jars come another way.

    Another way: conf's ``spark.conf`` names ``spark.jars`` (paths) or ``spark.jars.packages`` (Maven coordinates), or
    spark-submit was given ``--jars``/``--packages`` (a wheel on a cluster has no ``.jars/``; the session built inside
    spark-submit already has them). Then build_session checks the classes are loadable instead of refusing upfront.
    From a source tree without ``.jars/`` and nothing else, it refuses as before: set-up did not run.
    """
    if all(jar_group(group) for group in JAR_GROUPS):
        return spark_jars()
    if any(key in settings.spark.conf for key in JAR_SETTINGS) or _submitted_jars():
        return []
    if SOURCE_TREE is not None:
        return spark_jars()  # raises, naming the missing group and Maven's log
    raise JarsMissing(
        f"no Delta and GraphFrames jars: none under {JARS_DIR}, none in conf spark.conf (spark.jars, spark.jars.packages) and none "
        "from spark-submit (--jars or --packages)"
    )


def _submitted_jars() -> bool:
    """spark-submit passes --jars/--packages to this Python process as spark.jars / spark.jars.packages in the SparkConf of the
    JVM it started (PYSPARK_GATEWAY_PORT set); a plain Python process has no JVM yet and nothing submitted."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return False
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's JVM (no context yet): SparkConf then reads its properties
    conf = SparkConf()
    return any(conf.get(key, "") for key in JAR_SETTINGS)


def check_jvm_classes(spark: SparkSession) -> None:
    """Fail loudly when Delta or GraphFrames is not loadable: without Delta nothing is written, without GraphFrames no
    authority is computed. Spark only warns about a missing ``spark.sql.extensions`` class, and GraphFrames would fail
    at the first graph, minutes into a run."""
    missing = [f"{group} ({name})" for group, name in REQUIRED_CLASSES.items() if not isinstance(_jvm_class(spark, name), JavaClass)]
    if missing:
        raise JarsMissing(
            f"the JVM cannot load {', '.join(missing)}: give spark-submit --jars or --packages (README, Running on a cluster), "
            "set spark.conf spark.jars / spark.jars.packages, or run `make setup` in a source tree"
        )


def _jvm_class(spark: SparkSession, name: str):
    found = spark._jvm  # py4j resolves a dotted name to a JavaClass, or to a JavaPackage when no such class loads
    for part in name.split("."):
        found = getattr(found, part)
    return found


def build_session(settings: Settings, app_suffix: str = "", catalog: bool = False, extra: dict[str, str] | None = None) -> SparkSession:
    """Build (or return the running) SparkSession configured for Clout.

    The jars go through ``spark.jars`` (resolved offline by ``make setup``), never ``spark.jars.packages``,
    so nothing is downloaded at run time. On a cluster, spark-submit's own --master and --driver-memory win
    when conf leaves them empty, and the jars come from its --jars/--packages or from conf (``local_jars``); either
    way the session checks that Delta and GraphFrames load.

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
    jars = local_jars(settings)
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    log.info("jars: %s", f"{len(jars)} from {JARS_DIR}" if jars else "from spark-submit (--jars, --packages) or conf spark.conf")
    builder = (
        builder.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
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
    check_jvm_classes(spark)
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(checkpoint)
    return spark
