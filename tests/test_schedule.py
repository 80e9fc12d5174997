"""Scheduled runs: deployments with cron schedules created on a real (test) Prefect server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from flows.schedule import build_deployment
from jrtext.cli import app
from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


def read_deployment(name: str):
    with get_client(sync_client=True) as client:
        return client.read_deployment_by_name(name)


def test_serve_deployment_with_cron_is_created_and_read_back(tmp_path: Path):
    db, sources = tmp_path / "j.duckdb", PROJECT_ROOT / "corpus" / "sources.toml"
    deployment = build_deployment(
        "0 6 * * *", name="test-daily", db=str(db), sources=str(sources), timezone="Asia/Tokyo"
    )
    deployment.apply()
    stored = read_deployment("jrtext-run/test-daily")
    assert [s.schedule.cron for s in stored.schedules] == ["0 6 * * *"]
    assert stored.schedules[0].schedule.timezone == "Asia/Tokyo"
    assert stored.schedules[0].active
    assert stored.parameters == {"db": str(db), "sources": str(sources)}
    assert "jrtext" in stored.tags


@pytest.mark.parametrize("cron", ["61 * * * *", "every morning", "H 6 * * *"])
def test_serve_refuses_a_bad_cron_before_starting(cron: str):
    result = runner.invoke(app, ["serve", "--cron", cron])
    assert result.exit_code == 2
    assert "--cron" in result.output and cron in result.output


def test_prefect_yaml_deploys_to_a_work_pool_with_its_schedule():
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    env["JRTEXT_HOME"] = str(PROJECT_ROOT)
    prefect = [sys.executable, "-m", "prefect"]
    for command in (
        [*prefect, "work-pool", "create", "jrtext", "--type", "process", "--overwrite"],
        [*prefect, "--no-prompt", "deploy", "--all"],
    ):
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
    stored = read_deployment("jrtext-run/daily")
    assert stored.work_pool_name == "jrtext"
    assert [(s.schedule.cron, s.schedule.timezone) for s in stored.schedules] == [
        ("0 6 * * *", "UTC")
    ]
    assert stored.entrypoint == "flows/pipeline.py:run_pipeline"
    assert stored.parameters == {"wait_seconds": 3600}
    assert stored.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(PROJECT_ROOT)}}
    ]
