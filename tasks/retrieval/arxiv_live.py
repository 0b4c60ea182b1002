"""Live arXiv search through the ``arxiv`` package, with a real timeout and bounded retries.

The client has no timeout of its own: a server that accepts and never answers
would hang it forever. Every request here carries (connect, read) timeouts, and
retries back off exponentially within a total deadline.
"""

from __future__ import annotations

import logging
import re
import time

import arxiv
import requests

from tasks.records import Paper, Query

log = logging.getLogger(__name__)


class ArxivUnavailable(RuntimeError):
    """The live API could not answer in time; the caller falls back to the snapshot.

    ``unreachable`` is True when the endpoint could not be reached at all (connection refused, DNS, a timeout),
    False when it answered with an error (e.g. 503): only the first opens the circuit breaker.
    """

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means nothing answered: refused, DNS, a connect or read timeout, a socket error."""
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, requests.exceptions.RequestException)


class _TimeoutSession(requests.Session):
    def __init__(self, timeout_s: float):
        super().__init__()
        self._timeout = (min(timeout_s, 3.0), timeout_s)

    def request(self, *args, **kwargs):  # noqa: D401 - same contract as requests
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


def make_client(timeout_s: float, url_format: str, page_size: int) -> arxiv.Client:
    """An arxiv.Client whose every HTTP call is bounded by ``timeout_s`` and that never retries by itself."""
    client = arxiv.Client(page_size=page_size, delay_seconds=0.0, num_retries=0)
    client.query_url_format = url_format
    client._session = _TimeoutSession(timeout_s)  # the package offers no public hook for timeouts
    return client


_SHORT_ID = re.compile(r"^(.*?)(?:v(\d+))?$")


def _paper(result: arxiv.Result) -> Paper:
    short = result.get_short_id()
    base, version = _SHORT_ID.match(short).groups()  # old ids hold a 'v' too: solv-int/9901001v1
    return Paper(
        arxiv_id=base,
        version=int(version) if version else 1,
        title=" ".join(result.title.split()),
        abstract=" ".join(result.summary.split()),
        authors=[a.name for a in result.authors],
        categories=list(result.categories),
        published=result.published.date().isoformat() if result.published else None,
        updated=result.updated.date().isoformat() if result.updated else None,
        source="arxiv",
    )


def search_live(
    query: Query,
    max_results: int,
    timeout_s: float,
    retries: int,
    backoff_s: float,
    url_format: str = arxiv.Client.query_url_format,
) -> list[Paper]:
    """Search arXiv for ``query``, relevance-sorted; raise ArxivUnavailable after the last retry."""
    client = make_client(timeout_s, url_format, page_size=max_results)
    search = arxiv.Search(query=query.text, max_results=max_results, sort_by=arxiv.SortCriterion.Relevance)
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        try:
            results = list(client.results(search))
            n = max(len(results), 1)
            return [
                _paper(r).model_copy(update={"search_score": round(1.0 - i / n, 4), "matched_queries": [query.text]})
                for i, r in enumerate(results)
            ]
        except (requests.exceptions.RequestException, arxiv.ArxivError, OSError) as exc:
            last_error = exc
            if attempt < retries:
                delay = backoff_s * 2**attempt
                log.info("arXiv attempt %d/%d for %r failed (%s); retrying in %.2fs", attempt + 1, retries + 1, query.text, type(exc).__name__, delay)
                time.sleep(delay)
    raise ArxivUnavailable(f"{type(last_error).__name__}: {last_error}"[:300], unreachable=is_unreachable(last_error))
