"""Stance trends across sources over time: the numbers, a PNG chart and a standalone HTML page.

Every argument that shapes the SQL is checked against a fixed list and every value is a
bound parameter, so nothing a user types is pasted into a query. The aggregation itself is
``schema.trends_sql``, the same one ``v_source_trends`` uses.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from jrtext.errors import JrtextError
from jrtext.schema import ON_TOPIC_POSITIONS, PERIODS, trends_sql

GROUPS: tuple[str, ...] = ("source", "country", "kind")
THIN = 5  # fewer sentences than this behind a point: drawn hollow, flagged in tables


class TrendArgumentError(JrtextError):
    """A ``trends`` argument is not one jrtext knows (a group, period, position or date)."""


@dataclass(frozen=True)
class TrendRequest:
    by: str = "source"
    period: str = "year"
    start: date | None = None
    end: date | None = None
    position: str | None = None
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require(self.by, GROUPS, "--by")
        _require(self.period, PERIODS, "--period")
        if self.position is not None:
            _require(self.position, ON_TOPIC_POSITIONS, "--position")
        if self.start and self.end and self.start > self.end:
            raise TrendArgumentError(f"--from {self.start} is after --to {self.end}")

    @property
    def metric(self) -> str:
        """The column charted: a position's share, or the territorial share index."""
        return f"share_{self.position}" if self.position else "territorial_share_index"

    @property
    def count_column(self) -> str:
        """The sentences behind the metric, shown beside it so thin periods are not over-read."""
        return "n_on_topic" if self.position else "index_n"


def _require(value: str, allowed: Sequence[str], option: str) -> None:
    if value not in allowed:
        raise TrendArgumentError(f"{option} {value!r}: choose one of {', '.join(allowed)}")


_BOUND = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


def parse_bound(text: str | None, *, end: bool = False) -> date | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; a ``--to`` year or month means its last day."""
    if text is None or text == "":
        return None
    match = _BOUND.match(text.strip())
    if not match:
        raise TrendArgumentError(f"{text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        if day:
            return date(int(year), int(month), int(day))
        if month:
            first = date(int(year), int(month), 1)
            if not end:
                return first
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date(int(year), 12, 31) if end else date(int(year), 1, 1)
    except ValueError as exc:
        raise TrendArgumentError(f"{text!r} is not a date: {exc}") from None


@dataclass
class TrendSeries:
    """The rows of one trends request, group by group in time order."""

    request: TrendRequest
    names: list[str]
    rows: list[tuple]
    groups: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]

    def series(self) -> dict[str, list[dict]]:
        """Group → its points (period, label, metric, n), for charts and the HTML page."""
        out: dict[str, list[dict]] = {}
        for record in self.records():
            out.setdefault(record["group"] or "(none)", []).append(
                {
                    "period": record["period"].isoformat(),
                    "label": record["period_label"],
                    "value": record[self.request.metric],
                    "n": record[self.request.count_column],
                    "n_documents": record["n_documents"],
                }
            )
        return out


TREND_COLUMNS = (
    "n_documents",
    "n_sentences",
    "n_on_topic",
    *(f"share_{label}" for label in ON_TOPIC_POSITIONS),
    "territorial_share_index",
    "index_n",
)


def query_trends(con: duckdb.DuckDBPyConnection, request: TrendRequest) -> TrendSeries:
    """Group × period aggregates for the request, from the documents and positions tables."""
    source_filter = "AND (len($sources) = 0 OR list_contains($sources, d.source))"
    base = trends_sql(request.by, source_filter)
    sql = f"""WITH grouped AS (
{base}
)
SELECT {request.by} AS "group", period,
    CASE $period WHEN 'year' THEN strftime(period, '%Y')
        WHEN 'quarter' THEN strftime(period, '%Y') || '-Q' || quarter(period)
        ELSE strftime(period, '%Y-%m') END AS period_label,
    {", ".join(TREND_COLUMNS)}
FROM grouped
WHERE period_type = $period
    AND ($start IS NULL OR period >= date_trunc($period, $start::DATE))
    AND ($end IS NULL OR period <= $end::DATE)
