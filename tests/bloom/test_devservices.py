"""Service resolution order: environment, then local servers, then embedded ones."""

import socket

import pytest

from bloom import devservices


@pytest.fixture
def no_dotenv(monkeypatch):
    monkeypatch.setattr(devservices, "_read_dotenv", lambda: {})
    monkeypatch.setattr(devservices, "_ensure_database", lambda url: None)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("BLOOM_EMBEDDED_SERVICES", raising=False)


def test_environment_urls_win(no_dotenv, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example:5432/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/3")
    env = devservices.Services(db_name="bloom").resolve()
    assert env == {"DATABASE_URL": "postgres://u@db.example:5432/x", "REDIS_URL": "redis://cache.example:6379/3"}


def test_dotenv_is_read_when_environment_is_empty(no_dotenv, monkeypatch):
    monkeypatch.setattr(
        devservices, "_read_dotenv", lambda: {"DATABASE_URL": "postgres://a@h/db", "REDIS_URL": "redis://h:1/0"}
    )
    env = devservices.Services(db_name="bloom").resolve()
    assert env["DATABASE_URL"] == "postgres://a@h/db"
    assert env["REDIS_URL"] == "redis://h:1/0"


def test_local_servers_are_used_when_they_answer(no_dotenv, monkeypatch):
    monkeypatch.setattr(devservices, "_answers", lambda host, port, timeout=0.5: True)
    env = devservices.Services(db_name="bloomtest").resolve()
    assert env == {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/bloomtest",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }


def test_embedded_servers_start_when_nothing_answers(no_dotenv, monkeypatch):
    monkeypatch.setattr(devservices, "_answers", lambda host, port, timeout=0.5: port not in (5432, 6379))
    started = []
    monkeypatch.setattr(devservices.Services, "_start_postgres", lambda self: started.append("pg") or "postgres://e")
    monkeypatch.setattr(devservices.Services, "_start_redis", lambda self: started.append("redis") or "redis://e")
    env = devservices.Services(db_name="bloom").resolve()
    assert started == ["pg", "redis"]
    assert env == {"DATABASE_URL": "postgres://e", "REDIS_URL": "redis://e"}


def test_embedded_redis_really_starts_and_stops():
    services = devservices.Services(db_name="unused")
    url = services._start_redis()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(16).startswith(b"+PONG")
    services.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)
