"""API keys, admin keys, rate limits, body limits, CORS, and no secrets in logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.security import RateLimiter
from tests.test_api import assert_error

USER, ADMIN = "user-key-7f3a9c", "admin-key-c41d8e"
NOTICE = "东平县营商环境评估通知。全县各乡镇均纳入评估。".encode()


def _client(fake_index, **overrides) -> TestClient:
    index_settings, embedder = fake_index
    settings = Settings(**index_settings.model_dump(), build_on_start=False, **overrides)
    return TestClient(create_app(settings, embedder=embedder))


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


READS = [
    ("post", "/v1/search", {"json": {"query": "双随机"}}),
    ("post", "/v1/ask", {"json": {"question": "双随机"}}),
    ("get", "/v1/documents", {}),
    ("get", "/v1/models", {}),
    ("post", "/v1/chat/completions", {"json": {"model": "m", "messages": [{"role": "user", "content": "双随机"}]}}),
]
WRITES = [
    ("post", "/v1/documents", {"files": {"file": ("n.txt", NOTICE)}}),
    ("delete", "/v1/documents/n.txt", {}),
    ("post", "/v1/admin/reindex", {}),
]


def test_with_keys_every_v1_call_needs_a_valid_key_and_probes_stay_open(fake_index, caplog):
    caplog.set_level(logging.DEBUG)
    with _client(fake_index, api_keys=[USER], admin_api_keys=[ADMIN], auth_failures_per_minute=1000) as client:
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
        for method, path, kwargs in READS + WRITES:
            for headers in ({}, _bearer("wrong"), {"Authorization": USER}, {"Authorization": "Basic " + USER}):
                response = getattr(client, method)(path, headers=headers, **kwargs)
                assert_error(response, 401, "unauthorized")
                assert response.headers["www-authenticate"] == "Bearer"
        for method, path, kwargs in READS:
            for key in (USER, ADMIN):
                assert getattr(client, method)(path, headers=_bearer(key), **kwargs).status_code == 200
        for method, path, kwargs in WRITES:
            assert_error(getattr(client, method)(path, headers=_bearer(USER), **kwargs), 403, "forbidden")
        assert client.post("/v1/documents", headers=_bearer(ADMIN), **WRITES[0][2]).status_code == 201
        assert client.delete("/v1/documents/n.txt", headers=_bearer(ADMIN)).status_code == 200
        assert client.post("/v1/admin/reindex", headers=_bearer(ADMIN)).status_code == 200
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert USER not in logged and ADMIN not in logged


def test_without_keys_reads_are_open_and_writes_closed(fake_index):
    with _client(fake_index) as client:
        for method, path, kwargs in READS:
            assert getattr(client, method)(path, **kwargs).status_code == 200, path
        for method, path, kwargs in WRITES:
            response = getattr(client, method)(path, **kwargs)
            assert_error(response, 403, "forbidden")
            assert "RAGQA_ADMIN_API_KEYS" in response.json()["error"]["message"]


def test_user_keys_without_admin_keys_cannot_write(fake_index):
    with _client(fake_index, api_keys=[USER]) as client:
        assert client.post("/v1/search", json={"query": "双随机"}, headers=_bearer(USER)).status_code == 200
        for method, path, kwargs in WRITES:
            assert_error(getattr(client, method)(path, headers=_bearer(USER), **kwargs), 403, "forbidden")


def test_writes_opened_explicitly_on_loopback(fake_index):
    with _client(fake_index, open_writes=True) as client:
        for method, path, kwargs in WRITES:
            assert getattr(client, method)(path, **kwargs).status_code in (200, 201), path


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_open_writes_are_refused_on_a_reachable_address(host):
    with pytest.raises(ValueError, match="RAGQA_ADMIN_API_KEYS"):
        Settings(host=host, open_writes=True)
    assert Settings(host=host, open_writes=True, admin_api_keys=[ADMIN]).admin_api_keys == [ADMIN]


def test_admin_keys_alone_protect_only_the_writes(fake_index):
    with _client(fake_index, admin_api_keys=[ADMIN]) as client:
        assert client.post("/v1/search", json={"query": "双随机"}).status_code == 200
        assert_error(client.post("/v1/admin/reindex"), 401, "unauthorized")
        assert client.post("/v1/admin/reindex", headers=_bearer(ADMIN)).status_code == 200


def test_keys_come_from_comma_separated_environment_variables(monkeypatch):
    monkeypatch.setenv("RAGQA_API_KEYS", f" {USER} ,other,")
    monkeypatch.setenv("RAGQA_ADMIN_API_KEYS", ADMIN)
    monkeypatch.setenv("RAGQA_CORS_ORIGINS", "https://a.example,https://b.example")
    settings = Settings()
    assert settings.api_keys == [USER, "other"] and settings.admin_api_keys == [ADMIN]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_rate_limit_per_key_answers_429_with_retry_after(fake_index):
    with _client(fake_index, rate_limit=3, api_keys=[USER, ADMIN]) as client:
        statuses = [client.get("/v1/documents", headers=_bearer(USER)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/v1/documents", headers=_bearer(USER))
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/v1/documents", headers=_bearer(ADMIN)).status_code == 200  # its own bucket
        assert client.get("/healthz").status_code == 200


def test_oversized_json_bodies_get_413_declared_or_chunked(fake_index):
    with _client(fake_index, max_body_bytes=2048) as client:
        big = {"query": "双随机" * 1000}
        assert_error(client.post("/v1/search", json=big), 413, "payload_too_large")

        def chunks():
            yield b'{"query": "'
            for _ in range(100):
                yield "双随机".encode() * 20
            yield b'"}'

        response = client.post("/v1/search", content=chunks(), headers={"Content-Type": "application/json"})
        assert_error(response, 413, "payload_too_large")
        assert client.post("/v1/search", json={"query": "双随机"}).status_code == 200


@pytest.mark.parametrize(("origin", "allowed"), [("https://chat.example.org", True), ("https://evil.example", False)])
def test_cors_allows_only_the_configured_origins(fake_index, origin, allowed):
    with _client(fake_index, cors_origins=["https://chat.example.org"]) as client:
        preflight = client.options(
            "/v1/search",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"},
        )  # fmt: skip
        assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed
        response = client.post("/v1/search", json={"query": "双随机"}, headers={"Origin": origin})
        assert (response.headers.get("access-control-allow-origin") == origin) is allowed


def test_failed_authentications_are_throttled_per_address_and_logged_without_the_key(fake_index, caplog):
    caplog.set_level(logging.WARNING)
    with _client(fake_index, api_keys=[USER], auth_failures_per_minute=5) as client:
        statuses = [client.post("/v1/search", json={"query": "双随机"}, headers=_bearer(f"guess-{i}")).status_code
                    for i in range(20)]  # fmt: skip
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        throttled = client.post("/v1/search", json={"query": "双随机"}, headers=_bearer(USER))
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    failures = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(failures) == 5 and all("testclient" in line for line in failures)
    assert not any("guess-" in r.getMessage() for r in caplog.records)


def test_without_keys_bogus_tokens_share_their_address_bucket(fake_index):
    with _client(fake_index, rate_limit=5) as client:
        statuses = [client.post("/v1/search", json={"query": "双随机"}, headers=_bearer(f"token-{i}")).status_code
                    for i in range(20)]  # fmt: skip
        assert statuses.count(200) == 5 and len(client.app.state.rate_limiter) == 1


def test_the_rate_limiter_keeps_a_bounded_number_of_clients():
    limiter = RateLimiter(5, max_clients=100)
    for i in range(30_000):
        limiter.acquire(f"ip:{i}")
    assert len(limiter) == 100


def test_a_chunked_upload_is_authorised_before_its_body_is_read_and_bounded_after(fake_index):
    pulled: list[int] = []

    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
        for i in range(400):
            pulled.append(i)
            yield "东平县营商环境评估通知。".encode() * 4000  # 144 KB a piece, 57 MB in all
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    with _client(fake_index, admin_api_keys=[ADMIN], max_upload_bytes=1 << 20) as client:
        refused = client.post("/v1/documents", content=body(), headers={**headers, **_bearer("wrong")})
        assert_error(refused, 401, "unauthorized")
        assert len(pulled) < 5, "the body was read before the key was checked"
        too_large = client.post("/v1/documents", content=body(), headers={**headers, **_bearer(ADMIN)})
        assert_error(too_large, 413, "payload_too_large")