ORDER BY "group" NULLS LAST, period"""
    params = {
        "period": request.period,
        "start": request.start,
        "end": request.end,
        "sources": list(request.sources),
    }
    result = con.execute(sql, params)
    names = [d[0] for d in result.description]
    rows = result.fetchall()
    groups = list(dict.fromkeys(r[0] or "(none)" for r in rows))
    return TrendSeries(request, names, rows, groups)


def table_columns(request: TrendRequest) -> list[str]:
    """What the terminal table shows: the metric with its count, not every share."""
    focus = [request.metric, request.count_column]
    if request.position:
        focus.append("territorial_share_index")
    return ["group", "period_label", "n_documents", "n_on_topic", *dict.fromkeys(focus)]


def rounded(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


# ---------------------------------------------------------------- pictures


def _metric_label(request: TrendRequest) -> str:
    if request.position:
        return f"share of {request.position} among on-topic sentences"
    return "territorial share index (1 = all four islands to Japan)"


def _figure(trends: TrendSeries, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    request = trends.request
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    for group, points in trends.series().items():
        xs = [date.fromisoformat(p["period"]) for p in points]
        ys = [p["value"] for p in points]
        ns = [p["n"] for p in points]
        line = top.plot(
            xs, [float("nan") if y is None else y for y in ys], marker="o", label=group, lw=1.5
        )[0]
        thin = [(x, y) for x, y, n in zip(xs, ys, ns, strict=True) if y is not None and n < THIN]
        if thin:
            top.scatter(
                [x for x, _ in thin],
                [y for _, y in thin],
                s=60,
                facecolors="white",
                edgecolors=line.get_color(),
                zorder=3,
            )
        bottom.plot(xs, ns, marker=".", color=line.get_color(), lw=1)
    top.set_ylim(-0.05, 1.05)
    top.set_ylabel(_metric_label(request), fontsize=9)
    top.set_title(title)
    top.legend(fontsize=8, loc="best")
    top.grid(alpha=0.3)
    bottom.set_ylabel(f"n ({request.count_column})", fontsize=9)
    bottom.grid(alpha=0.3)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    fig.text(
        0.01,
        0.005,
        f"hollow points: fewer than {THIN} sentences behind the value",
        fontsize=7,
        color="grey",
    )
    fig.tight_layout()
    return fig


def default_title(request: TrendRequest) -> str:
    return f"{_metric_label(request)}, by {request.by} and {request.period}"


def write_png(trends: TrendSeries, path: Path, title: str | None = None) -> Path:
    """The chart as a PNG (matplotlib's Agg backend: no display needed)."""
    import matplotlib.pyplot as plt

    if not trends.rows:
        raise TrendArgumentError("nothing to plot: no documents match these arguments")
    fig = _figure(trends, title or default_title(trends.request))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_html(trends: TrendSeries, path: Path, title: str | None = None) -> Path:
    """One self-contained page (inline SVG chart, the table, the series as JSON): works offline."""
    import matplotlib.pyplot as plt

    if not trends.rows:
        raise TrendArgumentError("nothing to report: no documents match these arguments")
    title = title or default_title(trends.request)
    fig = _figure(trends, title)
    svg = io.StringIO()
    fig.savefig(svg, format="svg")
    plt.close(fig)
    svg_text = svg.getvalue()
    svg_text = svg_text[svg_text.index("<svg") :]
    columns = table_columns(trends.request)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for record in trends.records():
        thin = (record[trends.request.count_column] or 0) < THIN
        cells = "".join(
            f"<td>{'' if record[c] is None else html.escape(str(rounded(record[c])))}</td>"
            for c in columns
        )
        body.append(f'<tr class="{"thin" if thin else ""}">{cells}</tr>')
    data = json.dumps(
        {"request": _request_dict(trends.request), "series": trends.series()}, ensure_ascii=False
    ).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
tr.thin {{ color: #999; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Made by <code>jrtext trends</code>. Each value comes with the number of sentences behind it
({html.escape(trends.request.count_column)}); grey rows and hollow points rest on fewer than
{THIN}.</p>
{svg_text}
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<script type="application/json" id="jrtext-series">{data}</script>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _request_dict(request: TrendRequest) -> dict:
    return {
        "by": request.by,
        "period": request.period,
        "from": request.start.isoformat() if request.start else None,
        "to": request.end.isoformat() if request.end else None,
        "position": request.position,
        "sources": list(request.sources),
        "metric": request.metric,
        "count": request.count_column,
    }
