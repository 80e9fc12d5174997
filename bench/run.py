"""Benchmark: `jrtext run` on N UN General Debate speeches against bare spaCy on the same texts.

    .venv/bin/python bench/run.py [--n 300] [--seed 6] [--corpus ../shared/corpus]

Prints one line per figure and, last, ``pipeline_vs_spacy=… rerun_fraction=… peak_rss_mb=…``.
See docs/performance.md for what each figure means and the figures measured on the 2-core
development machine. A script, not a timed test: CI runs it at a tiny N to keep it working.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"


def choose_speeches(ungdc: Path, n: int, seed: int) -> list[Path]:
    """N speeches drawn reproducibly (a seeded sample of the sorted listing), any year/country."""
    every = sorted(ungdc.glob("Session */*.txt"))
    if n > len(every):
        raise SystemExit(f"--n {n}: only {len(every)} speeches under {ungdc}")
    return sorted(random.Random(seed).sample(every, n))


def mirror_corpus(speeches: list[Path], folder: Path) -> Path:
    """A registry over symlinks laid out as the UNGDC corpus, so `jrtext run` reads just these."""
    for path in speeches:
        target = folder / "ungdc" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    registry = folder / "sources.toml"
    registry.write_text(
        '[[source]]\nname = "UN General Debate"\ntype = "ungdc"\npath = "ungdc"\n',
        encoding="utf-8",
    )
    return registry


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """Memory of a process and all its descendants: (PSS, RSS) in kB. PSS shares each page
    among the processes that map it, so it counts forked workers' shared pages once: the
    resident memory the run really occupies. RSS counts them in every process."""
    pss = rss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue
    return pss, rss


@contextmanager
def prefect_server(home: Path) -> Iterator[dict[str, str]]:
    """A Prefect server of the benchmark's own, as scheduled runs have one: without it every
    `jrtext run` starts a temporary server (about 8 s on 2 cores), measured apart."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    prefect = str(Path(sys.executable).parent / "prefect")
    command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the benchmark's Prefect server did not start") from None
                time.sleep(0.5)
        yield dict(env, PREFECT_API_URL=url)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@dataclass
class Timed:
    seconds: float
    peak_rss_mb: float  # PSS of the process tree
    peak_rss_upper_mb: float  # RSS summed over the tree
    output: str


def run_jrtext(
    registry: Path, db: Path, env: dict[str, str] | None = None, sample_memory: bool = False
) -> Timed:
    """`jrtext run` as a user runs it (a fresh process), timed; with ``sample_memory``, its
    process tree's memory sampled every 0.1 s. Sampling is not free: reading PSS walks
    every page table of every process (about 10 ms of kernel time a sample on the
    development machine, a tenth of a core at 10 samples a second), so the runs whose time
    counts are not sampled, as bare spaCy is not."""
    command = [str(Path(sys.executable).parent / "jrtext"), "run", "--sources", str(registry)]
    command += ["--db", str(db)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    peak = peak_upper = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_upper
        while not done.is_set():
            pss, rss = _tree_memory_kb(process.pid)
            peak, peak_upper = max(peak, pss), max(peak_upper, rss)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_memory:
        sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    if sample_memory:
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"jrtext run failed ({process.returncode}):\n{output}")
    return Timed(seconds, peak / 1024, peak_upper / 1024, output)


def texts_of(registry: Path) -> list[str]:
    """The texts exactly as the pipeline reads them from the registry."""
    from jrtext import ingest
    from jrtext.pipeline import discover_all
    from jrtext.sources import load_registry

    texts = []
    for _source, ref in discover_all(load_registry(registry)).refs:
        print_, raw, sidecar = ingest.fingerprint(ref)
        texts.append(ingest.read_document(ref, raw, sidecar, print_).text)
    return texts


def bare_spacy_seconds(texts: list[str], n_process: int, batch_size: int) -> float:
    """The same texts through the same pipeline (model + jrtext's components), nothing else:
    loading the pipeline once and ``nlp.pipe`` with the same processes and batch size."""
    started = time.perf_counter()
    from jrtext.nlp import load_pipeline
    from jrtext.settings import Settings

    settings = Settings()
    nlp = load_pipeline(settings.spacy_model, settings.max_chars, str(settings.kb_folder))
    for _doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size):
        pass
    return time.perf_counter() - started


def store_rows_per_second(db: Path, scratch: Path) -> tuple[int, float]:
    """Every row of the run's tables written again to a fresh database the way a run writes
    them (Arrow tables, one transaction per chunk of documents); rows and rows/second."""
    import duckdb

    from jrtext import store
    from jrtext.settings import Settings

    tables = ("documents", "sentences", "entities", "stances", "positions")
    with duckdb.connect(str(db), read_only=True) as source:
        data = {t: source.sql(f"SELECT * FROM {t}").to_arrow_table() for t in tables}
    doc_ids = data["documents"].column("doc_id").to_pylist()
    chunk_size = Settings().chunk_size
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = 0
    started = time.perf_counter()
    with store.connect(scratch) as con:
        for start in range(0, len(doc_ids), chunk_size):
            ids = pa.array(doc_ids[start : start + chunk_size], pa.string())
            con.execute("BEGIN TRANSACTION")
            for name in tables:
                part = data[name].filter(pc.is_in(data[name].column("doc_id"), ids))
                store._insert(con, name, part)
                rows += part.num_rows
            con.execute("COMMIT")
    return rows, rows / (time.perf_counter() - started)


