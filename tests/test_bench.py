"""The benchmark script keeps working: run at a tiny N, its output has every figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIGURES = [
    "pipeline_seconds",
    "pipeline_words_per_second",
    "rerun_seconds",
    "rerun_fraction",
    "spacy_seconds",
    "spacy_words_per_second",
    "pipeline_vs_spacy",
    "store_rows_per_second",
    "peak_rss_mb",
    "trends_query_ms",
]
LAST_LINE = re.compile(r"pipeline_vs_spacy=\d+\.\d\d rerun_fraction=\d+\.\d{3} peak_rss_mb=\d+")


def test_bench_prints_every_figure_at_tiny_n(corpus: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "run.py"), "--n", "2", "--corpus", corpus],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    names = {line.split(":", 1)[0] for line in lines[:-1]}
    assert set(FIGURES) <= names, sorted(set(FIGURES) - names)
    assert LAST_LINE.fullmatch(lines[-1]), lines[-1]
    assert "documents: 2 UNGDC speeches" in result.stdout
