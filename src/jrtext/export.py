"""Every table as Parquet, for engines other than DuckDB (pandas, Polars, Spark, R …)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from jrtext.schema import TABLES


def export_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Write ``<folder>/<table>.parquet`` for every table; return table → rows written.

    Table names come from the schema module, not from the user; each file is written to a
    temporary name first so a failed export never leaves a half file under the real name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for table in TABLES:
        relation = con.sql(f"SELECT * FROM {table.name}")
        # DuckDB 2 names it to_arrow_table; the project allows 1.x too, where it is arrow()
        arrow = (
            relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
        )
        target = folder / f"{table.name}.parquet"
        partial = folder / f".{table.name}.parquet.partial"
        pq.write_table(arrow, partial, compression="zstd")
        partial.replace(target)
        written[table.name] = arrow.num_rows
    return written
