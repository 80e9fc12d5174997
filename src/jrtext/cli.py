"""The ``jrtext`` command: thin calls into the library; errors become one line and an exit code."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jrtext import __version__
from jrtext.errors import JrtextError
from jrtext.settings import get_settings

app = typer.Typer(
    name="jrtext",
    help="Who says what about the Japan–Russia territorial dispute: ingest, analyse, query.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file [default: data/jrtext.duckdb, or $JRTEXT_DB]"),
]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _quiet_prefect() -> None:
    """Keep Prefect's own chatter (temporary server, telemetry) out of the user's way."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    return typer.Exit(code=2)


@app.command()
def run(
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="source registry [default: corpus/sources.toml]"),
    ] = None,
    db: DbOption = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            help="seconds to wait for another run writing the same database [0: stop at once]",
        ),
    ] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="run the NLP on the Dask cluster of this scheduler (tcp://host:8786)",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="run the NLP on a local Dask cluster of N worker processes"
        ),
    ] = None,
) -> None:
    """Read every source in the registry; store documents, sentences and entities.

    Unchanged documents are skipped; changed ones replace their old rows. One run writes a
    database at a time: a second one stops with a message, or queues with --wait.

    With --dask-address or --workers the NLP runs as Dask tasks (see docs/performance.md);
    this process still writes the database.

    Example: jrtext run --sources corpus/sources.toml --db data/jrtext.duckdb
    """
    from jrtext.sources import load_registry

    settings = get_settings(sources=sources, db=db)
    try:
        registry = load_registry(settings.sources)  # a malformed one stops here, before work
    except JrtextError as exc:
        raise _fail(exc) from None
    has_files = any(source.type in ("files", "ungdc") for source in registry.sources)
    first_run = not settings.db.exists()  # every file is new: the NLP workers will be needed
    if first_run and has_files and settings.n_process > 1 and not (dask_address or workers):
        from jrtext.forkserver import start_early

        start_early()  # the workers' server loads spaCy while Prefect is imported
    _quiet_prefect()
    from flows.pipeline import run_pipeline
    from jrtext.progress import listening
    from jrtext.run_progress import document_progress

    if dask_address and workers:
        raise _fail(ValueError("give --dask-address or --workers, not both"))
    from contextlib import nullcontext

    from jrtext.cluster import prefect_api_for_workers, quiet_dask

    on_dask = nullcontext()
    if dask_address or workers:
        quiet_dask()
        on_dask = prefect_api_for_workers()
    with document_progress(err) as on_progress, listening(on_progress), on_dask:
        try:
            summary = run_pipeline(
                sources=str(settings.sources),
                db=str(settings.db),
                wait_seconds=wait,
                dask_address=dask_address,
                workers=workers,
            )
        except JrtextError as exc:
            raise _fail(exc) from None
    c = summary.counts
    table = Table(title=f"run {summary.run_id} → {summary.db}", show_header=False)
    for label, value in [
        ("documents seen", c.n_seen),
        ("new", c.n_new),
        ("changed", c.n_changed),
        ("unchanged (skipped)", c.n_unchanged),
        ("exact copies (linked, not stored)", c.n_duplicates),
        ("failed", c.n_failed),
        ("sentences written", c.n_sentences),
        ("entities written", c.n_entities),
        ("stances written", c.n_stances),
        ("sentences classified", c.n_positions),
        ("time", f"{summary.seconds:.1f} s"),
    ]:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else value)
    out.print(table)
    if summary.problems:
        err.print(f"[yellow]{len(summary.problems)} problem(s)[/] (see `jrtext status`):")
        for error, _location, detail in summary.problems[:10]:
            err.print(f"  [yellow]{error}[/] {detail}", highlight=False)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run (read-only)")],
    db: DbOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="output format")] = Format.table,
) -> None:
    """Run ad-hoc SQL on the database, read-only.

    Example: jrtext query "SELECT source, count(*) FROM documents GROUP BY source"
    """
    from jrtext.store import query as run_query

    settings = get_settings(db=db)
    try:
        names, rows = run_query(settings.db, sql)
    except JrtextError as exc:
        raise _fail(exc) from None
    _print_rows(names, rows, format)