def trends_query_ms(db: Path, repeats: int = 5) -> tuple[str, float]:
    """Median latency of reading the whole of ``v_source_trends`` (or, on a schema without
    that view, the same kind of aggregate over ``document_positions``)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        if "v_source_trends" in views:
            name, sql = "v_source_trends", "SELECT * FROM v_source_trends"
        else:
            name = "document_positions by source and year (no v_source_trends in this schema)"
            sql = (
                "SELECT source, year(published) AS year, avg(territorial_share_index),"
                " sum(n_on_topic) FROM document_positions GROUP BY ALL"
            )
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            con.execute(sql).fetchall()
            times.append(time.perf_counter() - started)
    return name, statistics.median(times) * 1000


def _rounds(seconds: Iterable[float]) -> str:
    return ", ".join(f"{s:.1f}" for s in seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="speeches (default 300)")
    parser.add_argument("--seed", type=int, default=6, help="sample seed (default 6)")
    parser.add_argument("--repeat", type=int, default=1, help="timed rounds; medians reported")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the shared corpus")
    args = parser.parse_args(argv)

    from jrtext.nlp import load_pipeline
    from jrtext.settings import Settings

    settings = Settings()
    speeches = choose_speeches(args.corpus / "ungdc", args.n, args.seed)
    median = statistics.median
    with tempfile.TemporaryDirectory(prefix="jrtext-bench-") as tmp:
        folder = Path(tmp)
        registry = mirror_corpus(speeches, folder)
        texts = texts_of(registry)
        words = sum(len(t.split()) for t in texts)
        print(f"documents: {len(speeches)} UNGDC speeches (seed {args.seed}), {words:,} words")
        print(
            f"settings: n_process={settings.n_process} batch={settings.spacy_batch_size}"
            f" chunk={settings.chunk_size} repeat={args.repeat}"
        )
        fulls: list[Timed] = []
        reruns: list[Timed] = []
        bares: list[float] = []
        with prefect_server(folder / "prefect") as env:
            for round_ in range(args.repeat):
                # each round times both, in alternating order, so that the load other
                # users put on the machine weighs on both alike; ratios are per round
                db = folder / f"bench{round_}.duckdb"
                load_pipeline.cache_clear()
                if round_ % 2:
                    bares.append(
                        bare_spacy_seconds(texts, settings.n_process, settings.spacy_batch_size)
                    )
                fulls.append(run_jrtext(registry, db, env))
                reruns.append(run_jrtext(registry, db, env))
                if not round_ % 2:
                    bares.append(
                        bare_spacy_seconds(texts, settings.n_process, settings.spacy_batch_size)
                    )
            # memory: one more run and re-run, untimed, sampled
            sampled = run_jrtext(registry, folder / "memory.duckdb", env, sample_memory=True)
            sampled_rerun = run_jrtext(registry, folder / "memory.duckdb", env, True)
        full_s = median(f.seconds for f in fulls)
        print(f"pipeline_seconds: {full_s:.1f} (rounds: {_rounds(f.seconds for f in fulls)})")
        print(f"pipeline_words_per_second: {words / full_s:,.0f}")
        rerun_s = median(r.seconds for r in reruns)
        rerun_fraction = median(r.seconds / f.seconds for r, f in zip(reruns, fulls, strict=True))
        print(f"rerun_seconds: {rerun_s:.2f}")
        print(f"rerun_fraction: {rerun_fraction:.3f}")
        alone = run_jrtext(registry, db)
        print(f"rerun_seconds_temporary_prefect_server: {alone.seconds:.2f}")
        bare = median(bares)
        print(f"spacy_seconds: {bare:.1f} (rounds: {_rounds(bares)})")
        print(f"spacy_words_per_second: {words / bare:,.0f}")
        ratio = median(b / f.seconds for b, f in zip(bares, fulls, strict=True))
        print(f"pipeline_vs_spacy: {ratio:.2f}")
        rows, rate = store_rows_per_second(db, folder / "store.duckdb")
        print(f"store_rows: {rows:,}")
        print(f"store_rows_per_second: {rate:,.0f}")
        peak = max(sampled.peak_rss_mb, sampled_rerun.peak_rss_mb)
        upper = max(sampled.peak_rss_upper_mb, sampled_rerun.peak_rss_upper_mb)
        print(f"peak_rss_mb: {peak:.0f} (PSS of jrtext run and all its processes)")
        print(f"peak_rss_upper_mb: {upper:.0f} (RSS summed, shared pages counted per process)")
        print(f"pipeline_seconds_sampled: {sampled.seconds:.1f} (the run whose memory was sampled)")
        print(f"database_mb: {db.stat().st_size / 2**20:.1f}")
        view, ms = trends_query_ms(db)
        print(f"trends_query_ms: {ms:.1f} ({view})")
    print(
        f"pipeline_vs_spacy={ratio:.2f} rerun_fraction={rerun_fraction:.3f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
