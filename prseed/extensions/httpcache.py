"""prseed's HTTP cache storage: Scrapy's filesystem layout, without secrets, labelled by repository.

Scrapy's :class:`~scrapy.extensions.httpcache.FilesystemCacheStorage` keeps one directory per
request, ``<HTTPCACHE_DIR>/<spider>/<fingerprint[:2]>/<fingerprint>/``, holding ``meta`` (a
``repr`` of a dict), ``pickled_meta`` (the same dict, pickled), ``response_headers``,
``response_body``, ``response_data``, ``request_headers`` and ``request_body``.
:class:`TokenFreeFilesystemCacheStorage` writes the same files, so entries stay readable by
Scrapy's own storage, with three differences:

* the request headers it writes never carry a credential (``Authorization``,
  ``Proxy-Authorization``, ``Cookie``, or any header whose value starts with ``bearer ``,
  ``token `` or ``basic ``), even if a request reaches it with one;
* the metadata names the GitHub repository of the request (``request.meta[meta.REPOSITORY]``)
  as ``"repository"``, which ``scrapy cacheinfo`` reports and deletes by;
* a request with ``request.meta[meta.REFRESH_CACHE]`` set is a miss, so it is fetched again
  and its new answer replaces the entry;
* a cached text answer comes back as a :class:`~prseed.middlewares.graphql.GraphQLResponse`,
  which decodes its JSON with orjson (an offline replay spends much of its time there).

It also reads the cache back (:func:`cache_entries`, for ``scrapy cacheinfo``) and says why an
offline replay found no answer for a request (:func:`missing_page_reason`): the URL is part of
an entry's key, so a cache filled from one ``GITHUB_GRAPHQL_URL`` answers no other.
"""

from __future__ import annotations

import ast
import gzip
import pickle
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from time import time
from typing import TYPE_CHECKING, Any

from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Headers, TextResponse
from scrapy.utils.project import data_path
from scrapy.utils.python import to_bytes
from w3lib.http import headers_dict_to_raw

from prseed import meta
from prseed.middlewares.graphql import GraphQLResponse

if TYPE_CHECKING:
    from scrapy.http import Request, Response
    from scrapy.spiders import Spider

#: Request headers never written to the cache, whatever their value.
SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie"})
#: Values that are credentials, whichever header carries them (compared lower-cased).
SECRET_PREFIXES = (b"bearer ", b"token ", b"basic ")

UNKNOWN = "(unknown)"  # the repository of entries stored without one (or by another storage)
GZIP_MAGIC = b"\x1f\x8b"  # HTTPCACHE_GZIP=True writes every file gzipped


def is_secret_value(value: bytes) -> bool:
    return value.lstrip().lower().startswith(SECRET_PREFIXES)


def scrubbed_headers(headers: Headers) -> Headers:
    """A copy of ``headers`` without any header that is, or carries, a credential."""
    return Headers(
        {
            name: values
            for name, values in headers.items()
            if name.lower() not in SECRET_HEADERS and not any(is_secret_value(value) for value in values)
        }
    )


class TokenFreeFilesystemCacheStorage(FilesystemCacheStorage):
    """``HTTPCACHE_STORAGE`` for prseed: see the module's docstring.

    The token middleware already takes ``Authorization`` off a request before the cache
    stores it; this storage does not rely on that.
    """

    def retrieve_response(self, spider: Spider, request: Request) -> Response | None:
        if request.meta.get(meta.REFRESH_CACHE):
            return None  # a miss: fetched again, and store_response overwrites the entry
        response = super().retrieve_response(spider, request)
        if isinstance(response, TextResponse) and not isinstance(response, GraphQLResponse):
            return response.replace(cls=GraphQLResponse)
        return response

    def store_response(self, spider: Spider, request: Request, response: Response) -> None:
        """Scrapy's ``store_response``, writing scrubbed request headers and the repository.

        ``pickled_meta`` is written last: Scrapy takes an entry to exist when it does, so an
        entry cut short (a full disk, a kill) is never read.
        """
        rpath = Path(self._get_request_path(spider, request))
        rpath.mkdir(parents=True, exist_ok=True)
        metadata = {
            "url": request.url,
            "method": request.method,
            "status": response.status,
            "response_url": response.url,
            "timestamp": time(),
            "repository": request.meta.get(meta.REPOSITORY),
        }
        with self._open(rpath / "meta", "wb") as f:
            f.write(to_bytes(repr(metadata)))
        with self._open(rpath / "response_headers", "wb") as f:
            f.write(headers_dict_to_raw(response.headers))
        with self._open(rpath / "response_body", "wb") as f:
            f.write(response.body)
        data = {
            key: value
            for key, value in response.to_dict().items()
            if key not in {"url", "status", "headers", "body"}
        }
        with self._open(rpath / "response_data", "wb") as f:
            pickle.dump(data, f, protocol=4)
        with self._open(rpath / "request_headers", "wb") as f:
            f.write(headers_dict_to_raw(scrubbed_headers(request.headers)))
        with self._open(rpath / "request_body", "wb") as f:
            f.write(request.body)
        with self._open(rpath / "pickled_meta", "wb") as f:
            pickle.dump(metadata, f, protocol=4)


