"""Authority cost: Clout's weighted PageRank against GraphFrames' built-in PageRank and a SciPy power iteration.

Prints figures; it is not a timed test. One process, one graph: N persons and about M weighted directed edges
whose endpoints follow power laws (a few accounts receive and give most reactions), generated in Spark from
hashes of the row number (same seed, same graph, whatever the partitioning), (src, dst) pairs deduplicated and
self-loops dropped, written once to Parquet. Every contender reads that folder:

- Clout: ``clout.graph.pagerank.weighted_pagerank`` as the authority stage calls it (the algorithm's damping
  and checkpoint interval), with ``tol=0`` so that it runs exactly ``--iterations`` iterations;
- GraphFrames: ``GraphFrame.pageRank(resetProbability=1 - damping, maxIter=iterations)``, unweighted (its
  built-in has no edge weights), timed until its ranks are computed;
- SciPy: a one-machine power iteration of Clout's exact definition (same weights, per-source normalisation,
  dangling mass spread uniformly, teleport), the Parquet read and the CSR build included in its time.

Then the distance between Clout's ranks and SciPy's, in the authority table's scale (rank x N: 1 = an average
person), where a mean per-node L1 of 1e-6 is a relative error; in PageRank's own scale (ranks sum to 1) every
rank is about 1/N, so the same figure would be met by any vector at all once N >= 1e6.

    .venv/bin/python bench/authority.py --persons 1000000 --edges 10000000 --iterations 15
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp
from graphframes import GraphFrame
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.config import load_algorithm, load_settings
from clout.graph.pagerank import weighted_pagerank
from clout.session import build_session

# Power-law exponents of the endpoint draws: P(popularity rank k) ~ k^-alpha over the candidates. In-degree is
# the more skewed one (a few accounts are reacted to by very many people): with N = 1e6 the most followed person
# gets N^-(1 - 0.7) = 1.6% of the edges drawn, the most active one 0.1%.
OUT_ALPHA, IN_ALPHA = 0.5, 0.7
# Only this share of persons ever react (sources); the others only receive. Without it every person would draw
# a few out-edges and hardly anyone would be dangling, leaving the dangling-mass term of the definition (and so
# the comparison of its handling) untested; real audiences are mostly passive.
ACTIVE_SHARE = 0.6
# Edge weights: Pareto with tail index 2 (weights >= 1, mean 2, a few very heavy), like decayed effort sums.
WEIGHT_TAIL = 2.0
_BITS = 1 << 53  # a double holds 53-bit integers exactly: uniform draws with no rounding


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000, help="edges drawn; duplicate pairs and self-loops are then dropped")
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shuffle-partitions", type=int, default=16, help="spark.sql.shuffle.partitions (conf/base.yaml's value by default)")
    parser.add_argument("--driver-memory", default="12g")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="further conf overrides, as clout --set")
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = parser.parse_args()
    if args.persons < 2 or args.edges < 1 or args.iterations < 1:
        parser.error("--persons must be >= 2, --edges and --iterations >= 1")
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-bench-authority-"))
    settings = load_settings(
        "local",
        [
            f"storage.root={root}/lake",
            f"storage.landing={root}/landing",
            f"storage.checkpoint_dir={root}/ckpt",  # the authority stage's sessions checkpoint there too: same code path
            f"spark.driver_memory={args.driver_memory}",
            f"spark.conf.spark.sql.shuffle.partitions={args.shuffle_partitions}",
            *args.set,
        ],
    )
    pagerank_conf = load_algorithm(settings).pagerank  # the configured algorithm's, as the authority stage reads them
    damping, checkpoint_interval = pagerank_conf.damping, pagerank_conf.checkpoint_interval
    spark = build_session(settings, "bench-authority")
    graph_path = f"{root}/graph"

    t0 = time.monotonic()
    generate_graph(spark, args.persons, args.edges, args.seed).write.mode("overwrite").parquet(graph_path)
    gen_s = time.monotonic() - t0
    n = args.persons

    # Clout, as the authority stage calls it; tol=0: the L1 change is never below 0, so exactly --iterations run.
    vertices = spark.range(n)  # every person is scored, as the stage's population: those without edges are dangling
    t0 = time.monotonic()
    result = weighted_pagerank(vertices, spark.read.parquet(graph_path), damping, 0.0, args.iterations, checkpoint_interval)
    clout_s = time.monotonic() - t0  # the returned ranks are persisted and counted: the work is done
    clout_ranks_path = f"{root}/clout_ranks"
    result.ranks.select(F.col("id").cast("long").alias("id"), "rank").write.mode("overwrite").parquet(clout_ranks_path)
    result.ranks.unpersist()

    # GraphFrames: same vertices and edges, no weights. Its run() computes the ranks in GraphX; the aggregate
    # forces the conversion back to a DataFrame too, which a caller would pay to use them.
    graph = GraphFrame(spark.range(n), spark.read.parquet(graph_path).select("src", "dst"))
    t0 = time.monotonic()
    ranked = graph.pageRank(resetProbability=1.0 - damping, maxIter=args.iterations)
    gf_row = ranked.vertices.agg(F.sum("pagerank").alias("total"), F.count(F.lit(1)).alias("n")).first()
    gf_s = time.monotonic() - t0
    spark.catalog.clearCache()

    rss_before_scipy = peak_rss_mib()
    jvm_peak = jvm_peak_rss_mib(spark)  # after both Spark contenders: the SciPy reference runs in Python only
    reference, edge_stats = scipy_pagerank(graph_path, n, damping, args.iterations)
    scipy_s = edge_stats["build_s"] + edge_stats["iterate_s"]  # the degree figures computed after are not part of it
    rss_after_scipy = peak_rss_mib()

    table = pq.read_table(clout_ranks_path)
    ids, clout_rank = table.column("id").to_numpy(), table.column("rank").to_numpy()
    if len(ids) != n or len(np.unique(ids)) != n or ids.min() != 0 or ids.max() != n - 1:
        raise SystemExit(f"Clout returned {len(ids):,} ranks for {n:,} persons, not one per person")
    clout = np.empty(n)
    clout[ids] = clout_rank
    diff = np.abs(clout - reference)

    m = edge_stats["edges"]
    print(f"graph                   : {n:,} persons, {args.edges:,} edges drawn -> {m:,} distinct non-loop edges ({1 - m / args.edges:.2%} dropped)")
    print(f"  generated + written   : in {gen_s:.1f}s, seed {args.seed}, to {graph_path}")
    print(
        f"  degrees               : max out {edge_stats['max_out']:,}, max in {edge_stats['max_in']:,}; "
        f"{edge_stats['dangling']:,} dangling persons ({edge_stats['isolated']:,} without any edge)"
    )
    print(f"  settings              : damping {damping}, shuffle partitions {args.shuffle_partitions}, Clout checkpoints every {checkpoint_interval} steps")
    per_iteration = clout_s / result.iterations
    print(f"Clout weighted_pagerank : {clout_s:.1f}s for {result.iterations} iterations ({per_iteration:.2f}s each), last L1 change {result.l1_change:.3e}")
    gf_total = f"{gf_row['total']:,.4f} over {gf_row['n']:,} vertices"
    print(f"GraphFrames pageRank    : {gf_s:.1f}s for {args.iterations} iterations ({gf_s / args.iterations:.2f}s each), unweighted; ranks sum to {gf_total}")
    print(f"SciPy power iteration   : {scipy_s:.2f}s (Parquet read + CSR build {edge_stats['build_s']:.3f}s, iterations {edge_stats['iterate_s']:.3f}s)")
    print(f"  ratios                : GraphFrames / Clout {gf_s / clout_s:.2f}x, Clout / SciPy {clout_s / scipy_s:.1f}x")
    print(f"Clout vs SciPy ranks    : sums {clout.sum():.15f} and {reference.sum():.15f}")
    print(f"  authority (rank x N)  : mean per-node L1 {diff.mean() * n:.3e}, max abs diff {diff.max() * n:.3e} (target: mean <= 1e-6)")
    print(f"  rank (sum 1)          : mean per-node L1 {diff.mean():.3e}, max abs diff {diff.max():.3e}, max relative diff {np.max(diff / reference):.3e}")
    print(f"driver peak RSS (python): {rss_before_scipy:,.0f} MiB before the SciPy reference, {rss_after_scipy:,.0f} MiB after")
    print(f"Spark driver JVM        : peak RSS {jvm_peak} (local mode: executors included), heap limit {settings.spark.driver_memory}")
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def generate_graph(spark: SparkSession, persons: int, edges: int, seed: int) -> DataFrame:
    """``src, dst, weight`` (long, long, double): ``edges`` draws with power-law endpoints, distinct pairs, no self-loops."""

    def uniform(salt: int) -> Column:
        """A draw in (0, 1) from a hash of (seed, salt, row): no Python UDF, and no dependence on partitioning."""
        bits = F.pmod(F.xxhash64(F.lit(seed), F.lit(salt), F.col("id")), F.lit(_BITS))
        return (bits.cast("double") + 0.5) / float(_BITS)

    rng = random.Random(seed)

    def endpoint(salt: int, alpha: float, candidates: int) -> Column:
        """A person drawn with P(popularity rank k) ~ k^-alpha on [0, candidates), the ranks scattered over the ids."""
        popularity = F.floor(F.lit(float(candidates)) * F.pow(uniform(salt), 1.0 / (1.0 - alpha))).cast("long")  # inverse CDF
        # An affine bijection of [0, N): the most followed and the most active persons are different people,
        # and neither is id 0; a coprime with N makes it one-to-one; popularity x a < N^2 fits in a long.
        a = next(a for a in iter(lambda: rng.randrange(1, persons), None) if math.gcd(a, persons) == 1)
        return F.pmod(popularity * F.lit(a) + F.lit(rng.randrange(persons)), F.lit(persons))

    src, dst = endpoint(1, OUT_ALPHA, max(1, round(ACTIVE_SHARE * persons))), endpoint(2, IN_ALPHA, persons)
    weight = F.pow(uniform(3), -1.0 / WEIGHT_TAIL)  # inverse CDF of Pareto(x_min 1, tail 2)
    drawn = spark.range(edges).select(src.alias("src"), dst.alias("dst"), weight.alias("weight"))
    # max, not sum, over a duplicated pair: exact in any order, so the same seed writes the same bits
    return drawn.where(F.col("src") != F.col("dst")).groupBy("src", "dst").agg(F.max("weight").alias("weight"))


def scipy_pagerank(graph_path: str, n: int, damping: float, iterations: int) -> tuple[np.ndarray, dict]:
    """Clout's weighted PageRank (clout.graph.pagerank's docstring) on one machine: ranks by id, and graph figures.

    Same definition, step by step: rows with a weight that is not finite and positive or with src = dst are
    dropped; duplicate (src, dst) rows are summed (the CSR build sums them; the file has none); each source's
    weights are divided by its out-weight; a vertex with no usable out-edge is dangling (isolated persons
    included), and its rank is spread over all N; rank_0 = 1/N and
    rank_{k+1} = (1 - d)/N + d * (sum_{u -> v} rank_k(u) share(u -> v) + D_k/N), D_k the dangling ranks' sum.
    """
    t0 = time.monotonic()
    table = pq.read_table(graph_path, columns=["src", "dst", "weight"])
    src, dst, w = (table.column(c).to_numpy() for c in ("src", "dst", "weight"))
    del table
    usable = np.isfinite(w) & (w > 0) & (src != dst)
    src, dst, w = src[usable], dst[usable], w[usable]
    out_weight = np.bincount(src, weights=w, minlength=n)
    dangling = out_weight == 0
    # Row v holds v's in-edges, so one sparse product gives every vertex's inflow sum_u rank(u) share(u -> v).
    shares = sp.csr_matrix((w / out_weight[src], (dst, src)), shape=(n, n))
    build_s = time.monotonic() - t0

    t0 = time.monotonic()
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        dangling_mass = rank[dangling].sum()
        rank = (1.0 - damping) / n + damping * dangling_mass / n + damping * (shares @ rank)
    iterate_s = time.monotonic() - t0

    out_degree, in_degree = np.bincount(src, minlength=n), np.bincount(dst, minlength=n)
    stats = dict(
        edges=len(src),
        max_out=int(out_degree.max()),
        max_in=int(in_degree.max()),
        dangling=int(dangling.sum()),
        isolated=int(((out_degree == 0) & (in_degree == 0)).sum()),
        build_s=build_s,
        iterate_s=iterate_s,
    )
    return rank, stats


def peak_rss_mib() -> float:
    """This Python process's peak RSS (Linux reports ru_maxrss in KiB). The JVM is a child still running: not in it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jvm_peak_rss_mib(spark: SparkSession) -> str:
    """The Spark driver JVM's peak RSS (local mode: the executors run in it), from /proc, or why it is unknown."""
    try:
        pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        status = Path(f"/proc/{pid}/status").read_text()
    except Exception as err:  # not Linux, or Spark Connect (no JVM handle): the figure is optional
        return f"unknown ({type(err).__name__})"
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return f"{kib / 1024:,.0f} MiB"


if __name__ == "__main__":
    raise SystemExit(main())