@app.command()
def status(db: DbOption = None) -> None:
    """Counts, the last runs and the open problems (those of the latest run).

    Example: jrtext status --db data/jrtext.duckdb
    """
    from jrtext.store import query as run_query

    settings = get_settings(db=db)
    try:
        _, counts = run_query(
            settings.db,
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM sentences),"
            " (SELECT count(*) FROM entities), (SELECT count(DISTINCT source) FROM documents)",
        )
        run_names, runs = run_query(
            settings.db,
            "SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started,"
            " round(epoch(finished_at - started_at), 1) AS seconds,"
            " status, n_seen AS seen, n_new AS new, n_changed AS changed, n_failed AS failed"
            " FROM runs ORDER BY started_at DESC LIMIT 5",
        )
        problem_names, problems = run_query(
            settings.db,
            "SELECT stage, error, location, detail FROM problems WHERE run_id ="
            ' (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1) ORDER BY "at"',
        )
    except JrtextError as exc:
        raise _fail(exc) from None
    n_docs, n_sents, n_ents, n_sources = counts[0]
    out.print(
        f"[bold]{settings.db}[/]: {n_docs:,} documents from {n_sources:,} sources, "
        f"{n_sents:,} sentences, {n_ents:,} entities",
        highlight=False,
    )
    _print_rows(run_names, runs, Format.table, title="last runs")
    if problems:
        _print_rows(problem_names, problems, Format.table, title="open problems (latest run)")
    else:
        out.print("no open problems")


@app.command()
def train(
    labels: Annotated[
        Path | None, typer.Option("--labels", help="folder of label files [corpus/labels]")
    ] = None,
    corpus_root: Annotated[
        Path | None,
        typer.Option("--corpus-root", help="where stand-off labels point [../shared/corpus]"),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="model folder [models/position]")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="grouped CV folds (0: skip)")] = 5,
) -> None:
    """Train the position model on the label files and write it with its model card.

    Cross-validates grouped by document first (real sentences scored, authored ones only
    trained on), then fits on everything. Takes about a minute.

    Example: jrtext train --labels corpus/labels --out models/position
    """
    from jrtext import train as training

    settings = get_settings()
    try:
        result = training.train(
            labels or training.DEFAULT_LABELS,
            corpus_root or training.DEFAULT_CORPUS_ROOT,
            folds=folds,
        )
        training.write(result, out_dir or settings.model_dir)
    except JrtextError as exc:
        raise _fail(exc) from None
    if result.cv is not None:
        from jrtext.evaluate import format_report

        print(format_report("cross-validated model", result.cv.model))
        print(format_report("keyword baseline", result.cv.keyword))
    out.print(f"model {result.model.version} written to {out_dir or settings.model_dir}")


@app.command(name="eval")
def eval_(
    gold: Annotated[Path, typer.Option("--gold", help="codebook-format JSONL file")],
    model: Annotated[Path | None, typer.Option("--model", help="model folder")] = None,
    corpus_root: Annotated[
        Path | None,
        typer.Option("--corpus-root", help="where stand-off lines point [../shared/corpus]"),
    ] = None,
) -> None:
    """Score the position model on a labelled file (only `origin: real` lines count).

    Each sentence is classified as the pipeline would, with the previous line of the same
    `doc` as its context. The last line reads `macro_f1=… relevance_f1=… holder_acc=… n=…`.

    Example: jrtext eval --gold corpus/labels/web.jsonl --corpus-root ../shared/corpus
    """
    from jrtext.classify import load_model
    from jrtext.evaluate import format_report, score
    from jrtext.labels import load_label_file
    from jrtext.train import DEFAULT_CORPUS_ROOT

    settings = get_settings()
    try:
        position_model = load_model(model or settings.model_dir)
        sentences = load_label_file(gold, corpus_root or DEFAULT_CORPUS_ROOT)
    except JrtextError as exc:
        raise _fail(exc) from None
    real = [s for s in sentences if s.origin == "real"]
    predicted = position_model.predict([s.text for s in real], [s.context for s in real])
    scores = score([s.position for s in real], [s.holder for s in real], predicted)
    print(format_report(f"{gold} with {position_model.version}", scores))
    print(scores.last_line())


