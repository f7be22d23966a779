"""The canonical synthetic action: what the generator decides happened, before a network renders it.

Each generated network's adapter has ``render(actions) -> DataFrame[value]`` that turns these rows into its
own native records (one line each), and ``SYNTH_ACTIONS``: the canonical actions it can render with their
share of that network's traffic.
"""

from pyspark.sql import types as T

SYNTH_ACTION = T.StructType(
    [
        T.StructField("network", T.StringType(), False),
        T.StructField("seq", T.LongType(), False),  # unique per network and day
        T.StructField("action", T.StringType(), False),  # clout.ingest.actions vocabulary
        T.StructField("event_time", T.TimestampType(), False),
        T.StructField("actor_native", T.StringType(), False),  # native user id on that network
        T.StructField("actor_handle", T.StringType(), False),
        T.StructField("target_native", T.StringType(), True),  # null for post / checkin
        T.StructField("target_handle", T.StringType(), True),
        T.StructField("content_native", T.StringType(), True),  # id of the item this action creates
        T.StructField("target_content_native", T.StringType(), True),  # id of the item acted upon
        T.StructField("topics", T.ArrayType(T.StringType(), False), False),
        T.StructField("text", T.StringType(), True),
    ]
)
SYNTH_COLUMNS = [f.name for f in SYNTH_ACTION.fields]
