"""Abuse benchmark: every attack of issue 14 against a live server with keys, on loopback only.

Starts `python -m service` over a copy of the five reports (API and admin keys set), probes /healthz
every 50 ms while the attacks run one after another, and prints: requests sent, 5xx responses, the
/healthz p99 during the attacks, the slowest single request (uploads apart), the server's RSS growth,
whether the corpus and the index agree afterwards, and then the same on a 6 MiB tmpfs that fills up
(skipped where no tmpfs can be mounted). Bounded: about 500 requests, under a minute.

    .venv/bin/python bench/abuse.py --json docs/bench/abuse.json
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.build import corpus_files  # noqa: E402
from tests.server import start_service  # noqa: E402

USER, ADMIN = "bench-user-key", "bench-admin-key"


class Attacker:
    """Sends requests, keeping each one's status and time (uploads timed apart)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=120)
        self.statuses: list[int] = []
        self.times: list[tuple[float, str]] = []  # (seconds, what) of every request but uploads
        self.small_upload_s = 0.0  # a 60-byte upload right after the hostile ones

    def send(self, what: str, method: str, path: str, *, key: str | None = USER, upload: bool = False, **kwargs):
        headers = kwargs.pop("headers", {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()
        response = self.client.request(method, path, headers=headers, **kwargs)
        elapsed = time.perf_counter() - started
        self.record(response.status_code, elapsed, what, upload)
        return response

    def record(self, status: int, elapsed: float, what: str, upload: bool = False) -> None:
        self.statuses.append(status)
        if not upload:
            self.times.append((elapsed, what))


class HealthProbe(threading.Thread):
    """GET /healthz every 50 ms until stopped; keeps each latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._halt.is_set():
                started = time.perf_counter()
                client.get(f"{self.url}/healthz")
                self.latencies.append(time.perf_counter() - started)
                self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def attacks(a: Attacker) -> dict[str, Callable[[], None]]:
    rng = random.Random(7)

    def rare(n: int) -> str:
        return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))

    docs = a.send("list", "GET", "/v1/documents").json()["documents"]
    source = docs[0]["source"]

    def long_queries() -> None:
        for _ in range(15):
            a.send("search 1,000 rare characters", "POST", "/v1/search", json={"query": rare(1000)})
            a.send("ask 1,000 rare characters", "POST", "/v1/ask", json={"question": rare(1000)})

    def long_chats() -> None:
        for _ in range(5):
            messages = [{"role": "user", "content": rare(20_000)}, {"role": "user", "content": "那郓城县呢？"}]
            a.send("chat: short follow-up after 20,000 characters", "POST", "/v1/chat/completions",
                   json={"messages": messages})  # fmt: skip
            a.send("chat: 20,000-character question", "POST", "/v1/chat/completions",
                   json={"messages": [{"role": "user", "content": rare(20_000)}]})  # fmt: skip

    def repeated_sources() -> None:
        for count in (1_000, 30_000):
            a.send(f"sources x{count}", "POST", "/v1/search", json={"query": "双随机", "sources": [source] * count})

    def surrogates() -> None:
        bodies = {
            "/v1/search": '{"query": "\\ud800"}',
            "/v1/ask": '{"question": "\\udfff"}',
            "/v1/chat/completions": '{"messages": [{"role": "user", "content": "\\ud800"}]}',
        }
        for path, body in bodies.items():
            a.send("lone surrogate", "POST", path, content=body, headers={"content-type": "application/json"})
        a.send("lone surrogate in sources", "POST", "/v1/search", content='{"query": "x", "sources": ["\\ud800"]}',
               headers={"content-type": "application/json"})  # fmt: skip

    def guessed_keys() -> None:
        # From another loopback address: its throttling (all its requests get 429 for a while) must not
        # lock out the other attacks' own address.
        transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=a.url, transport=transport, timeout=30) as guesser:
            for i in range(300):
                started = time.perf_counter()
                response = guesser.post(
                    "/v1/search", json={"query": "双随机"}, headers={"Authorization": f"Bearer g{i}"}
                )
                a.record(response.status_code, time.perf_counter() - started, "wrong key")

    def user_key_writes() -> None:
        a.send("delete with a user key", "DELETE", f"/v1/documents/{source}")
        a.send("reindex with a user key", "POST", "/v1/admin/reindex")

    def hostile_uploads() -> None:
        files = {
            "pinyin.txt": "(zhōng)(guó)".encode(),
            "paragraphs.docx": _docx_with(b"<w:p/>" * 2_000_000),
            "image.docx": _docx_with(b"<w:p><w:r><w:t>x</w:t></w:r></w:p>", image=b"\0" * (1 << 30)),
            "elements.html": b"<p>x</p>" * 600_000,
            "关于机构编制" * 17 + ".txt": "东阿县新增一项双随机抽查制度。".encode(),
        }
        for name, data in files.items():
            a.send(f"upload {name[:20]}", "POST", "/v1/documents", key=ADMIN, upload=True, files={"file": (name, data)})
        started = time.perf_counter()
        a.send("60-byte upload", "POST", "/v1/documents", key=ADMIN, upload=True,
               files={"file": ("small.txt", "东平县营商环境评估通知。全县各乡镇纳入评估。".encode())})  # fmt: skip
        a.small_upload_s = round(time.perf_counter() - started, 3)
        nfd = unicodedata.normalize("NFD", "café.txt")
        a.send("upload café", "POST", "/v1/documents", key=ADMIN, upload=True,
               files={"file": (unicodedata.normalize("NFC", nfd), "云南某县通知。".encode())})  # fmt: skip
        a.send("get by NFD name", "GET", f"/v1/documents/{nfd}")
        a.send("delete by NFD name", "DELETE", f"/v1/documents/{nfd}", key=ADMIN, upload=True)

    def early_refusals() -> None:
        port = int(a.url.rsplit(":", 1)[1])
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 19000000\r\n\r\n"
            )
            status = int(sock.recv(65536).split(b" ", 2)[1])
        a.record(status, time.perf_counter() - started, "19 MB upload, wrong key, body never sent")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {USER}"}
        request = urllib.request.Request(f"{a.url}/v1/search", data=b"x" * (3 << 20), headers=headers)
        started = time.perf_counter()
        try:
            urllib.request.urlopen(request, timeout=30)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        a.record(status, time.perf_counter() - started, "3 MB body from urllib (send-first)")
        a.send("16 MB header", "POST", "/v1/search", key=None, json={"query": "x"},
               headers={"Authorization": "Bearer " + "k" * (16 << 20)})  # fmt: skip

    def stream_disconnects() -> None:
        body = {"stream": True, "messages": [{"role": "user", "content": "东阿县如何开展双随机检查"}]}
        for _ in range(20):
            with a.client.stream(
                "POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {USER}"}, json=body
            ) as r:
                next(r.iter_bytes(), None)  # one chunk, then hang up
                a.record(r.status_code, 0.0, "stream disconnect")

    return {
        "long queries": long_queries,
        "long chat turns": long_chats,
        "repeated sources": repeated_sources,
        "lone surrogates": surrogates,
        "guessed keys": guessed_keys,
        "writes with a user key": user_key_writes,
        "hostile uploads": hostile_uploads,
        "early refusals (auth, 413, 431)": early_refusals,
        "stream disconnects": stream_disconnects,
    }


def _docx_with(body: bytes, image: bytes | None = None) -> bytes:
    import docx  # the benchmark's own fixture builder; python-docx is a project dependency

    out = io.BytesIO()
    docx.Document().save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                head, tail = data.split(b"<w:body>", 1)
                data = head + b"<w:body>" + body + tail
            target.writestr(item.filename, data)
        if image is not None:
            target.writestr("word/media/image1.png", image)
    return result.getvalue()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(workdir: Path) -> dict:
    corpus = workdir / "corpus"
    shutil.copytree(ROOT / "data" / "reports", corpus)
    env = {
        "RAGQA_CORPUS_DIR": str(corpus),
        "RAGQA_INDEX_DIR": str(workdir / "index"),
        "RAGQA_API_KEYS": USER,
        "RAGQA_ADMIN_API_KEYS": ADMIN,
        "RAGQA_RELOAD_INTERVAL": "0.5",
    }
    process, url = start_service(env, workdir / "service.log", build=True, timeout=300)
    try:
        attacker = Attacker(url)
        attacker.send("warm-up", "POST", "/v1/ask", json={"question": "东阿县如何开展双随机检查"})
        attacker.statuses.clear()
        attacker.times.clear()
        rss_before = rss_mb(process.pid)
        probe = HealthProbe(url)
        probe.start()
        per_attack = {}
        for name, attack in attacks(attacker).items():
            sent = len(attacker.statuses)
            started = time.perf_counter()
            attack()
            seconds = round(time.perf_counter() - started, 1)
            per_attack[name] = {"requests": len(attacker.statuses) - sent, "seconds": seconds}
            print(f"{name}: {per_attack[name]}", file=sys.stderr)
        probe.stop()
        rss_after = rss_mb(process.pid)
        time.sleep(1.0)  # the reload watcher picks up the last change
        indexed = {d["source"]: d["sha256"] for d in attacker.send("list", "GET", "/v1/documents").json()["documents"]}
        skipped = json.loads((workdir / "index" / "current" / "manifest.json").read_text()).get("skipped", {})
        worst, worst_what = max(attacker.times)
        health = sorted(probe.latencies)
        return {
            "requests": len(attacker.statuses) + len(probe.latencies),
            "attack_requests": len(attacker.statuses),
            "server_errors_5xx": sum(s >= 500 and s != 507 for s in attacker.statuses),
            "statuses": {str(s): attacker.statuses.count(s) for s in sorted(set(attacker.statuses))},
            "healthz_probes": len(health),
            "healthz_p50_ms": round(statistics.median(health) * 1000, 1),
            "healthz_p99_ms": round(health[int(len(health) * 0.99) - 1] * 1000, 1),
            "worst_request_s": round(worst, 3),
            "worst_request": worst_what,
            "small_upload_after_hostile_ones_s": attacker.small_upload_s,
            "rss_before_mb": round(rss_before),
            "rss_growth_mb": round(rss_after - rss_before),
            "corpus_equals_index": corpus_files(corpus) == {**indexed, **skipped},
            "attacks": per_attack,
        }
    finally:
        process.kill()


def run_full_disk(workdir: Path) -> dict:
    """Corpus and index on a 6 MiB tmpfs; the disk is filled, then an upload must change nothing."""
    mount = workdir / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        return {"skipped": f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}"}
    try:
        corpus = mount / "corpus"
        shutil.copytree(ROOT / "data" / "reports", corpus)
        env = {"RAGQA_CORPUS_DIR": str(corpus), "RAGQA_INDEX_DIR": str(mount / "index"), "RAGQA_ADMIN_API_KEYS": ADMIN}
        process, url = start_service(env, workdir / "disk.log", build=True, timeout=300)
        try:
            with (mount / "filler").open("wb") as out:
                try:
                    while True:
                        out.write(b"\0" * 65536)
                        out.flush()
                except OSError:
                    pass
            before = corpus_files(corpus)
            attacker = Attacker(url)
            response = attacker.send("upload on a full disk", "POST", "/v1/documents", key=ADMIN, upload=True,
                                     files={"file": ("new.txt", "东阿县新制度。".encode() * 2000)})  # fmt: skip
            ready = httpx.get(f"{url}/readyz").json()
            listed = attacker.send("list", "GET", "/v1/documents").json()["documents"]
            indexed = {d["source"]: d["sha256"] for d in listed}
            return {
                "upload_status": response.status_code,
                "upload_error": response.json()["error"]["code"],
                "corpus_unchanged": corpus_files(corpus) == before,
                "corpus_equals_index": corpus_files(corpus) == indexed,
                "readyz": ready,
                "staging_left": [p.name for p in (mount / "index" / "versions").iterdir() if p.name.startswith(".")],
            }
        finally:
            process.kill()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="abuse-") as scratch:
        figures = {"attacks": run(Path(scratch) / "a"), "full_disk": None}
        (Path(scratch) / "b").mkdir()
        figures["full_disk"] = run_full_disk(Path(scratch) / "b")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
