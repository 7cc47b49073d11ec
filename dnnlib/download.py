"""URLs and downloads: ``open_url`` opens a local path, a file:// URL or an http(s) URL (downloaded once into a
cache, with retries), checking an optional sha256; ``requests`` is imported only when something is downloaded.

Re-exported by ``dnnlib.util`` (``util.open_url`` is where StyleGAN2-era code looks for it).
"""

import hashlib
import io
import os
import re
import sys
import time

from urllib.parse import urlparse, unquote
from urllib.request import url2pathname

from dnnlib.util import atomic_write


class DownloadError(IOError):
    """A URL could not be fetched (after all retries, or with a permanent HTTP error)."""


class ChecksumError(IOError):
    """Downloaded / cached / local data does not match the expected sha256 digest."""


def is_url(obj, allow_file_urls=True):
    """True for 'http://host/...', 'https://host/...' and (by default) 'file://...' strings."""
    if not isinstance(obj, str) or "://" not in obj:
        return False
    try:
        parsed = urlparse(obj)
    except ValueError:
        return False
    if parsed.scheme in ("http", "https"):
        return bool(parsed.netloc)
    if parsed.scheme == "file":
        return bool(allow_file_urls)
    return False


def get_default_cache_dir():
    """``$VPDIS_CACHE_DIR`` if set, else ``~/.cache/vpdis/downloads``."""
    env = os.environ.get("VPDIS_CACHE_DIR")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "vpdis", "downloads")


def url_cache_file_name(url):
    """Cache file name used by open_url: md5(url) + '_' + sanitised basename of the URL path."""
    url_md5 = hashlib.md5(url.encode("utf-8")).hexdigest()
    base = os.path.basename(unquote(urlparse(url).path))
    base = re.sub(r"[^0-9A-Za-z._-]", "_", base)[:100].strip(".")
    return url_md5 + "_" + (base or "download")


def _normalise_sha256(sha256):
    if sha256 is None:
        return None
    digest = str(sha256).strip().lower()
    if not re.match(r"^[0-9a-f]{64}$", digest):
        raise ValueError("sha256 must be a 64-character hex string, got %r" % (sha256,))
    return digest


def sha256_of_file(path):
    """Hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    with open(path, "rb") as f:
        return _file_sha256(f)


def _file_sha256(f):
    h = hashlib.sha256()
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
    return h.hexdigest()


def _checksum_error(what, url, expected, actual):
    return ChecksumError("sha256 mismatch for %s %s: expected %s, got %s" % (what, url, expected, actual))


def _open_local(path, url, sha256):
    f = open(path, "rb")
    if sha256 is not None:
        try:
            actual = _file_sha256(f)
        except BaseException:
            f.close()
            raise
        if actual != sha256:
            f.close()
            raise _checksum_error("local file", url, sha256, actual)
        f.seek(0)
    return f


def _file_url_to_path(url):
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise DownloadError("Cannot open %s: file:// URLs must name a local path (host %r given)"
                            % (url, parsed.netloc))
    return url2pathname(parsed.path)


def _download(url, num_attempts, timeout, retry_delay, verbose):
    import requests  # imported here so that the rest of dnnlib works without it

    last_err = None
    for attempt in range(num_attempts):
        if verbose:
            sys.stdout.write("Downloading %s ..." % url)
            sys.stdout.flush()
        try:
            with requests.Session() as session:
                with session.get(url, timeout=timeout, stream=True) as res:
                    if res.status_code >= 400:
                        msg = "HTTP %d %s" % (res.status_code, res.reason)
                        if res.status_code < 500 and res.status_code not in (408, 429):
                            raise DownloadError("Cannot download %s: %s" % (url, msg))
                        raise requests.HTTPError(msg, response=res)
                    buf = io.BytesIO()
                    for chunk in res.iter_content(chunk_size=1 << 20):
                        buf.write(chunk)
                    data = buf.getvalue()
                    expected_len = res.headers.get("Content-Length")
                    if expected_len is not None and "Content-Encoding" not in res.headers \
                            and expected_len.isdigit() and int(expected_len) != len(data):
                        raise requests.ConnectionError("incomplete download: got %d of %s bytes"
                                                       % (len(data), expected_len))
            if verbose:
                sys.stdout.write(" done (%d bytes)\n" % len(data))
                sys.stdout.flush()
            return data
        except DownloadError:
            if verbose:
                sys.stdout.write(" failed\n")
                sys.stdout.flush()
            raise
        except requests.RequestException as err:
            last_err = err
            if verbose:
                sys.stdout.write(" failed (attempt %d/%d): %s\n" % (attempt + 1, num_attempts, err))
                sys.stdout.flush()
            if attempt + 1 < num_attempts and retry_delay > 0:
                time.sleep(retry_delay * (2 ** attempt))
    err = DownloadError("Cannot download %s after %d attempt(s): %s" % (url, num_attempts, last_err))
    err.__cause__ = last_err
    raise err


def open_url(url, cache_dir=None, num_attempts=3, verbose=True, sha256=None, timeout=60,
             cache=True, retry_delay=0.5):
    """Open ``url`` and return a binary file-like object (an ``io.BytesIO`` or an open file; the
    caller closes it).

    ``url`` may be an http(s) URL, a ``file://`` URL or a plain local path. http(s) downloads are
    cached in ``cache_dir`` (default ``$VPDIS_CACHE_DIR``, else ``~/.cache/vpdis/downloads``) as
    ``md5(url) + '_' + basename``; a cache hit does not touch the network. ``cache=False`` always
    downloads and writes nothing.

    ``sha256`` (hex string) is checked against the downloaded bytes, a local file, and a cached
    file. A download that does not match raises ``ChecksumError`` (an IOError/OSError) naming the
    URL, expected and actual digest, and nothing is written to the cache. A cached file that does
    not match is ignored and downloaded again (a matching download replaces it).

    Connection errors, timeouts and HTTP 5xx/408/429 are retried up to ``num_attempts`` times,
    with exponential back-off starting at ``retry_delay`` seconds; then ``DownloadError`` (an
    IOError/OSError) is raised. Other HTTP errors (404, ...) fail at once.

    SECURITY: unpickling data loaded from a URL executes arbitrary code. Pass ``sha256`` for every
    pickle you did not produce yourself.
    """
    if not isinstance(url, str):
        url = os.fspath(url)
    if num_attempts < 1:
        raise ValueError("num_attempts must be >= 1")
    sha256 = _normalise_sha256(sha256)

    # Local files.
    if not is_url(url):
        if "://" in url:
            raise DownloadError("Cannot open %s: unsupported URL scheme" % url)
        return _open_local(url, url, sha256)
    if url.startswith("file://"):
        return _open_local(_file_url_to_path(url), url, sha256)

    # http(s): look in the cache first.
    cache_file = None
    if cache:
        if cache_dir is None:
            cache_dir = get_default_cache_dir()
        cache_file = os.path.join(cache_dir, url_cache_file_name(url))
        if os.path.isfile(cache_file):
            try:
                return _open_local(cache_file, url, sha256)
            except ChecksumError as err:
                if verbose:
                    print("Ignoring cached copy of %s: %s" % (url, err))

    data = _download(url, num_attempts=num_attempts, timeout=timeout, retry_delay=retry_delay,
                     verbose=verbose)
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise _checksum_error("download", url, sha256, actual)

    if cache_file is not None:
        os.makedirs(cache_dir, exist_ok=True)
        with atomic_write(cache_file, "wb") as f:
            f.write(data)
    return io.BytesIO(data)
