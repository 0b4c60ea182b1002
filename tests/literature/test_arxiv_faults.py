"""The live arXiv path against local sockets: a recorded feed, a refused port, and a hung server."""

import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from flows.config import load_settings
from tasks.records import Query
from tasks.retrieval.arxiv_live import ArxivUnavailable, search_live

FEED = (Path(__file__).parents[1] / "fixtures" / "arxiv_feed.xml").read_bytes()
QUERY = Query(text="expert explosion", origin="test")


@contextmanager
def replay_server(outage: threading.Event | None = None, hits: list | None = None):
    """Serves the recorded feed; while ``outage`` is set it answers 503, as arXiv does when overloaded.
    Each request's path is appended to ``hits``."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if hits is not None:
                hits.append(self.path)
            if outage is not None and outage.is_set():
                self.send_response(503)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.end_headers()
            self.wfile.write(FEED)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/query?{{}}"
    finally:
        server.shutdown()


@contextmanager
def hung_server():
    """Accepts connections and never answers: the arxiv client alone would wait forever."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/query?{{}}"
    finally:
        stop.set()
        thread.join(1)
        for conn in held:
            conn.close()
        sock.close()


def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/api/query?{{}}"


def test_recorded_feed_is_parsed_relevance_ordered():
    with replay_server() as url:
        papers = search_live(QUERY, 10, timeout_s=2, retries=0, backoff_s=0, url_format=url)
    assert [p.arxiv_id for p in papers] == ["2602.00879", "2605.30876"]
    assert papers[0].version == 2 and papers[0].source == "arxiv"
    assert papers[0].search_score > papers[1].search_score


def test_connection_refused_gives_up_fast():
    started = time.perf_counter()
    with pytest.raises(ArxivUnavailable, match="ConnectionError"):
        search_live(QUERY, 10, timeout_s=1, retries=2, backoff_s=0.05, url_format=refused_url())
    assert time.perf_counter() - started < 2


def test_hung_socket_times_out_within_the_configured_bound():
    with hung_server() as url:
        started = time.perf_counter()
        with pytest.raises(ArxivUnavailable, match="Timeout"):
            search_live(QUERY, 10, timeout_s=0.5, retries=1, backoff_s=0.05, url_format=url)
        elapsed = time.perf_counter() - started
    assert elapsed < 0.5 * 2 + 0.05 + 1.0  # two attempts of 0.5 s, one back-off, slack


@pytest.mark.parametrize("endpoint", ["refused", "hung"])
def test_a_dead_endpoint_falls_back_to_the_snapshot_fast(endpoint, tmp_path):
    from flows.literature import search_arxiv, search_snapshot_answers

    settings, _ = load_settings(["retrieval.timeout_s=0.5", "retrieval.retries=1", "retrieval.backoff_s=0.05"])
    query = Query(text="expert explosion mixture-of-experts diffusion", origin="t")
    context = hung_server() if endpoint == "hung" else None
    url = context.__enter__() if context else refused_url()
    try:
        retrieval = settings.retrieval.model_copy(update={"api_url": url})
        started = time.perf_counter()
        error = search_arxiv.fn(query, retrieval, str(tmp_path))
        elapsed = time.perf_counter() - started
    finally:
        if context:
            context.__exit__(None, None, None)
    assert isinstance(error, str) and ("Timeout" in error or "Connection" in error)
    assert elapsed < 3
    fallback = search_snapshot_answers([query], retrieval, str(tmp_path))[query.text]
    assert fallback.source == "snapshot" and fallback.papers[0].arxiv_id == "2602.00879"


def test_after_an_outage_the_next_search_asks_arxiv_again(tmp_path):
    """A failed live search is never cached; a live answer is then reused within its TTL."""
    from flows.literature import search_arxiv

    settings, _ = load_settings(["retrieval.timeout_s=0.5", "retrieval.retries=0", "retrieval.backoff_s=0"])
    query = Query(text="expert explosion mixture-of-experts diffusion", origin="t")
    outage = threading.Event()
    with replay_server(outage) as url:
        retrieval = settings.retrieval.model_copy(update={"api_url": url})
        outage.set()
        during = search_arxiv.fn(query, retrieval, str(tmp_path))
        outage.clear()
        after = search_arxiv.fn(query, retrieval, str(tmp_path))
        outage.set()
        cached = search_arxiv.fn(query, retrieval, str(tmp_path))
    assert isinstance(during, str) and "503" in during
    assert after.source == "arxiv" and after.error is None
    assert [p.arxiv_id for p in after.papers] == ["2602.00879", "2605.30876"]
    assert cached.source == "arxiv" and cached.papers == after.papers  # served from the live-answer cache


