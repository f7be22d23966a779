"""How the whole daily job scales with the day's size: seconds per stage, memory, and scaling exponents.

Prints figures; it is not a timed test. For each size in ``--sizes`` (events in the day): a generated day of
that many events (``clout.synth``, ``--events-per-person`` events per person, so persons grow with events), then
``clout.pipeline.run_daily`` on it in a fresh lakehouse, in one process and one Spark session. Per size it prints
the seconds of every stage (``DailyResult.metrics["seconds_<stage>"]``), the seconds run_daily took end to end
(the stages plus what no stage times: the MLflow run, lineage, histogram, top 100), events per second end to end,
and the peak memory of the Spark driver JVM (VmHWM; local mode, so the executors are in it) and of this Python
process during the daily run (each peak is reset before the run, but heap the JVM committed earlier, for a smaller
size or the bot model, stays in its RSS: a small size's JVM peak is mostly that). Between consecutive sizes
n1 < n2 with times t1, t2 it prints the scaling exponent log(t2/t1) / log(n2/n1), end to end and per stage: 1 is
linear; the target is <= 1.1 from 10 M to 100 M events.
At small sizes fixed costs (jobs, Delta commits, the model load, the first size's JIT and imports) dominate and
the exponents come out well below 1: only large sizes say whether the job is linear.

The bots stage needs a champion behaviour model. A store without one would train it inside the first daily run
and time the training as part of that size's bots stage; here it is trained (or found) before the first size
and not timed, by default on the small generated days the tests use (clout.synth.presets.SMALL_BOT_TRAINING),
so that training does not dominate. Each run's bots stage then loads the champion and scores the day.

With ``--root`` the generated days stay there, keyed by size, persons and seed, and a rerun reuses them (and the
champion in the MLflow store under ``--root``); the lakehouse of each size is new and removed after its run. The
machine must hold a day's landing files and its lakehouse: about 1 GB per 3 M events of landing files.

    .venv/bin/python bench/daily_scale.py --root /data/clout-scale              # 1 M, 10 M, 100 M events
    .venv/bin/python bench/daily_scale.py --sizes 20000,60000 --shuffle-partitions 2 --driver-memory 4g
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import itertools
import json
import logging
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from pyspark.sql import SparkSession

from clout.bots.stage import champion_or_train
from clout.config import load_settings
from clout.pipeline import run_daily
from clout.session import build_session
from clout.synth.generator import SynthSpec, generate
from clout.synth.presets import SMALL_BOT_TRAINING

DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 21, 6, 0)  # the day's job runs the next morning: no event is in the future
TARGET_EXPONENT = 1.1
# counts of the run worth printing beside its times (DailyResult.metrics keys)
COUNTS = (("rows_accepted", "events stored"), ("accounts_updated", "accounts"), ("persons_scored", "persons scored"), ("graph_edges", "graph edges"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000,100000000", help="comma-separated events per day, run in ascending order")
    parser.add_argument("--events-per-person", type=int, default=20, help="persons = events / this (at least 200, as the generator's floor)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shuffle-partitions", type=int, default=None, help="spark.sql.shuffle.partitions (default: conf/base.yaml's)")
    parser.add_argument("--driver-memory", default=None, help="spark.driver_memory (default: conf's)")
    parser.add_argument("--bot-training", choices=("small", "conf"), default="small", help="small: the tests' training days; conf: bots.training of conf")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="further conf overrides, as clout --set")
    parser.add_argument("--root", default=None, help="work folder, generated days kept for reruns (default: a temp folder, removed afterwards)")
    args = parser.parse_args()
    try:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes: comma-separated integers, not {args.sizes!r}")
    if not sizes or sizes[0] < 1 or args.events_per_person < 1:
        parser.error("--sizes must name at least one size >= 1 and --events-per-person must be >= 1")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-bench-scale-")).resolve()

    common = [
        f"mlflow.tracking_uri=sqlite:///{root}/mlflow/mlflow.db",  # one store for every size: the champion is trained once
        f"mlflow.artifact_root={root}/mlflow/artifacts",
        "mlflow.experiment=clout-bench-daily-scale",
        *(SMALL_BOT_TRAINING if args.bot_training == "small" else []),
        *([f"spark.driver_memory={args.driver_memory}"] if args.driver_memory else []),
        *([f"spark.conf.spark.sql.shuffle.partitions={args.shuffle_partitions}"] if args.shuffle_partitions else []),
        *args.set,
    ]

    def settings_at(folder: Path, landing: Path):
        return load_settings("local", [f"storage.root={folder}/lake", f"storage.landing={landing}", f"storage.checkpoint_dir={folder}/ckpt", *common])

    base = settings_at(root / "bot-training", root / "bot-training" / "landing")
    spark = build_session(base, "bench-daily-scale")
    print_conf(spark, base)

    t0 = time.monotonic()
    champion = champion_or_train(spark, base)  # trains only on a store without one; the daily runs load it again
    print(
        f"bot model               : champion {champion.label} ready in {time.monotonic() - t0:.1f}s, not timed in any size "
        f"({'trained on the tests SMALL_BOT_TRAINING days (2 x 20,000 events, 3 networks, 40 trees)' if args.bot_training == 'small' else 'conf bots.training'}"
        f", or found in {root}/mlflow); each run's bots stage loads it and scores the day"
    )

    runs: list[dict] = []
    for events in sizes:
        spec = SynthSpec(day=DAY, events=events, persons=max(200, events // args.events_per_person), seed=args.seed)
        data = root / "days" / f"events-{events}-persons-{spec.n_persons}-seed-{args.seed}"
        work = root / "runs" / f"events-{events}"
        shutil.rmtree(work, ignore_errors=True)
        settings = settings_at(work, data / "landing")
        generated = data / "generated.json"  # written once generate() returned: a rerun finds the whole day
        if generated.exists():
            gen_s = None
        else:
            t0 = time.monotonic()
            meta = generate(spark, settings, spec)
            gen_s = time.monotonic() - t0
            shutil.rmtree(data / "landing" / "_staging", ignore_errors=True)  # the generator's staged actions: read by nothing after
            generated.write_text(json.dumps(meta, default=str, indent=1))
        landing = data / "landing"
        landing_bytes = sum(f.stat().st_size for f in landing.rglob("*") if f.is_file() and not f.relative_to(landing).parts[0].startswith("_"))

        spark.sparkContext.setCheckpointDir(f"{work}/ckpt")  # the session's checkpoints go with this size's lakehouse
        jvm_pid = reset_peaks(spark)
        t0 = time.monotonic()
        result = run_daily(spark, settings, DAY, now=NOW)
        total = time.monotonic() - t0
        jvm_peak, py_peak = peak_mib(jvm_pid), peak_mib("self")
        stages = {k.removeprefix("seconds_"): v for k, v in result.metrics.items() if k.startswith("seconds_")}
        runs.append(dict(events=events, persons=spec.n_persons, total=total, stages=stages, jvm=jvm_peak, py=py_peak, metrics=result.metrics))

        made = f"generated in {gen_s:.1f}s" if gen_s is not None else f"reused from {data}"
        print(f"\n{label(events)} events        : {events:,} events, {spec.n_persons:,} persons, seed {args.seed}; {made}")
        print(f"  landing files         : {landing_bytes / 2**20:,.1f} MiB under {landing}")
        print(f"  run_daily             : {total:.1f}s end to end, {events / total:,.0f} events/s ({sum(stages.values()):.1f}s in timed stages)")
        print("  seconds per stage     : " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in stages.items()))
        print("  counts                : " + ", ".join(f"{name} {result.metrics[key]:,.0f}" for key, name in COUNTS if key in result.metrics))
        print(f"  peak memory           : driver JVM {fmt_mib(jvm_peak)} (VmHWM, executors included), Python driver {fmt_mib(py_peak)}")
        shutil.rmtree(work, ignore_errors=True)

    print_table(runs)
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def print_conf(spark: SparkSession, settings) -> None:
    conf = spark.sparkContext.getConf()
    sql = spark.conf
    print(
        f"conf                    : master {conf.get('spark.master')}, driver memory {conf.get('spark.driver.memory', 'default')}, "
        f"shuffle partitions {sql.get('spark.sql.shuffle.partitions')}, AQE {sql.get('spark.sql.adaptive.enabled')}, "
        f"files.maxPartitionBytes {sql.get('spark.sql.files.maxPartitionBytes')}, "
        f"autoBroadcastJoinThreshold {sql.get('spark.sql.autoBroadcastJoinThreshold')}, "
        f"delta snapshotPartitions {sql.get('spark.databricks.delta.snapshotPartitions', 'default')}"
    )
    print(f"                          {os.cpu_count()} CPUs seen by Python; quality gates {'on' if settings.quality.enabled else 'off'}; day {DAY}, now {NOW}")


def reset_peaks(spark: SparkSession) -> int | None:
    """Collect garbage, then reset the peak RSS (VmHWM) of the driver JVM and of this process; return the JVM's pid.

    Writing 5 to /proc/<pid>/clear_refs (Linux >= 4.0) sets VmHWM to the current RSS, so the next peak is this size's.
    What the JVM kept committed from earlier sizes still counts: a size's peak is at least what the heap held before.
    """
    try:
        jvm = spark.sparkContext._jvm
        pid = int(jvm.java.lang.ProcessHandle.current().pid())
        jvm.java.lang.System.gc()  # G1 may give freed heap back to the OS after a full collection
    except Exception:  # Spark Connect: no JVM handle; the figure is optional
        pid = None
    gc.collect()
    for who in (pid, "self"):
        if who is not None:
            with contextlib.suppress(OSError):  # not Linux or not allowed: the peak is the process's since it started
                Path(f"/proc/{who}/clear_refs").write_text("5")
    return pid


def peak_mib(pid: int | str | None) -> float | None:
    """VmHWM of a process in MiB (``"self"``: this one; its ru_maxrss when /proc is not there); None when unknown."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else None


