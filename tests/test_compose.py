"""compose.yaml (Milvus standalone and service replicas behind one port) validates and keeps its promises."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _config(**env: str) -> subprocess.CompletedProcess[str]:
    compose = shutil.which("podman-compose", path=str(Path(sys.executable).parent))
    assert compose, "podman-compose is a dev dependency: run `make install`"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAGQA_")}
    return subprocess.run([compose, "-f", str(ROOT / "compose.yaml"), "config"], capture_output=True, text=True,
                          env={**clean, **env}, cwd=ROOT)  # fmt: skip


@pytest.fixture(scope="module")
def config() -> dict:
    done = _config(RAGQA_ADMIN_API_KEYS="admin-key")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_milvus_standalone_with_etcd_and_minio_and_replicas_behind_one_port(config) -> None:
    services = config["services"]
    assert {"etcd", "minio", "milvus", "report-qa", "gateway"} <= set(services)
    replica = services["report-qa"]
    assert replica["environment"]["RAGQA_VECTOR_STORE"] == "milvus"
    assert replica["environment"]["RAGQA_MILVUS_URI"] == "http://milvus:19530"
    assert replica["deploy"]["replicas"] >= 2 and "ports" not in replica  # reached through the gateway only
    assert "/readyz" in " ".join(replica["healthcheck"]["test"])
    assert services["milvus"]["depends_on"]["etcd"]["condition"] == "service_healthy"
    assert [p for p in services["gateway"]["ports"] if "8000" in str(p)]


def test_uploads_need_an_admin_key_to_start(config) -> None:
    done = _config()
    assert done.returncode != 0 and "RAGQA_ADMIN_API_KEYS" in done.stdout + done.stderr


def test_the_gateway_streams_and_spreads_requests_over_replicas() -> None:
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_buffering off" in nginx  # streamed answers
    assert "resolver 127.0.0.11" in nginx and "proxy_pass http://$replicas" in nginx
