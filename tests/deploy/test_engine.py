"""flows/engine.py: without a Prefect API the stages' tasks run in this process, with Prefect's cache keys, result
store and expiration, and no temporary server is started; inside a flow run they are Prefect task runs as before."""

from __future__ import annotations

from datetime import timedelta

import pytest

CALLS: list[int] = []


def _key(_, params: dict) -> str:
    return f"engine-test-{params['x']}"


def _tasks():
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    @task(name="engine-square", cache_key_fn=_key, cache_expiration=timedelta(days=1), persist_result=True)
    def square(x: int, offset: int = 0) -> int:
        CALLS.append(x)
        return x * x + offset

    @task(name="engine-plain", cache_policy=NO_CACHE)
    def plain(x: int) -> int:
        CALLS.append(x)
        return -x

    return square, plain


@pytest.fixture()
def storage(tmp_path):
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    CALLS.clear()
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(tmp_path / "storage")}):
        yield tmp_path / "storage"


def _servers() -> int:
    from prefect.server.api.server import SubprocessASGIServer

    return len(SubprocessASGIServer._instances)


def test_local_call_caches_under_the_tasks_own_key_and_starts_no_server(storage, monkeypatch):
    from flows import engine

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    square, plain = _tasks()
    servers = _servers()
    assert engine.call(square, 3) == 9 and engine.call(square, 3) == 9
    assert CALLS == [3]  # the second call read the record
    assert (storage / "engine-test-3").is_file()  # where Prefect's task engine keeps it: shared with server runs
    assert engine.call(plain, 2) == -2 and engine.call(plain, 2) == -2 and CALLS == [3, 2, 2]  # NO_CACHE: never cached
    assert _servers() == servers, "a local call started Prefect's temporary server"


def test_refresh_cache_recomputes(storage, monkeypatch):
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from flows import engine

    square, _ = _tasks()
    engine.call(square, 4)
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        engine.call(square, 4)
    assert CALLS == [4, 4]


def test_expired_record_is_recomputed(storage):
    from flows import engine

    square, _ = _tasks()
    expired = square.with_options(cache_expiration=timedelta(seconds=-1))
    engine.call(expired, 5)
    engine.call(expired, 5)
    assert CALLS == [5, 5]


def test_local_map_keeps_order_bounds_threads_and_reports_completion(storage):
    from flows import engine

    square, _ = _tasks()
    futures = engine.map(square, [1, 2, 3, 4], threads=2, offset=1)
    assert [f.result() for f in futures] == [2, 5, 10, 17]
    assert sorted(f.result() for f in engine.as_completed(futures)) == [2, 5, 10, 17]
    assert engine.map(square, []) == []


def test_server_configured_follows_the_api_url(monkeypatch):
    from flows import engine

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("SOVEREIGN_PREFECT_SERVER", raising=False)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert not engine.server_configured()
    monkeypatch.setenv("SOVEREIGN_PREFECT_SERVER", "1")
    assert engine.server_configured()
    monkeypatch.delenv("SOVEREIGN_PREFECT_SERVER")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert engine.server_configured()


@pytest.mark.integration
def test_a_record_written_locally_is_a_cache_hit_inside_a_flow_run(storage, prefect_harness):
    from prefect import flow

    from flows import engine

    square, _ = _tasks()
    engine.call(square, 6)

    @flow
    def inside() -> tuple[int, list[str]]:
        value = engine.call(square, 6)
        futures = engine.map(square, [6, 7])
        states = [f.result() and f.state.name for f in futures]
        return value, states

    value, states = inside()
    assert value == 36 and CALLS == [6, 7]  # 6 came from the local record, 7 was computed by Prefect
    assert states[0] == "Cached"
    assert engine.in_flow_run() is False
