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
* the metadata names the GitHub repository of the request (``request.meta["prseed_repository"]``)
  as ``"repository"``, which ``scrapy cacheinfo`` reports and deletes by;
* a request with ``request.meta["prseed_refresh_cache"]`` set is a miss, so it is fetched again
  and its new answer replaces the entry.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from time import time
from typing import TYPE_CHECKING

from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Headers
from scrapy.utils.python import to_bytes
from w3lib.http import headers_dict_to_raw

if TYPE_CHECKING:
    from scrapy.http import Request, Response
    from scrapy.spiders import Spider

#: Request headers never written to the cache, whatever their value.
SECRET_HEADERS = frozenset({b"authorization", b"proxy-authorization", b"cookie"})
#: Values that are credentials, whichever header carries them (compared lower-cased).
SECRET_PREFIXES = (b"bearer ", b"token ", b"basic ")

REPOSITORY_META = "prseed_repository"
REFRESH_META = "prseed_refresh_cache"


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
        if request.meta.get(REFRESH_META):
            return None  # a miss: fetched again, and store_response overwrites the entry
        return super().retrieve_response(spider, request)

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
            "repository": request.meta.get(REPOSITORY_META),
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