def fmt_mib(mib: float | None) -> str:
    return "unknown" if mib is None else f"{mib:,.0f} MiB"


def label(events: int) -> str:
    for unit, name in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if events >= unit and events % (unit // 10) == 0:
            return f"{events / unit:g}{name}"
    return str(events)


def exponent(t1: float | None, t2: float | None, n1: int, n2: int) -> str:
    if not t1 or not t2 or t1 <= 0 or t2 <= 0:
        return "n/a"
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def print_table(runs: list[dict]) -> None:
    """Seconds per stage for every size, then the exponent between each pair of consecutive sizes."""
    stages: list[str] = []
    for run in runs:
        stages += [s for s in run["stages"] if s not in stages]
    pairs = list(itertools.pairwise(runs))
    width = max(len(s) for s in [*stages, "untimed (MLflow, lineage)", "end to end (run_daily)"]) + 2
    header = f"{'seconds':{width}s}" + "".join(f"{label(r['events']):>10s}" for r in runs)
    header += "".join(f"{'exp ' + label(a['events']) + '>' + label(b['events']):>16s}" for a, b in pairs)
    print(f"\n{header}")

    def row(name: str, values: list[float | None]) -> None:
        cells = "".join(f"{v:10.1f}" if v is not None else f"{'-':>10s}" for v in values)
        exps = "".join(f"{exponent(values[i], values[i + 1], a['events'], b['events']):>16s}" for i, (a, b) in enumerate(pairs))
        print(f"{name:{width}s}{cells}{exps}")

    for stage in stages:
        row(stage, [r["stages"].get(stage) for r in runs])
    row("untimed (MLflow, lineage)", [r["total"] - sum(r["stages"].values()) for r in runs])
    row("end to end (run_daily)", [r["total"] for r in runs])
    rates = "".join(f"{r['events'] / r['total']:10,.0f}" for r in runs)
    print(f"{'events/s end to end':{width}s}{rates}")
    print(f"{'peak driver JVM MiB':{width}s}" + "".join(f"{r['jvm']:10,.0f}" if r["jvm"] is not None else f"{'?':>10s}" for r in runs))
    print(f"{'peak Python MiB':{width}s}" + "".join(f"{r['py']:10,.0f}" if r["py"] is not None else f"{'?':>10s}" for r in runs))
    for a, b in pairs:
        e = math.log(b["total"] / a["total"]) / math.log(b["events"] / a["events"])
        over = [s for s in stages if (x := exponent(a["stages"].get(s), b["stages"].get(s), a["events"], b["events"])) != "n/a" and float(x) > TARGET_EXPONENT]
        verdict = "within" if e <= TARGET_EXPONENT else "ABOVE"
        print(
            f"scaling {label(a['events'])} -> {label(b['events'])}: end to end exponent {e:.2f}, {verdict} the {TARGET_EXPONENT} target "
            f"(set for 10M -> 100M); stages above it: {', '.join(over) or 'none'}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
