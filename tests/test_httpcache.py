"""prseed's HTTP cache: no token on disk, entries labelled by repository, refresh, ``scrapy cacheinfo``."""

from __future__ import annotations

import ast
import gzip
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from scrapy import Spider
from scrapy.http import JsonRequest, TextResponse
from scrapy.utils.misc import load_object
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from prseed.extensions.httpcache import TokenFreeFilesystemCacheStorage, scrubbed_headers
from prseed.middlewares.graphql import GraphQLResponse
from tests.conftest import ROOT

ENDPOINT = "https://api.github.com/graphql"
SECRET = b"secret-token-123"
DAY = 86400


def make_storage(cache_dir: Path, gzip_files: bool = False) -> tuple[TokenFreeFilesystemCacheStorage, Spider]:
    """A storage opened for a ``prs`` spider, as Scrapy's own tests build one."""
    crawler = get_crawler(
        Spider,
        {
            "HTTPCACHE_DIR": str(cache_dir),
            "HTTPCACHE_EXPIRATION_SECS": 0,
            "HTTPCACHE_GZIP": gzip_files,
        },
    )
    spider = Spider.from_crawler(crawler, name="prs")
    storage = TokenFreeFilesystemCacheStorage(crawler.settings)
    storage.open_spider(spider)
    return storage, spider


def api_request(repository: str | None, cursor: int = 0, **meta) -> JsonRequest:
    if repository is not None:
        meta["prseed_repository"] = repository
    owner, _, name = (repository or "unknown/unknown").partition("/")
    return JsonRequest(
        ENDPOINT,
        data={"query": "query Page { __typename }", "variables": {"owner": owner, "name": name, "n": cursor}},
        meta={"prseed_operation": "PullRequestPage", **meta},
    )


def api_response(request: JsonRequest, payload: dict | None = None) -> TextResponse:
    body = json.dumps(payload or {"data": {"page": request.meta.get("prseed_repository")}})
    return TextResponse(
        request.url,
        status=200,
        headers={"Content-Type": "application/json", "X-RateLimit-Remaining": "4990"},
        body=body.encode(),
        request=request,
    )


def store(storage, spider, request: JsonRequest, payload: dict | None = None) -> None:
    storage.store_response(spider, request, api_response(request, payload))


def entry_dir(storage, spider, request) -> Path:
    return Path(storage._get_request_path(spider, request))


def file_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw.startswith(b"\x1f\x8b") else raw


def every_file(root: Path) -> dict[Path, bytes]:
    return {path: file_bytes(path) for path in root.rglob("*") if path.is_file()}


# --- the storage -------------------------------------------------------------------------


def test_it_is_the_projects_cache_storage():
    settings = get_project_settings()
    assert load_object(settings["HTTPCACHE_STORAGE"]) is TokenFreeFilesystemCacheStorage
    assert settings["HTTPCACHE_DIR"] == "httpcache"
    assert settings.getint("HTTPCACHE_EXPIRATION_SECS") == 0
    assert {401, 403, 429, 500, 502, 503, 504} <= set(settings.getlist("HTTPCACHE_IGNORE_HTTP_CODES"))


@pytest.mark.parametrize("gzip_files", [False, True], ids=["plain", "gzip"])
def test_no_token_or_cookie_is_ever_written(tmp_path, gzip_files):
    storage, spider = make_storage(tmp_path, gzip_files)
    request = api_request("acme/widgets")
    request.headers["Authorization"] = b"bearer " + SECRET
    request.headers["Proxy-Authorization"] = b"Basic " + SECRET
    request.headers["Cookie"] = b"session=" + SECRET
    request.headers["X-Upstream-Auth"] = b"Token " + SECRET
    request.headers["X-Trace"] = b"keep-me"
    store(storage, spider, request)

    files = every_file(tmp_path)
    assert {path.name for path in files} >= {"meta", "pickled_meta", "request_headers", "request_body"}
    leaks = [path for path, content in files.items() if SECRET in content or b"bearer" in content.lower()]
    assert leaks == []
    headers = files[entry_dir(storage, spider, request) / "request_headers"]
    assert b"X-Trace: keep-me" in headers and b"Content-Type: application/json" in headers
    for name in (b"Authorization", b"Proxy-Authorization", b"Cookie", b"X-Upstream-Auth"):
        assert name not in headers
    # The request itself is left as it was (the token middleware owns its header).
    assert request.headers["Authorization"] == b"bearer " + SECRET
    # And the entry still replays.
    assert storage.retrieve_response(spider, api_request("acme/widgets")).json() == {
        "data": {"page": "acme/widgets"}
    }