@app.command()
def classify(
    model: Annotated[Path | None, typer.Option("--model", help="model folder")] = None,
) -> None:
    """Add `position`, `holder` and `confidence` to each JSONL line with a `text` (stdin → stdout).

    Consecutive lines with the same `doc` are read as neighbouring sentences of one document,
    in order, and each uses the one before as context, as the pipeline does. Other fields
    are kept.

    Example: jrtext classify < sentences.jsonl > classified.jsonl
    """
    from jrtext.classify import load_model

    settings = get_settings()
    try:
        position_model = load_model(model or settings.model_dir)
    except JrtextError as exc:
        raise _fail(exc) from None
    records, texts, contexts = [], [], []
    previous: dict | None = None
    for number, line in enumerate(sys.stdin, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")  # a file saved "UTF-8 with BOM"
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(JrtextError(f"stdin line {number}: not valid JSON ({exc.msg})")) from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise _fail(JrtextError(f"stdin line {number}: needs a JSON object with a 'text'"))
        same_doc = previous is not None and "doc" in record and previous.get("doc") == record["doc"]
        contexts.append(previous["text"] if same_doc and previous is not None else "")
        texts.append(record["text"])
        records.append(record)
        previous = record
    for record, prediction in zip(records, position_model.predict(texts, contexts), strict=True):
        record.update(
            position=prediction.position,
            holder=prediction.holder,
            confidence=round(prediction.confidence, 4),
        )
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@app.command(name="eval-extraction")
def eval_extraction(
    corpus_root: Annotated[
        Path | None,
        typer.Option("--corpus-root", help="where the gold points [../shared/corpus]"),
    ] = None,
) -> None:
    """Score entity linking and stance extraction against the chapter's gold (tests/gold).

    Prints each report; the last two lines read `entity_precision=… entity_recall=… n_gold=…`
    and `stance_precision=… stance_recall=… n_gold=…`.

    Example: jrtext eval-extraction --corpus-root ../shared/corpus
    """
    from jrtext import eval_entities, eval_stances

    args = ["--corpus-root", str(corpus_root)] if corpus_root else []
    code = eval_entities.main(args)
    if code == 0:
        code = eval_stances.main(args)
    raise typer.Exit(code)


@app.command()
def schema(
    markdown: Annotated[bool, typer.Option("--markdown", help="print docs/schema.md")] = False,
) -> None:
    """Print the database schema (DDL, or the Markdown of docs/schema.md).

    Example: jrtext schema --markdown > docs/schema.md
    """
    from jrtext import schema as schema_module

    if markdown:
        sys.stdout.write(schema_module.markdown())
    else:
        sys.stdout.write(";\n\n".join(schema_module.ddl()) + ";\n")


class TrendGroupChoice(StrEnum):
    source = "source"
    country = "country"
    kind = "kind"


class PeriodChoice(StrEnum):
    year = "year"
    quarter = "quarter"
    month = "month"


@app.command()
def trends(
    db: DbOption = None,
    by: Annotated[
        TrendGroupChoice, typer.Option("--by", help="compare sources, countries or kinds")
    ] = TrendGroupChoice.source,
    period: Annotated[PeriodChoice, typer.Option("--period", help="time step")] = PeriodChoice.year,
    start: Annotated[
        str | None, typer.Option("--from", help="first date: YYYY, YYYY-MM or YYYY-MM-DD")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="last date: YYYY, YYYY-MM or YYYY-MM-DD")
    ] = None,
    position: Annotated[
        str | None,
        typer.Option(
            "--position",
            help="chart this position's share (four_islands, two_islands, compromise, "
            "russian_sovereignty, shelve, neutral) instead of the territorial share index",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="only this source (repeat for more), e.g. UNGA:JPN"),
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="output format")] = Format.table,
    plot: Annotated[Path | None, typer.Option("--plot", help="also write a PNG chart")] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="also write a standalone HTML report")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="chart title")] = None,
) -> None:
    """Stance trends: shares of each position and the territorial share index over time.

    Each value comes with the number of sentences behind it (index_n, n_on_topic): read thin
    periods with care. Table, CSV or JSON on stdout; --plot and --html write files.

    Example: jrtext trends --from 1990 --source UNGA:JPN --source UNGA:RUS --plot jr.png
    """
    from jrtext import trends as trends_module
    from jrtext.access import connect_for_reading

    settings = get_settings(db=db)
    try:
        request = trends_module.TrendRequest(
            by=by.value,
            period=period.value,
            start=trends_module.parse_bound(start),
            end=trends_module.parse_bound(end, end=True),
            position=position,
            sources=tuple(source or ()),
        )
        with connect_for_reading(settings.db) as con:
            series = trends_module.query_trends(con, request)
        if plot:
            trends_module.write_png(series, plot, title)
        if html_file:
            trends_module.write_html(series, html_file, title)
    except JrtextError as exc:
        raise _fail(exc) from None
    if format is Format.table:
        columns = trends_module.table_columns(request)
        records = series.records()
        rows = [tuple(trends_module.rounded(r[c]) for c in columns) for r in records]
        _print_rows(columns, rows, format, title=trends_module.default_title(request))
        if not rows:
            err.print("no documents match these arguments")
    else:
        _print_rows(series.names, series.rows, format)
    for path in (plot, html_file):
        if path:
            err.print(f"wrote {path}", highlight=False)


