"""Throughput of raw landing files -> validated Delta (events + quarantine), against a baseline.

Prints figures; it is not a timed test. The baseline, run in the same process on the same files, is the
cheapest possible pass over them (read every line and count), so the ratio says what parsing, validation,
dedupe and the Delta MERGE cost on top of I/O.

    .venv/bin/python bench/ingest_throughput.py --events 10000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from clout.config import load_settings  # noqa: E402
from clout.ingest.stage import ingest  # noqa: E402
from clout.session import build_session  # noqa: E402
from clout.synth.generator import SynthSpec, generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--networks", default=None, help="comma-separated subset (default: every renderable network)")
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-bench-"))
    day = dt.date(2026, 11, 20)
    settings = load_settings(
        "local",
        [f"storage.root={root}/lake", f"storage.landing={root}/landing", f"storage.checkpoint_dir={root}/ckpt", "spark.driver_memory=12g"],
    )
    spark = build_session(settings, "bench")
    networks = tuple(args.networks.split(",")) if args.networks else None

    t0 = time.monotonic()
    meta = generate(spark, settings, SynthSpec(day=day, events=args.events, networks=networks))
    gen_s = time.monotonic() - t0
    paths = [str(settings.landing_path(n, day)) for n in meta["networks"]]

    t0 = time.monotonic()
    lines = spark.read.text(paths).count()
    base_s = time.monotonic() - t0

    t0 = time.monotonic()
    report = ingest(spark, settings, day)
    ingest_s = time.monotonic() - t0
    s = report.summary()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events generated        : {args.events:,} on {len(meta['networks'])} networks in {gen_s:.1f}s ({args.events / gen_s:,.0f} events/s)")
    print(f"baseline read+count     : {lines:,} lines in {base_s:.1f}s ({lines / base_s:,.0f} lines/s)")
    print(f"ingest raw -> Delta     : {s['events_emitted']:,} events ({s['records']:,} records) in {ingest_s:.1f}s")
    print(f"  throughput            : {s['events_emitted'] / ingest_s:,.0f} events/s ({s['records'] / ingest_s:,.0f} records/s)")
    print(f"  accepted/quarantined  : {s['accepted']:,} / {s['quarantined']:,}  reconciled={report.reconciled}")
    print(f"  ratio to baseline     : {ingest_s / base_s:.1f}x the time of a plain read")
    print(f"driver peak RSS (python): {peak_mb:,.0f} MiB; Spark driver heap: {settings.spark.driver_memory}")
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