def test_scrubbed_headers_matches_credentials_whatever_the_case():
    headers = JsonRequest(
        ENDPOINT,
        data={},
        headers={"authorization": "x", "X-A": "  BEARER abc", "X-B": ["fine", "token abc"], "X-C": "tokens"},
    ).headers
    assert sorted(scrubbed_headers(headers)) == [b"Accept", b"Content-Type", b"X-C"]


def test_the_repository_is_recorded_in_the_entrys_metadata(tmp_path):
    storage, spider = make_storage(tmp_path)
    labelled, unlabelled = api_request("acme/widgets"), api_request(None)
    store(storage, spider, labelled)
    store(storage, spider, unlabelled)

    path = entry_dir(storage, spider, labelled)
    meta = ast.literal_eval((path / "meta").read_text())
    with (path / "pickled_meta").open("rb") as f:
        pickled = pickle.load(f)
    assert meta["repository"] == pickled["repository"] == "acme/widgets"
    assert meta["url"] == ENDPOINT and meta["method"] == "POST" and meta["status"] == 200
    assert (
        ast.literal_eval((entry_dir(storage, spider, unlabelled) / "meta").read_text())["repository"] is None
    )
    assert path.parent.parent == tmp_path / "prs"  # Scrapy's layout: <dir>/<spider>/<fp[:2]>/<fp>


def test_refresh_is_a_miss_and_the_new_answer_replaces_the_entry(tmp_path):
    storage, spider = make_storage(tmp_path)
    store(storage, spider, api_request("acme/widgets"), {"data": "old"})
    assert storage.retrieve_response(spider, api_request("acme/widgets")).json() == {"data": "old"}

    refresh = api_request("acme/widgets", prseed_refresh_cache=True)
    assert storage.retrieve_response(spider, refresh) is None
    store(storage, spider, refresh, {"data": "new"})
    assert storage.retrieve_response(spider, api_request("acme/widgets")).json() == {"data": "new"}
    assert len(list((tmp_path / "prs").glob("*/*/pickled_meta"))) == 1


def test_a_cached_answer_decodes_once_with_orjson(tmp_path, monkeypatch):
    storage, spider = make_storage(tmp_path)
    store(storage, spider, api_request("acme/widgets"), {"data": {"n": [1, 2.5, None, "é"]}})
    response = storage.retrieve_response(spider, api_request("acme/widgets"))
    assert isinstance(response, GraphQLResponse) and response.status == 200
    assert response.headers["X-RateLimit-Remaining"] == b"4990"

    decoded = []
    monkeypatch.setattr(orjson, "loads", lambda body: decoded.append(body) or json.loads(body))
    first = response.json()
    assert first == {"data": {"n": [1, 2.5, None, "é"]}}
    assert response.json() is first and decoded == [response.body]  # decoded once, by orjson


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"x": NaN}}',  # Python's json only
        '{"data": {"x": "ü"}}'.encode("utf-16"),  # not UTF-8: decoded with the response's encoding
        b'{"data": {"x": "\\ud800"}}',  # a lone surrogate
    ],
    ids=["nan", "utf-16", "lone-surrogate"],
)
def test_a_body_orjson_refuses_decodes_as_scrapy_decodes_it(body):
    scrapy_response = TextResponse(ENDPOINT, body=body, headers={"Content-Type": "application/json"})
    response = scrapy_response.replace(cls=GraphQLResponse)
    assert response.json() == scrapy_response.json()


def test_a_body_that_is_not_json_still_raises_a_value_error():
    response = GraphQLResponse(ENDPOINT, body=b"<html>Whoa there!</html>")
    with pytest.raises(ValueError):
        response.json()


# --- scrapy cacheinfo ----------------------------------------------------------------------


def cacheinfo(cache_dir: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "cacheinfo", "-s", f"HTTPCACHE_DIR={cache_dir}", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def age(cache_dir: Path, repository: str, days: float) -> None:
    """Make a repository's entries look ``days`` older, in both metadata files."""
    for pickled_meta in (cache_dir / "prs").glob("*/*/pickled_meta"):
        with pickled_meta.open("rb") as f:
            metadata = pickle.load(f)
        if metadata["repository"] != repository:
            continue
        metadata["timestamp"] -= days * DAY
        with pickled_meta.open("wb") as f:
            pickle.dump(metadata, f, protocol=4)
        (pickled_meta.parent / "meta").write_text(repr(metadata))


@pytest.fixture
def filled_cache(tmp_path) -> Path:
    """3 pages of acme/widgets (10 days old), 2 of octo/cat, 1 without a repository."""
    cache_dir = tmp_path / "cache"
    storage, spider = make_storage(cache_dir)
    for repository, pages in (("acme/widgets", 3), ("octo/cat", 2), (None, 1)):
        for cursor in range(pages):
            request = api_request(repository, cursor)
            request.headers["Authorization"] = b"bearer " + SECRET
            store(storage, spider, request)
    age(cache_dir, "acme/widgets", days=10)
    return cache_dir


def table(stdout: str) -> dict[str, list[str]]:
    """The table's rows by repository (the first line names the directory, then the header)."""
    lines = stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("repository"))
    rows = {}
    for line in lines[header + 1 :]:
        if line.startswith("warning:"):
            break
        cells = line.split("  ")
        rows[cells[0].strip()] = [cell.strip() for cell in cells if cell.strip()]
    return rows