@app.command()
def report(
    document: Annotated[str, typer.Argument(help="doc_id, or the document's location (path)")],
    db: DbOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="output format")] = Format.table,
    on_topic: Annotated[
        bool, typer.Option("--on-topic", help="only sentences classified on-topic")
    ] = False,
) -> None:
    """One document's sentences with their positions, holders, entities and stances.

    Example: jrtext report ../shared/corpus/chapter/000_7dc69556dcd7cdd8.txt --on-topic
    """
    from jrtext.access import connect_for_reading
    from jrtext.report import document_report

    settings = get_settings(db=db)
    try:
        with connect_for_reading(settings.db) as con:
            result = document_report(con, document)
    except JrtextError as exc:
        raise _fail(exc) from None
    sentences = [
        s for s in result.sentences if not on_topic or (s.position or "off_topic") != "off_topic"
    ]
    if format is Format.json:
        data = result.as_dict()
        data["sentences"] = [s.__dict__ for s in sentences]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    names = ["sent_idx", "position", "holder", "confidence", "text", "entities", "stances"]
    rows = [
        (
            s.sent_idx,
            s.position,
            s.holder,
            s.confidence,
            s.text,
            "; ".join(s.entities),
            "; ".join(s.stances),
        )
        for s in sentences
    ]
    if format is Format.table:
        summary = result.summary
        tsi = summary["territorial_share_index"]
        out.print(
            f"[bold]{result.title or '(untitled)'}[/] — {result.source}, {result.published}\n"
            f"{result.location} (doc_id {result.doc_id})\n"
            f"{summary['n_sentences']} sentences, {summary['n_on_topic']} on-topic; "
            f"territorial share index {'—' if tsi is None else round(tsi, 3)} "
            f"(n={summary['index_n']})",
            highlight=False,
        )
    _print_rows(names, rows, format)


@app.command()
def export(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="folder to write <table>.parquet files into")
    ],
    db: DbOption = None,
) -> None:
    """Write every table as a Parquet file, for other engines (pandas, Polars, Spark, R).

    Example: jrtext export --parquet exports/
    """
    from jrtext.access import connect_for_reading
    from jrtext.export import export_parquet

    settings = get_settings(db=db)
    try:
        with connect_for_reading(settings.db) as con:
            written = export_parquet(con, parquet)
    except (JrtextError, OSError) as exc:
        raise _fail(exc) from None
    for name, n in written.items():
        out.print(f"{parquet / (name + '.parquet')}: {n:,} rows", highlight=False)


@app.command()
def serve(
    cron: Annotated[
        str, typer.Option("--cron", help='cron schedule, e.g. "0 6 * * *" (06:00 daily)')
    ],
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="source registry [default: corpus/sources.toml]"),
    ] = None,
    db: DbOption = None,
    name: Annotated[str, typer.Option("--name", help="deployment name")] = "daily",
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA time zone of the schedule [UTC]")
    ] = None,
    wait: Annotated[
        float | None, typer.Option("--wait", help="seconds a run waits for another writer")
    ] = None,
) -> None:
    """Run the pipeline on a cron schedule with Prefect (flow.serve), until Ctrl-C.

    Needs a Prefect server: start one with `prefect server start` and set
    PREFECT_API_URL=http://127.0.0.1:4200/api. The deployment is jrtext-run/<name>.

    Example: jrtext serve --cron "0 6 * * *" --db data/jrtext.duckdb
    """
    from flows.schedule import cron_schedule
    from flows.schedule import serve as serve_flow

    settings = get_settings(sources=sources, db=db)
    try:
        cron_schedule(cron, timezone)
    except JrtextError as exc:
        raise _fail(exc) from None
    _quiet_prefect()
    serve_flow(
        cron,
        name=name,
        sources=str(settings.sources.resolve()),
        db=str(settings.db.resolve()),
        wait_seconds=wait,
        timezone=timezone,
    )


@app.command()
def version() -> None:
    """Print jrtext's version.

    Example: jrtext version
    """
    out.print(__version__)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _print_rows(names: list[str], rows: list[tuple], format: Format, title: str | None = None):
    if format is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif format is Format.json:
        records = [{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    else:
        table = Table(title=title)
        for name in names:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
