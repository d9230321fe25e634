"""POST /v1/reindex and GET /v1/jobs/{id} over a real socket, and `storyline reindex` in
this process. (Its usage errors: tests/unit/test_cli_usage.py; a full CLI dry run and run:
tests/e2e/test_reindex_long.py.)"""

from __future__ import annotations

import time

import httpx
import pytest

from app import cli
from app.settings import Settings
from app.wiring import build_service
from embeddings import Embedder
from engine.reindex import PHASES, ReindexOptions
from engine.service import Service
from evaluation.datasets import seed_story
from tests.helpers import PauseHook, assert_consistent, ingest_items


def wait_job(client: httpx.Client, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_post_reindex_runs_a_job_that_reports_progress(
    service: Service, client: httpx.Client
) -> None:
    ingest_items(service, seed_story().items)
    r = client.post("/v1/reindex", json={"window": 7})
    assert r.status_code == 202, r.text
    body = r.json()
    assert set(body) >= {"id", "state"} and body["state"] in ("queued", "running")
    job = wait_job(client, body["id"])
    assert job["state"] == "succeeded", job
    assert set(job) >= {"id", "state", "phase", "counts", "summary", "error"}
    assert job["error"] is None and job["phase"] == "done"
    summary = job["summary"]
    assert summary["stories_after"] == service.repo.counts()["stories"]
    assert list(summary["seconds"]) == list(PHASES)
    assert summary["repaired"] == []  # nothing was left to put right
    assert job["counts"]["knn"]["done"] == job["counts"]["knn"]["total"] > 0
    assert_consistent(service)


def test_no_body_means_defaults(service: Service, client: httpx.Client) -> None:
    ingest_items(service, seed_story().items[:5])
    r = client.post("/v1/reindex")
    assert r.status_code == 202
    assert wait_job(client, r.json()["id"])["state"] == "succeeded"


def test_second_reindex_while_one_runs_answers_409(service: Service, client: httpx.Client) -> None:
    ingest_items(service, seed_story().items[:6])
    hook = PauseHook("knn")
    opts = ReindexOptions()
    running = service.jobs.start("reindex", opts.as_dict(), service.reindex_job(opts, hook=hook))
    assert hook.reached.wait(60)
    try:
        r = client.post("/v1/reindex", json={"dry_run": True})
        assert r.status_code == 409
        err = r.json()["error"]
        assert err["code"] == "job_running" and err["job_id"] == running["id"]
        assert client.get(f"/v1/jobs/{running['id']}").json()["state"] == "running"
    finally:
        hook.go.set()
    assert wait_job(client, running["id"])["state"] == "succeeded"
    assert client.post("/v1/reindex", json={"dry_run": True}).status_code == 202


def test_bad_requests(client: httpx.Client) -> None:
    r = client.post("/v1/reindex", json={"window": -1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "window"
    r = client.post("/v1/reindex", json={"windows": 3})
    assert r.status_code == 422
    r = client.get("/v1/jobs/999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_failed_job_says_why(service: Service, client: httpx.Client) -> None:
    ingest_items(service, seed_story().items[:3])
    r = client.post("/v1/reindex", json={"model": "py:no_such_module:factory"})
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "failed"
    assert "no_such_module" in job["error"]
    assert client.post("/v1/reindex", json={"dry_run": True}).status_code == 202  # not stuck


# -- CLI ----------------------------------------------------------------------------
def test_cli_refuses_while_a_service_holds_the_data_dir(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest_items(service, seed_story().items[:2])
    code = cli.main(["reindex", "--data-dir", str(service.config.data_dir), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "in use" in err and "/v1/reindex" in err


def test_job_survives_a_restart(settings: Settings, embedder: Embedder) -> None:
    service = build_service(settings, embedder=embedder)
    ingest_items(service, seed_story().items[:4])
    opts = ReindexOptions()
    job = service.jobs.run("reindex", opts.as_dict(), service.reindex_job(opts))
    service.close()
    service = build_service(settings, embedder=embedder)
    try:
        again = service.get_job(job["id"])
        assert again["state"] == "succeeded" and again["summary"] == job["summary"]
    finally:
        service.close()