def test_cacheinfo_shows_a_table_per_repository_and_warns_of_stale_ones(filled_cache):
    result = cacheinfo(filled_cache)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"HTTP cache of spider prs: {filled_cache / 'prs'}"
    assert lines[1].split() == ["repository", "pages", "size", "oldest", "(UTC)", "newest", "(UTC)"]
    rows = table(result.stdout)
    assert list(rows) == ["acme/widgets", "octo/cat", "(unknown)", "total"]
    assert [rows[name][1] for name in rows] == ["3", "2", "1", "6"]

    today = time.strftime("%Y-%m-%d", time.gmtime())
    ten_days_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 10 * DAY))
    assert rows["acme/widgets"][3].startswith(ten_days_ago)
    assert rows["octo/cat"][3].startswith(today) and rows["octo/cat"][4].startswith(today)

    # Aligned: the counts end under the end of "pages"; every row is as wide.
    pages_end = lines[1].index("pages") + len("pages")
    for line in lines[2:6]:
        assert line[pages_end - 1].isdigit() and line[pages_end] == " ", line

    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [
        "warning: acme/widgets: stale: entries older than 7 days; re-fetch with -a refresh=1 "
        "or `scrapy cacheinfo --delete acme/widgets`"
    ]
    assert SECRET.decode() not in result.stdout


def test_cacheinfo_json_has_the_same_data(filled_cache):
    result = cacheinfo(filled_cache, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["cache_dir"] == str(filled_cache / "prs")
    assert document["stale_after_days"] == 7
    by_name = {entry["repository"]: entry for entry in document["repositories"]}
    assert list(by_name) == ["acme/widgets", "octo/cat", "(unknown)"]
    assert {name: entry["pages"] for name, entry in by_name.items()} == {
        "acme/widgets": 3,
        "octo/cat": 2,
        "(unknown)": 1,
    }
    assert {name: entry["stale"] for name, entry in by_name.items()} == {
        "acme/widgets": True,
        "octo/cat": False,
        "(unknown)": False,
    }
    for name, entry in by_name.items():
        entries = [
            meta.parent
            for meta in (filled_cache / "prs").glob("*/*/meta")
            if (ast.literal_eval(meta.read_text())["repository"] or "(unknown)") == name
        ]
        assert entry["bytes"] == sum(
            path.stat().st_size for entry_path in entries for path in entry_path.iterdir()
        )
        assert entry["oldest"].endswith("Z") and entry["oldest"] <= entry["newest"]


def test_cacheinfo_delete_removes_one_repositorys_entries(filled_cache):
    result = cacheinfo(filled_cache, "--delete", "https://github.com/ACME/Widgets")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"deleted 3 cached pages of ACME/Widgets from {filled_cache / 'prs'}\n"

    storage, spider = make_storage(filled_cache)
    assert storage.retrieve_response(spider, api_request("acme/widgets", 0)) is None
    assert storage.retrieve_response(spider, api_request("octo/cat", 1)) is not None
    assert list(table(cacheinfo(filled_cache).stdout)) == ["octo/cat", "(unknown)", "total"]

    again = cacheinfo(filled_cache, "--delete", "acme/widgets", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "cache_dir": str(filled_cache / "prs"),
        "repository": "acme/widgets",
        "deleted": 0,
    }


@pytest.mark.parametrize("value", ["acme", "acme/widgets/extra", "-acme/widgets", "", "../../etc"])
def test_cacheinfo_delete_of_a_bad_value_is_one_line_and_exit_2(filled_cache, value):
    result = cacheinfo(filled_cache, f"--delete={value}")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("prseed: error: --delete")
    assert len(list((filled_cache / "prs").glob("*/*/pickled_meta"))) == 6


def test_cacheinfo_of_a_missing_or_empty_cache_says_so(tmp_path):
    missing = tmp_path / "nothing"
    result = cacheinfo(missing)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"no HTTP cache at {missing / 'prs'}: run a crawl with -s HTTPCACHE_ENABLED=1 first\n"
    )
    (missing / "prs" / "ab").mkdir(parents=True)
    assert cacheinfo(missing).stdout == result.stdout
    assert json.loads(cacheinfo(missing, "--json").stdout)["repositories"] == []
