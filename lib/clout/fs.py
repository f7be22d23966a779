"""Files through Hadoop's FileSystem API, so local folders, HDFS and object stores (s3a://, abfss://) work alike.

The one place that lists, tests and removes files: ingest (landing files, named dumps), identity (link files)
and bot training (its scratch lakehouse) all go through it.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession


def _fs_and_path(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _fs_and_path(spark, path)
    return bool(fs.exists(hpath))


def list_files(spark: SparkSession, folder: str) -> list[tuple[str, int, dt.datetime]]:
    """(path, size, mtime) of every file under ``folder`` (or the file itself), sorted; [] when it is absent.

    Hidden and bookkeeping files (names starting with '.' or '_') are skipped.
    """
    fs, hpath = _fs_and_path(spark, folder)
    if not fs.exists(hpath):
        return []
    found = []
    it = fs.listFiles(hpath, True)
    while it.hasNext():
        st = it.next()
        name = st.getPath().getName()
        if name.startswith((".", "_")):
            continue
        mtime = dt.datetime.fromtimestamp(st.getModificationTime() / 1000, dt.UTC).replace(tzinfo=None)
        found.append((st.getPath().toString(), int(st.getLen()), mtime))
    return sorted(found)


def remove(spark: SparkSession, path: str) -> None:
    """Delete ``path`` and everything under it (nothing happens when it is absent)."""
    fs, hpath = _fs_and_path(spark, path)
    fs.delete(hpath, True)
