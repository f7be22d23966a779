"""Network adapters: one module per source, named in conf ``networks.<name>.adapter``.

Adding a network = one module here (NETWORK, read, to_events, optionally render) + one conf entry.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pyspark.sql import DataFrame, SparkSession

from clout.ingest.adapters.base import read_lines


def load_adapter(module_path: str) -> ModuleType:
    module = importlib.import_module(module_path)
    for attr in ("NETWORK", "to_events"):
        if not hasattr(module, attr):
            raise TypeError(f"adapter {module_path} lacks {attr}")
    return module


def read_raw(adapter: ModuleType, spark: SparkSession, paths: list[str]) -> DataFrame:
    reader = getattr(adapter, "read", None)
    return reader(spark, paths) if reader else read_lines(spark, paths)
