"""Run a built image's command in its own file system and check it serves (`make image` runs this).

`podman run` is refused on the build machines here (the sandbox forbids its setrlimit), so this does
what the container runtime would: a container's writable root from `podman create` + `podman mount`,
/dev and /proc bound in, then the image's CMD under `chroot` with exactly the image's environment,
user and working directory. It waits for /readyz (the index is built at first start), asks the
example question, and prints what it measured as JSON. Standard library only; needs root.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

QUESTION = "东阿县如何开展双随机检查"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default="localhost/report-qa:latest")
    parser.add_argument("--port", type=int, default=18000, help="host port (overrides the image's RAGQA_PORT)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for /readyz")
    args = parser.parse_args()
    config = json.loads(_podman("image", "inspect", args.image))[0]["Config"]
    container = _podman("create", args.image).strip()
    root = Path(_podman("mount", container).strip())
    log = Path(tempfile.mkstemp(prefix="image-check-", suffix=".log")[1])
    mounts = [root / "dev", root / "proc"]
    subprocess.run(["mount", "--bind", "/dev", str(mounts[0])], check=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(mounts[1])], check=True)
    process = None
    try:
        env = [*config.get("Env", []), f"RAGQA_PORT={args.port}"]
        command = " ".join(_quote(part) for part in config["Cmd"])
        workdir = config.get("WorkingDir") or "/"
        with log.open("w") as output:
            process = subprocess.Popen(
                ["chroot", f"--userspec={config.get('User') or '0:0'}", str(root), "/usr/bin/env", "-i", *env,
                 "/bin/sh", "-c", f"cd {_quote(workdir)} && exec {command}"],
                stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{args.port}"
        started = time.monotonic()
        ready = _wait_ready(url, process, args.timeout, log)
        ready_seconds = time.monotonic() - started
        asked = time.monotonic()
        answer = _post_json(f"{url}/v1/ask", {"question": QUESTION})
        result = {
            "image": args.image,
            "user": config.get("User"),
            "ready": ready,
            "seconds_to_ready": round(ready_seconds, 1),
            "ask_ms": round((time.monotonic() - asked) * 1000, 1),
            "answerable": answer["answerable"],
            "answer": answer["answer"][:80],
            "first_citation": {k: answer["citations"][0][k] for k in ("source", "start", "end")},
            "torch_in_image": any((root / "opt/venv/lib").glob("python3*/site-packages/torch")),
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
        assert answer["answerable"] and "双随机" in answer["answer"], answer
        assert not result["torch_in_image"], "the runtime image must not carry torch"
        return 0
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for mount in reversed(mounts):
            subprocess.run(["umount", "--lazy", str(mount)], check=False)
        _podman("umount", container)
        _podman("rm", container)


def _podman(*args: str) -> str:
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _wait_ready(url: str, process: subprocess.Popen, timeout: float, log: Path) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the image's command exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise SystemExit(f"/readyz not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def _post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


if __name__ == "__main__":
    sys.exit(main())
