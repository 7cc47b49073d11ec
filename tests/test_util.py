"""Tests for dnnlib.util (no TensorFlow needed). Network tests use a local server on 127.0.0.1."""

import hashlib
import io
import os
import re
import socket
import sys
import threading
import time

import pytest

from dnnlib import util

try:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
except ImportError:  # pragma: no cover
    from http.server import BaseHTTPRequestHandler, HTTPServer as ThreadingHTTPServer

from urllib.request import pathname2url


# ----------------------------------------------------------------------------------------------
# A tiny local HTTP server


class _Server(object):
    """Serves ``files`` (path -> bytes) on 127.0.0.1:<free port>; counts requests per path.
    ``fail_first[path] = n`` answers the first n requests for path with HTTP 503."""

    def __init__(self):
        self.files = {}
        self.fail_first = {}
        self.requests = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.requests.append(self.path)
                    n_fail = server.fail_first.get(self.path, 0)
                    if n_fail > 0:
                        server.fail_first[self.path] = n_fail - 1
                if n_fail > 0:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()
        self.running = True

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def count(self, path):
        with self._lock:
            return self.requests.count(path)

    def stop(self):
        if self.running:
            self.running = False
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    """Make sure requests talks to 127.0.0.1 directly even if the environment sets a proxy."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server():
    srv = _Server()
    yield srv
    srv.stop()


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _read(f):
    try:
        return f.read()
    finally:
        f.close()


# ----------------------------------------------------------------------------------------------
# EasyDict, format_time, tuple_product, is_url


def test_easydict():
    d = util.EasyDict(a=1)
    d.b = 2
    assert d == {"a": 1, "b": 2} and d.a == 1 and d["b"] == 2
    del d.a
    assert "a" not in d
    with pytest.raises(AttributeError):
        d.missing


@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (12, "12s"), (59.4, "59s"), (60, "1m 00s"), (184, "3m 04s"),
    (3600, "1h 00m 00s"), (2 * 3600 + 5 * 60 + 9, "2h 05m 09s"),
    (86400 + 2 * 3600 + 3 * 60 + 4, "1d 02h 03m"), (-5, "0s"),
])
def test_format_time(seconds, text):
    assert util.format_time(seconds) == text


def test_tuple_product():
    assert util.tuple_product(()) == 1
    assert util.tuple_product((2, 3, 4)) == 24


def test_is_url():
    assert util.is_url("http://127.0.0.1:8000/a.pkl")
    assert util.is_url("https://example.invalid/x")
    assert util.is_url("file:///tmp/x")
    assert not util.is_url("file:///tmp/x", allow_file_urls=False)
    assert not util.is_url("/tmp/x.pkl")
    assert not util.is_url("relative/path.pkl")
    assert not util.is_url("http://")
    assert not util.is_url(None)


# ----------------------------------------------------------------------------------------------
# Logger


def test_logger_tees_stdout_and_stderr(tmp_path, capsys):
    log_file = str(tmp_path / "log.txt")
    orig_out, orig_err = sys.stdout, sys.stderr
    with util.Logger(log_file) as logger:
        print("hello stdout")
        sys.stderr.write("hello stderr\n")
        logger.write_file_only("file only\n")
        assert sys.stdout is not orig_out
    assert sys.stdout is orig_out and sys.stderr is orig_err
    print("after close")
    with open(log_file) as f:
        text = f.read()
    assert "hello stdout\n" in text and "hello stderr\n" in text and "file only\n" in text
    assert "after close" not in text
    captured = capsys.readouterr()
    assert "hello stdout" in captured.out and "after close" in captured.out
    assert "hello stderr" in captured.err
    assert "file only" not in captured.out + captured.err


def test_logger_append_and_close_twice(tmp_path):
    log_file = str(tmp_path / "log.txt")
    with open(log_file, "w") as f:
        f.write("old\n")
    logger = util.Logger(log_file, file_mode="a")
    print("new")
    logger.close()
    logger.close()
    with open(log_file) as f:
        assert f.read() == "old\nnew\n"


def test_logger_nested(tmp_path):
    outer_file, inner_file = str(tmp_path / "outer.txt"), str(tmp_path / "inner.txt")
    orig = sys.stdout
    with util.Logger(outer_file):
        print("a")
        with util.Logger(inner_file):
            print("b")
        print("c")
    assert sys.stdout is orig
    with open(outer_file) as f:
        assert f.read() == "a\nb\nc\n"
    with open(inner_file) as f:
        assert f.read() == "b\n"


# ----------------------------------------------------------------------------------------------
# Names


def test_get_obj_by_name_stdlib():
    import os.path
    import collections
    assert util.get_obj_by_name("os.path.join") is os.path.join
    assert util.get_obj_by_name("collections.OrderedDict") is collections.OrderedDict
    assert util.get_obj_by_name("collections.OrderedDict.fromkeys") == collections.OrderedDict.fromkeys
    assert util.get_obj_by_name("os") is os
    module, rest = util.get_module_from_obj_name("os.path.join")
    assert module is os.path and rest == "join"


def test_call_func_by_name():
    assert util.call_func_by_name("a", "b", func_name="os.path.join") == os.path.join("a", "b")
    assert util.call_func_by_name([3, 1, 2], func_name="builtins.sorted", reverse=True) == [3, 2, 1]
    with pytest.raises(TypeError):
        util.call_func_by_name(1)
    with pytest.raises(TypeError, match="not callable"):
        util.call_func_by_name(func_name="os.sep")


def test_bad_names_give_clear_errors():
    with pytest.raises(ImportError) as info:
        util.get_obj_by_name("no_such_module_xyz.sub.func")
    assert "no_such_module_xyz" in str(info.value)
    with pytest.raises(AttributeError) as info:
        util.get_obj_by_name("os.path.no_such_function_xyz")
    assert "no_such_function_xyz" in str(info.value) and "os.path" in str(info.value)
    with pytest.raises(AttributeError) as info:
        util.get_obj_by_name("collections.no_such_thing.deeper")
    assert "no_such_thing" in str(info.value)
    with pytest.raises(ImportError):
        util.get_obj_by_name("")
    with pytest.raises(ImportError):
        util.get_obj_by_name("os..path")


def test_broken_module_import_error_is_not_hidden(tmp_path, monkeypatch):
    pkg = tmp_path / "vpdis_broken_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("import vpdis_no_such_dependency_xyz\ndef f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(ImportError) as info:
            util.get_obj_by_name("vpdis_broken_pkg.mod.f")
        assert "vpdis_no_such_dependency_xyz" in str(info.value)
    finally:
        for name in list(sys.modules):
            if name.startswith("vpdis_broken_pkg"):
                del sys.modules[name]


def top_level_helper(x):
    return x * 2


def test_top_level_function_names():
    assert util.is_top_level_function(top_level_helper)
    name = util.get_top_level_function_name(top_level_helper)
    assert name.endswith("test_util.top_level_helper")
    assert util.get_obj_by_name(name) is top_level_helper

    def local():
        pass
    assert not util.is_top_level_function(local)
    assert not util.is_top_level_function(lambda: 0)
    assert not util.is_top_level_function(len)
    with pytest.raises(ValueError):
        util.get_top_level_function_name(local)


# ----------------------------------------------------------------------------------------------
# atomic_write


def test_atomic_write_success(tmp_path):
    path = str(tmp_path / "out.bin")
    with util.atomic_write(path) as f:
        f.write(b"abc")
        assert not os.path.exists(path)
    with open(path, "rb") as f:
        assert f.read() == b"abc"
    with util.atomic_write(path, "w") as f:
        f.write(u"text \u00e9")
    with io.open(path, encoding="utf-8") as f:
        assert f.read() == u"text \u00e9"
    assert os.listdir(str(tmp_path)) == ["out.bin"]


def test_atomic_write_exception_keeps_old_file(tmp_path):
    path = str(tmp_path / "out.bin")
    with open(path, "wb") as f:
        f.write(b"old")
    with pytest.raises(RuntimeError):
        with util.atomic_write(path) as f:
            f.write(b"new partial")
            raise RuntimeError("boom")
    with open(path, "rb") as f:
        assert f.read() == b"old"
    assert os.listdir(str(tmp_path)) == ["out.bin"]


def test_atomic_write_exception_leaves_no_file(tmp_path):
    path = str(tmp_path / "new.bin")
    with pytest.raises(ValueError):
        with util.atomic_write(path) as f:
            f.write(b"x")
            raise ValueError("boom")
    assert os.listdir(str(tmp_path)) == []


def test_atomic_write_rejects_read_mode(tmp_path):
    with pytest.raises(ValueError):
        with util.atomic_write(str(tmp_path / "x"), "rb"):
            pass


def test_check_output_path_accepts_writable_paths(tmp_path):
    (tmp_path / "old.json").write_text(u"{}")
    (tmp_path / "empty").mkdir()
    assert util.check_output_path(str(tmp_path / "new.json")) == str(tmp_path / "new.json")
    util.check_output_path(str(tmp_path / "old.json"), "file")  # replaced atomically later
    util.check_output_path(str(tmp_path / "a" / "b" / "c.json"), "file", "--out")  # parents can be created
    util.check_output_path(str(tmp_path / "empty"), "dir")
    util.check_output_path(str(tmp_path / "x" / "y"), "dir", "--result-dir")
    assert sorted(os.listdir(str(tmp_path))) == ["empty", "old.json"]  # creates nothing


def test_check_output_path_refusals(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text(u"x")
    cases = [
        ((tmp_path / "folder", "file", "--out"),
         "--out %s is an existing folder, but a file goes there; give another path or remove the folder"
         % (tmp_path / "folder")),
        ((tmp_path / "file.txt", "dir", "--result-dir"),
         "--result-dir %s is an existing file, but a folder goes there; give another path or remove the file"
         % (tmp_path / "file.txt")),
        ((tmp_path / "file.txt" / "res.json", "file", "--out"),
         "--out %s cannot be created: %s is a file, not a folder; give another path"
         % (tmp_path / "file.txt" / "res.json", tmp_path / "file.txt")),
        ((tmp_path / "file.txt" / "deeper" / "run", "dir", None),
         "output path %s cannot be created: %s is a file, not a folder; give another path"
         % (tmp_path / "file.txt" / "deeper" / "run", tmp_path / "file.txt")),
        (("", "file", "--out"), "--out: the path is empty; give a file path"),
    ]
    for (path, kind, flag), message in cases:
        with pytest.raises(util.OutputPathError) as info:
            util.check_output_path(str(path), kind, flag)
        assert str(info.value) == message
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="kind"):
        util.check_output_path(str(tmp_path / "x"), "folder")
    assert sorted(os.listdir(str(tmp_path))) == ["file.txt", "folder"] and os.listdir(str(tmp_path / "folder")) == []


def test_check_output_path_unwritable_folder(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(str(locked), 0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: let os.access answer as for a user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if p == str(locked) else real_access(p, mode))
    try:
        for path, kind in ((locked / "res.json", "file"), (locked / "new" / "run", "dir"), (locked, "dir")):
            with pytest.raises(util.OutputPathError, match=re.escape(
                    "--out %s cannot be written: folder %s is not writable; give a path in a folder you can write to"
                    % (path, locked))):
                util.check_output_path(str(path), kind, "--out")
    finally:
        os.chmod(str(locked), 0o700)


# ----------------------------------------------------------------------------------------------
# open_url


def test_open_url_download_then_cache_hit(server, tmp_path):
    data = os.urandom(3000)
    server.files["/models/net%20work.pkl"] = data  # request paths arrive still %-encoded
    url = server.url("/models/net%20work.pkl")
    cache_dir = str(tmp_path / "cache")

    assert _read(util.open_url(url, cache_dir=cache_dir, verbose=False)) == data
    assert server.count("/models/net%20work.pkl") == 1
    names = os.listdir(cache_dir)
    assert names == [util.url_cache_file_name(url)]
    assert names[0].startswith(hashlib.md5(url.encode("utf-8")).hexdigest() + "_")
    assert names[0].endswith("net_work.pkl")

    server.stop()  # a cache hit must not need the network
    assert _read(util.open_url(url, cache_dir=cache_dir, verbose=False)) == data
    assert _read(util.open_url(url, cache_dir=cache_dir, verbose=False, sha256=_sha(data))) == data
    assert server.count("/models/net%20work.pkl") == 1


def test_open_url_default_cache_dir_from_env(server, tmp_path, monkeypatch):
    server.files["/a.bin"] = b"payload"
    monkeypatch.setenv("VPDIS_CACHE_DIR", str(tmp_path / "envcache"))
    assert util.get_default_cache_dir() == str(tmp_path / "envcache")
    assert _read(util.open_url(server.url("/a.bin"), verbose=False)) == b"payload"
    assert len(os.listdir(str(tmp_path / "envcache"))) == 1


def test_open_url_without_cache(server, tmp_path):
    server.files["/a.bin"] = b"payload"
    cache_dir = str(tmp_path / "cache")
    for _ in range(2):
        assert _read(util.open_url(server.url("/a.bin"), cache_dir=cache_dir, cache=False,
                                   verbose=False)) == b"payload"
    assert server.count("/a.bin") == 2
    assert not os.path.exists(cache_dir)


def test_open_url_sha256_mismatch(server, tmp_path):
    data = b"not what you expected"
    server.files["/evil.pkl"] = data
    cache_dir = str(tmp_path / "cache")
    wrong = _sha(b"something else")
    url = server.url("/evil.pkl")
    with pytest.raises(IOError) as info:
        util.open_url(url, cache_dir=cache_dir, sha256=wrong, verbose=False)
    assert isinstance(info.value, util.ChecksumError) and isinstance(info.value, OSError)
    msg = str(info.value)
    assert url in msg and wrong in msg and _sha(data) in msg
    assert not os.path.exists(cache_dir) or os.listdir(cache_dir) == []


def test_open_url_sha256_match_and_upper_case(server, tmp_path):
    data = b"trusted bytes"
    server.files["/ok.pkl"] = data
    cache_dir = str(tmp_path / "cache")
    f = util.open_url(server.url("/ok.pkl"), cache_dir=cache_dir, sha256=_sha(data).upper(),
                      verbose=False)
    assert _read(f) == data
    assert len(os.listdir(cache_dir)) == 1
    with pytest.raises(ValueError):
        util.open_url(server.url("/ok.pkl"), cache_dir=cache_dir, sha256="xyz", verbose=False)


def test_open_url_corrupt_cache_is_redownloaded(server, tmp_path):
    data = b"good data"
    server.files["/c.bin"] = data
    url = server.url("/c.bin")
    cache_dir = str(tmp_path / "cache")
    os.makedirs(cache_dir)
    cache_file = os.path.join(cache_dir, util.url_cache_file_name(url))
    with open(cache_file, "wb") as f:
        f.write(b"corrupted")
    # Without a sha256 the cache is trusted.
    assert _read(util.open_url(url, cache_dir=cache_dir, verbose=False)) == b"corrupted"
    assert server.count("/c.bin") == 0
    # With one, the bad copy is replaced.
    assert _read(util.open_url(url, cache_dir=cache_dir, sha256=_sha(data), verbose=False)) == data
    assert server.count("/c.bin") == 1
    with open(cache_file, "rb") as f:
        assert f.read() == data
    assert os.listdir(cache_dir) == [os.path.basename(cache_file)]


def test_open_url_local_paths(tmp_path):
    path = tmp_path / "local file.bin"
    data = b"local data"
    path.write_bytes(data)
    assert _read(util.open_url(str(path), verbose=False)) == data
    file_url = "file://" + pathname2url(str(path))
    assert util.is_url(file_url)
    assert _read(util.open_url(file_url, verbose=False)) == data
    assert _read(util.open_url(file_url, sha256=_sha(data), verbose=False)) == data
    with pytest.raises(util.ChecksumError) as info:
        util.open_url(str(path), sha256=_sha(b"other"), verbose=False)
    assert str(path) in str(info.value)
    with pytest.raises(util.ChecksumError):
        util.open_url(file_url, sha256=_sha(b"other"), verbose=False)
    with pytest.raises(IOError):
        util.open_url(str(tmp_path / "missing.bin"), verbose=False)


def test_open_url_retries_on_503(server, tmp_path):
    server.files["/flaky.bin"] = b"eventually"
    server.fail_first["/flaky.bin"] = 2
    f = util.open_url(server.url("/flaky.bin"), cache_dir=str(tmp_path / "c"), num_attempts=3,
                      retry_delay=0, verbose=False)
    assert _read(f) == b"eventually"
    assert server.count("/flaky.bin") == 3


def test_open_url_gives_up_after_attempts(server, tmp_path):
    server.files["/flaky.bin"] = b"never"
    server.fail_first["/flaky.bin"] = 10
    cache_dir = str(tmp_path / "c")
    with pytest.raises(util.DownloadError) as info:
        util.open_url(server.url("/flaky.bin"), cache_dir=cache_dir, num_attempts=2,
                      retry_delay=0, verbose=False)
    assert "2 attempt" in str(info.value)
    assert server.count("/flaky.bin") == 2
    assert not os.path.exists(cache_dir) or os.listdir(cache_dir) == []


def test_open_url_404_is_not_retried(server, tmp_path):
    with pytest.raises(util.DownloadError) as info:
        util.open_url(server.url("/missing.bin"), cache_dir=str(tmp_path / "c"), num_attempts=3,
                      retry_delay=0, verbose=False)
    assert "404" in str(info.value)
    assert server.count("/missing.bin") == 1


def test_open_url_nothing_listening(tmp_path, capsys):
    url = "http://127.0.0.1:%d/x.pkl" % _free_port()
    with pytest.raises(IOError) as info:
        util.open_url(url, cache_dir=str(tmp_path / "c"), num_attempts=3, retry_delay=0.01,
                      timeout=5, verbose=True)
    assert isinstance(info.value, util.DownloadError)
    assert url in str(info.value) and "3 attempt" in str(info.value)
    out = capsys.readouterr().out
    assert out.count("Downloading " + url) == 3
    assert "attempt 3/3" in out


def test_open_url_docstring_warns_about_pickles():
    doc = util.open_url.__doc__.lower()
    assert "pickle" in doc and "sha256" in doc and "code" in doc


# ----------------------------------------------------------------------------------------------
# Staging names and their reclaim


def _dead_pid():
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_staging_names_record_a_live_owner(tmp_path):
    target = str(tmp_path / "out")
    name = util.staging_name(target)
    assert name.startswith(target + ".tmp-%d-" % os.getpid())
    os.mkdir(name)
    assert not util.staging_is_stale(name)
    assert util.reclaim_stale_staging(target) == [] and os.path.isdir(name)


def test_stale_staging_is_reclaimed_and_reported(tmp_path):
    target = str(tmp_path / "out")
    dead = "%s.tmp-%d-12345-abcdef01" % (target, _dead_pid())
    os.mkdir(dead)
    with open(os.path.join(dead, "part.tfrecords"), "wb") as f:
        f.write(b"x" * 100)
    reused = "%s.tmp-%d-1-abcdef02" % (target, os.getpid())      # our pid, another start time: pid reused
    open(reused, "w").close()
    legacy_old, legacy_new = target + ".tmp-0123456789ab", target + ".tmp-ba9876543210"
    for name in (legacy_old, legacy_new):
        open(name, "w").close()
    os.utime(legacy_old, (time.time() - 3600, time.time() - 3600))
    other = str(tmp_path / "unrelated.tmp-notes")
    open(other, "w").close()
    messages = []
    removed = util.reclaim_stale_staging(target, log=messages.append)
    assert sorted(removed) == sorted([dead, reused, legacy_old])
    assert not os.path.exists(dead) and not os.path.exists(reused) and not os.path.exists(legacy_old)
    assert os.path.exists(legacy_new) and os.path.exists(other)
    assert len(messages) == 3 and all("removed stale staging" in m for m in messages)
    # a whole folder's leftovers (a run dir)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    left = str(run_dir / ("network-snapshot-000001.pkl.tmp-%d-5-00000000" % _dead_pid()))
    open(left, "w").close()
    assert util.reclaim_stale_staging(directory=str(run_dir)) == [left]


def test_atomic_write_uses_an_owned_staging_name(tmp_path):
    seen = []
    with util.atomic_write(str(tmp_path / "f.txt"), "w") as f:
        seen.extend(os.listdir(str(tmp_path)))
        f.write("x")
    assert len(seen) == 1 and seen[0].startswith("f.txt.tmp-%d-" % os.getpid())
    assert os.listdir(str(tmp_path)) == ["f.txt"]


def test_machine_info_names_the_cpu_model():
    info = util.machine_info()
    assert set(info) == {"platform", "processor", "cpu_model", "cpus", "python"} and info["cpus"] >= 1
    if os.path.exists("/proc/cpuinfo"):
        names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.lower().startswith("model name")]
        if names:
            assert info["cpu_model"] == names[0]
