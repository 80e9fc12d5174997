"""Scheduled runs: the ``jrtext-run`` flow as a Prefect deployment with a cron schedule.

``serve`` is for one machine (the process that serves also runs the flow); ``prefect.yaml``
at the project root deploys the same flow to a work pool. Both need a Prefect server
(``prefect server start``) and ``PREFECT_API_URL`` pointing at it.
"""

from __future__ import annotations

from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment

from flows.pipeline import run_pipeline
from jrtext.errors import JrtextError

DEPLOYMENT_NAME = "daily"


class ScheduleError(JrtextError):
    """A schedule jrtext cannot use (a malformed cron string, a bad time zone)."""


def cron_schedule(cron: str, timezone: str | None = None) -> CronSchedule:
    """Prefect's own validation of the cron string and time zone, as one clear error."""
    try:
        return CronSchedule(cron=cron, timezone=timezone)
    except ValueError as exc:
        first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        raise ScheduleError(f"--cron {cron!r}: {first}") from None


def _run_parameters(sources: str | None, db: str | None, wait_seconds: float | None) -> dict:
    """The flow parameters a deployment fixes: only those given."""
    given = {"sources": sources, "db": db, "wait_seconds": wait_seconds}
    return {k: v for k, v in given.items() if v is not None}


def build_deployment(
    cron: str,
    *,
    name: str = DEPLOYMENT_NAME,
    sources: str | None = None,
    db: str | None = None,
    wait_seconds: float | None = None,
    timezone: str | None = None,
) -> RunnerDeployment:
    """The run flow as a deployment on ``cron``; parameters fixed to these paths."""
    schedule = cron_schedule(cron, timezone)
    parameters = _run_parameters(sources, db, wait_seconds)
    return run_pipeline.to_deployment(
        name=name,
        schedule=schedule,
        parameters=parameters,
        description="jrtext: read every source and update the DuckDB file, on a schedule",
        tags=["jrtext"],
    )


def serve(
    cron: str,
    *,
    name: str = DEPLOYMENT_NAME,
    sources: str | None = None,
    db: str | None = None,
    wait_seconds: float | None = None,
    timezone: str | None = None,
) -> None:
    """Register the deployment and run it on its schedule until interrupted (Ctrl-C)."""
    schedule = cron_schedule(cron, timezone)
    parameters = _run_parameters(sources, db, wait_seconds)
    run_pipeline.serve(
        name=name,
        schedule=schedule,
        parameters=parameters,
        description="jrtext: read every source and update the DuckDB file, on a schedule",
        tags=["jrtext"],
        limit=1,  # one run at a time from this process; the writer lock covers the rest
    )