@dataclass(frozen=True)
class Entry:
    """One cached answer: a directory ``<spider dir>/<fp[:2]>/<fp>/``."""

    path: Path
    repository: str
    url: str | None  # the URL the answer came from
    timestamp: float  # when it was stored (epoch seconds)
    size: int  # bytes of its files


def spider_cache_dir(settings, spider_name: str) -> Path:
    """Where Scrapy's filesystem storage keeps a spider's entries."""
    return Path(data_path(settings["HTTPCACHE_DIR"]), spider_name)


def read_metadata(path: Path) -> dict[str, Any]:
    """The ``meta`` file Scrapy's storage writes: the ``repr`` of a dict of literals, read
    with :func:`ast.literal_eval` (never unpickled); ``{}`` when it cannot be read."""
    try:
        raw = path.read_bytes()
        if raw.startswith(GZIP_MAGIC):
            raw = gzip.decompress(raw)
        metadata = ast.literal_eval(raw.decode("utf-8"))
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, RecursionError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def read_entry(path: Path) -> Entry | None:
    """The entry in ``path``, or None if it is not one (or vanished while being read)."""
    try:
        files = [child for child in path.iterdir() if child.is_file()]
        size = sum(child.stat().st_size for child in files)
        stored_at = (path / "pickled_meta").stat().st_mtime
    except OSError:
        return None
    metadata = read_metadata(path / "meta")
    repository = metadata.get("repository")
    url = metadata.get("url")
    timestamp = metadata.get("timestamp")
    return Entry(
        path=path,
        repository=repository if isinstance(repository, str) and repository else UNKNOWN,
        url=url if isinstance(url, str) else None,
        timestamp=float(timestamp) if isinstance(timestamp, int | float) else stored_at,
        size=size,
    )


def cache_entries(spider_dir: Path) -> list[Entry]:
    """Every entry under ``spider_dir``: Scrapy takes a directory with ``pickled_meta`` to be one."""
    if not spider_dir.is_dir():
        return []
    entries = (read_entry(meta.parent) for meta in spider_dir.glob("*/*/pickled_meta"))
    return [entry for entry in entries if entry is not None]


@cache
def cached_urls(spider_dir: Path) -> dict[str, frozenset[str]]:
    """Per repository (lower-cased), the URLs its entries came from.  Read once per process:
    it is asked only during an offline replay, which stores nothing."""
    urls: dict[str, set[str]] = {}
    for entry in cache_entries(spider_dir):
        if entry.url is not None:
            urls.setdefault(entry.repository.lower(), set()).add(entry.url)
    return {repository: frozenset(found) for repository, found in urls.items()}


def missing_page_reason(settings, spider_name: str, request: Request) -> str:
    """Why an offline replay found no answer for ``request``, and the fix: the cache holds
    that repository's answers from another URL, or the page was never cached."""
    repository = str(request.meta.get(meta.REPOSITORY)).lower()
    urls = cached_urls(spider_cache_dir(settings, spider_name)).get(repository, frozenset())
    if urls and request.url not in urls:
        return (
            f"not in the HTTP cache for {request.url}: the cache holds answers for "
            f"{' and '.join(sorted(urls))}; set GITHUB_GRAPHQL_URL to replay them"
        )
    return "not in the HTTP cache (crawl once online with -s HTTPCACHE_ENABLED=1 to fill it)"