def test_an_unreachable_endpoint_opens_the_breaker_until_the_cooldown_or_a_live_answer(tmp_path):
    """Refused or hung: the next search goes straight to the snapshot for ``cooldown_s``; 0 disables; a live answer clears."""
    from flows.literature import search_arxiv
    from tasks.retrieval import arxiv_breaker

    settings, _ = load_settings(["retrieval.timeout_s=0.5", "retrieval.retries=1", "retrieval.backoff_s=0.05"])
    query = Query(text="expert explosion mixture-of-experts diffusion", origin="t")
    with hung_server() as url:
        retrieval = settings.retrieval.model_copy(update={"api_url": url})
        first = search_arxiv.fn(query, retrieval, str(tmp_path))
        state = arxiv_breaker.read_state(tmp_path, url)
        started = time.perf_counter()
        skipped = search_arxiv.fn(query, retrieval, str(tmp_path))
        skipped_s = time.perf_counter() - started
        started = time.perf_counter()
        asked = search_arxiv.fn(query, retrieval.model_copy(update={"cooldown_s": 0}), str(tmp_path))
        asked_s = time.perf_counter() - started
    assert "Timeout" in first and state is not None and state.is_open()
    assert state.until - state.failed_at == pytest.approx(retrieval.cooldown_s)
    assert skipped.startswith("circuit open") and skipped_s < 0.2  # no request, no back-off
    assert "Timeout" in asked and asked_s >= 0.5  # cooldown_s=0: asked arXiv again
    line = state.describe()
    assert line.startswith("arXiv unreachable at ") and "using the snapshot" in line and "retrieval.cooldown_s=0" in line

    refused = settings.retrieval.model_copy(update={"api_url": refused_url()})
    assert "Connection" in search_arxiv.fn(query, refused, str(tmp_path))
    assert arxiv_breaker.read_state(tmp_path, refused.api_url) is not None  # refused trips it too

    hits: list[str] = []
    with replay_server(hits=hits) as url:
        retrieval = settings.retrieval.model_copy(update={"api_url": url})
        arxiv_breaker.trip(tmp_path, url, "ConnectionError: refused", retrieval.cooldown_s)
        assert search_arxiv.fn(query, retrieval, str(tmp_path)).startswith("circuit open") and hits == []
        arxiv_breaker.trip(tmp_path, url, "ConnectionError: refused", retrieval.cooldown_s, now=time.time() - retrieval.cooldown_s - 1)
        live = search_arxiv.fn(query, retrieval, str(tmp_path))  # cooldown over: asked, answered, breaker cleared
    assert live.source == "arxiv" and len(hits) == 1
    assert arxiv_breaker.read_state(tmp_path, url) is None


def test_an_endpoint_that_answers_with_an_error_does_not_open_the_breaker(tmp_path):
    from flows.literature import search_arxiv
    from tasks.retrieval import arxiv_breaker

    settings, _ = load_settings(["retrieval.timeout_s=0.5", "retrieval.retries=0", "retrieval.backoff_s=0"])
    outage = threading.Event()
    outage.set()
    with replay_server(outage) as url:
        retrieval = settings.retrieval.model_copy(update={"api_url": url})
        assert "503" in search_arxiv.fn(Query(text="expert explosion", origin="t"), retrieval, str(tmp_path))
    assert arxiv_breaker.read_state(tmp_path, url) is None


def test_snapshot_is_scanned_once_for_all_queries_and_cached_per_snapshot_file(tmp_path, monkeypatch):
    import flows.literature as literature
    from tasks.settings import project_path

    settings, _ = load_settings(["retrieval=snapshot"])
    snapshot = tmp_path / "snap.jsonl"
    snapshot.write_bytes(project_path(settings.retrieval.snapshot_path).read_bytes())
    retrieval = settings.retrieval.model_copy(update={"snapshot_path": str(snapshot)})
    queries = [Query(text=t, origin="t") for t in ("expert explosion diffusion", "Llama-2-70B decoding", "MoE kernels")]
    scans = []
    real = literature.search_snapshot
    monkeypatch.setattr(literature, "search_snapshot", lambda *a, **kw: scans.append(a[1]) or real(*a, **kw))
    cache = str(tmp_path / "cache")
    first = literature.search_snapshot_answers(queries, retrieval, cache)
    assert len(scans) == 1 and len(scans[0]) == 3  # one two-pass scan for the three queries
    assert all(first[q.text].source == "snapshot" and first[q.text].papers for q in queries)
    again = literature.search_snapshot_answers(queries, retrieval, cache)
    assert len(scans) == 1 and [again[q.text].papers for q in queries] == [first[q.text].papers for q in queries]
    snapshot.write_text(snapshot.read_text().splitlines()[0] + "\n")  # the snapshot changes: searched again
    literature.search_snapshot_answers(queries[:1], retrieval, cache)
    assert len(scans) == 2
