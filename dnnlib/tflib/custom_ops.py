"""Build TensorFlow custom ops (``*.cu``) with nvcc on first use, cache the binaries, load them.

``get_plugin(cuda_file)`` compiles the op library once per (source, headers, nvcc command, TF version,
Python ABI) into ``<cache>/<opname>_<hash>.so`` and returns ``tf.load_op_library``'s module.
``resolve_impl`` decides, once per process and op, whether the 'cuda' or the 'ref' implementation runs.

Environment:
    VPDIS_CUDA_CACHE        cache folder (default ``dnnlib/tflib/_cudacache/``)
    VPDIS_CUDA_ARCH         GPU architecture when no GPU is visible (``sm_90``, ``90``, ``9.0``, ``sm_90a``);
                            default sm_90
    VPDIS_NVCC_EXTRA_FLAGS  extra nvcc arguments, appended (shell syntax); part of the cache key
    VPDIS_OPS_IMPL          'cuda' or 'ref': what impl='auto' resolves to
"""

import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

from dnnlib.tflib.compat import tf, TF_VERSION

# ----------------------------------------------------------------------------------------------------------
# Module settings.

verbose = True  # print "Setting up TensorFlow plugin ..." progress lines to stdout

_VERSION_TAG = "vpdis-custom-ops-v1"  # bump to invalidate every cached binary
_DEFAULT_ARCH = "sm_90"
_DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_cudacache")
_IMPLS = ("auto", "cuda", "ref")

compile_count = 0  # nvcc builds run by this process (tests read it to tell cache hits from builds)

_plugins = {}  # op library name -> (build id '<name>_<hash>.so', loaded module)
_impl_cache = {}  # absolute .cu path -> 'cuda' | 'ref' (impl='auto')
_gpu_available = None
_gpu_arch = None


class CustomOpError(RuntimeError):
    """A custom op could not be built or loaded. The message says what ran, what it printed and why."""


# ----------------------------------------------------------------------------------------------------------
# Environment queries.


def nvcc_available():
    """True when ``nvcc`` is on PATH."""
    return shutil.which("nvcc") is not None


def _list_gpus():
    """Physical GPU devices visible to TensorFlow, without creating devices or allocating memory."""
    for getter in (
        lambda: tf.config.list_physical_devices("GPU"),
        lambda: tf.config.experimental.list_physical_devices("GPU"),
    ):
        try:
            return list(getter())
        except Exception:  # attribute missing in this TF version
            continue
    # Last resort (very old TF): device_lib creates the devices, so ask it not to grab the memory.
    try:
        from tensorflow.python.client import device_lib

        config = tf.ConfigProto()
        config.gpu_options.allow_growth = True
        return [d for d in device_lib.list_local_devices(config) if d.device_type == "GPU"]
    except Exception:
        return []


def gpu_available():
    """True when TensorFlow sees at least one GPU (cached per process)."""
    global _gpu_available
    if _gpu_available is None:
        _gpu_available = len(_list_gpus()) > 0
    return _gpu_available


def _normalize_arch(arch):
    """'sm_90' | 'compute_90' | '90' | '9.0' | 'sm_90a' -> '90' / '90a'."""
    a = str(arch).strip().lower()
    a = re.sub(r"^(sm_|compute_)", "", a)
    m = re.match(r"^(\d+)\.(\d+)$", a)
    if m:
        a = m.group(1) + m.group(2)
    if not re.match(r"^\d{2,3}[a-z]?$", a):
        raise CustomOpError(
            "Bad GPU architecture %r (from VPDIS_CUDA_ARCH or the GPU's compute capability): expected e.g. "
            "'sm_90', '90' or '9.0'" % (arch,)
        )
    return a


def _detect_gpu_arch():
    """Compute capability of the first visible GPU as '86', '90', ...; None when no GPU is visible."""
    gpus = _list_gpus()
    if not gpus:
        return None
    # TF >= 2.3: device details, no device creation.
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
        cc = details.get("compute_capability")
        if cc:
            return "%d%d" % (cc[0], cc[1])
    except Exception:
        pass
    # nvidia-smi (driver >= 510 knows compute_cap); honour CUDA_VISIBLE_DEVICES's first entry.
    try:
        index = 0
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
        if visible.isdigit():
            index = int(visible)
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader", "-i", str(index)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30,
        ).stdout.strip()
        if re.match(r"^\d+\.\d+$", out):
            return _normalize_arch(out)
    except Exception:
        pass
    # TF 1.x: physical_device_desc carries "compute capability: X.Y".
    try:
        from tensorflow.python.client import device_lib

        config = tf.ConfigProto()
        config.gpu_options.allow_growth = True
        for d in device_lib.list_local_devices(config):
            m = re.search(r"compute capability:\s*(\d+)\.(\d+)", d.physical_device_desc or "")
            if d.device_type == "GPU" and m:
                return m.group(1) + m.group(2)
    except Exception:
        pass
    return None


def get_cuda_arch():
    """The architecture to build for: the first visible GPU's, else $VPDIS_CUDA_ARCH, else sm_90."""
    global _gpu_arch
    if _gpu_arch is None:
        _gpu_arch = _detect_gpu_arch() or ""
    if _gpu_arch:
        return _gpu_arch
    return _normalize_arch(os.environ.get("VPDIS_CUDA_ARCH") or _DEFAULT_ARCH)


def get_cache_dir():
    """$VPDIS_CUDA_CACHE, else dnnlib/tflib/_cudacache/."""
    return os.path.abspath(os.environ.get("VPDIS_CUDA_CACHE") or _DEFAULT_CACHE)


# ----------------------------------------------------------------------------------------------------------
# The nvcc command and the cache key.


def _tf_flags():
    """TensorFlow's own compile and link flags (include dir, ABI macro, C++ standard, framework lib)."""
    compile_flags = list(tf.sysconfig.get_compile_flags())
    link_flags = list(tf.sysconfig.get_link_flags())
    # TF 2.x carries its C++ standard (--std=c++17); TF 1.15 carries none, and its headers need C++14
    # (nvcc 13's default dialect is C++17, which TF 1.15's headers are not written for).
    if not any(f.startswith(("--std", "-std")) for f in compile_flags):
        compile_flags.append("--std=c++14")
    return compile_flags, link_flags


def nvcc_command(cuda_file, output):
    """The full nvcc argument list that builds ``cuda_file`` into the shared library ``output``."""
    compile_flags, link_flags = _tf_flags()
    arch = get_cuda_arch()
    cmd = ["nvcc", os.path.abspath(cuda_file), "--shared", "-o", output]
    cmd += ["--compiler-options", "-fPIC", "--use_fast_math", "--disable-warnings", "-DNDEBUG"]
    cmd += compile_flags
    cmd += ["-gencode=arch=compute_%s,code=[sm_%s,compute_%s]" % (arch, arch, arch)]
    cmd += link_flags
    cmd += shlex.split(os.environ.get("VPDIS_NVCC_EXTRA_FLAGS", ""))
    return cmd


_INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def _local_headers(cuda_file):
    """Headers that ``cuda_file`` includes (recursively, with quotes) from its own folder."""
    folder = os.path.dirname(os.path.abspath(cuda_file))
    found, todo = [], [os.path.abspath(cuda_file)]
    while todo:
        with open(todo.pop(), "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name in _INCLUDE_RE.findall(text):
            path = os.path.normpath(os.path.join(folder, name))
            if os.path.isfile(path) and path not in found:
                found.append(path)
                todo.append(path)
    return sorted(found)


def _python_abi_tag():
    return "%s/%s" % (sys.implementation.cache_tag, sysconfig.get_config_var("SOABI") or "")


def cache_key(cuda_file, cmd):
    """Hash over the source, its local headers, the nvcc command, TF version, Python ABI and a version tag."""
    h = hashlib.md5()

    def add(tag, data):
        data = data if isinstance(data, bytes) else str(data).encode("utf-8")
        h.update(tag.encode("utf-8") + b":" + str(len(data)).encode("ascii") + b":" + data + b"\n")

    with open(cuda_file, "rb") as f:
        add("source", f.read())
    for header in _local_headers(cuda_file):
        with open(header, "rb") as f:
            add("header:" + os.path.basename(header), f.read())
    add("cmd", "\0".join(cmd))
    add("tf", TF_VERSION)
    add("python", _python_abi_tag())
    add("tag", _VERSION_TAG)
    return h.hexdigest()


def plugin_path(cuda_file):
    """Where the cached binary of ``cuda_file`` lives (whether built yet or not), and the key's command."""
    name = os.path.splitext(os.path.basename(cuda_file))[0]
    cmd = nvcc_command(cuda_file, "<output>")  # the output path is no part of the key
    return os.path.join(get_cache_dir(), "%s_%s.so" % (name, cache_key(cuda_file, cmd))), cmd


# ----------------------------------------------------------------------------------------------------------
# Errors with a likely cause.


def _likely_cause(text):
    t = text.lower()
    if "undefined symbol" in t or "_glibcxx_use_cxx11_abi" in t or "cxx11" in t:
        return (
            "Likely cause: a C++ ABI mismatch between the op and the TensorFlow library (undefined symbol). The op "
            "is built with TensorFlow's own flags (tf.sysconfig.get_compile_flags(), which set "
            "_GLIBCXX_USE_CXX11_ABI); a TensorFlow built by another compiler, or a stale binary, can disagree: "
            "clear the cache folder (%s) and retry, or use impl='ref'." % get_cache_dir()
        )
    if "unsupported gpu architecture" in t or "unsupported gpu arch" in t or "not defined for option 'gpu-name'" in t:
        return (
            "Likely cause: this nvcc cannot build for the requested GPU architecture; set VPDIS_CUDA_ARCH to one it "
            "supports (see `nvcc --list-gpu-arch`) or install a CUDA toolkit that knows the GPU."
        )
    if "unsupported gnu version" in t or "unsupported host compiler" in t:
        return (
            "Likely cause: nvcc does not support the host compiler version; point nvcc to a supported gcc with "
            "VPDIS_NVCC_EXTRA_FLAGS='--compiler-bindir /path/to/gcc-N', or (at your own risk) "
            "VPDIS_NVCC_EXTRA_FLAGS='-allow-unsupported-compiler'."
        )
    if ("std=" in t or "c++1" in t or "c++2" in t or "requires compiler and library support" in t
            or "constexpr" in t or "if constexpr" in t):
        return (
            "Likely cause: the C++ standard. TensorFlow 1.15's headers need --std=c++14, TensorFlow 2.x's "
            "--std=c++17 (taken from tf.sysconfig.get_compile_flags()); add or change it with "
            "VPDIS_NVCC_EXTRA_FLAGS if your TensorFlow build needs another."
        )
    if "no such file or directory" in t and ".h" in t:
        return (
            "Likely cause: a header was not found; this TensorFlow installation may lack its C++ headers "
            "(some Windows and conda builds do). Use impl='ref'."
        )
    return "Run the command above by hand to see the full output, or use impl='ref'."


def _fail(name, message):
    if verbose:
        print("Failed!", flush=True)
    raise CustomOpError('Setting up TensorFlow plugin "%s" failed: %s' % (name, message))


# ----------------------------------------------------------------------------------------------------------
# Build and load.


def get_plugin(cuda_file):
    """Build ``cuda_file`` (once; cached on disk) and return its ``tf.load_op_library`` module."""
    global compile_count
    cuda_file = os.path.abspath(cuda_file)
    name = os.path.splitext(os.path.basename(cuda_file))[0]
    if not os.path.isfile(cuda_file):
        raise CustomOpError('Setting up TensorFlow plugin "%s" failed: source %s not found' % (name, cuda_file))

    so_path, key_cmd = plugin_path(cuda_file)
    build_id = os.path.basename(so_path)  # <opname>_<hash>.so: identical builds share it, whatever the folder
    if name in _plugins:
        loaded_id, module = _plugins[name]
        if loaded_id == build_id:
            return module
        # TensorFlow cannot register the same op names twice in a process: a second library defining them
        # would load as an empty module.
        raise CustomOpError(
            'Setting up TensorFlow plugin "%s" failed: another build of it (%s) is already loaded in this process, '
            "and its source, headers or nvcc command have changed since (now %s). Restart Python to use the new "
            "build." % (name, loaded_id, build_id)
        )

    if verbose:
        print('Setting up TensorFlow plugin "%s": ' % name, end="", flush=True)

    if not os.path.isfile(so_path):
        nvcc = shutil.which("nvcc")
        if nvcc is None:
            _fail(name, "nvcc not found on PATH: install the CUDA toolkit, or run with impl='ref'.")
        if verbose:
            print("Compiling... ", end="", flush=True)
        cache_dir = get_cache_dir()
        # Build in a private temporary folder inside the cache (same file system), then move the result into
        # place atomically: concurrent builders never see a half-written binary, and a failed build leaves
        # nothing behind.
        try:
            os.makedirs(cache_dir, exist_ok=True)
            _remove_stale_build_dirs(cache_dir)
            tmp_dir = tempfile.mkdtemp(prefix=".build-%s-" % name, dir=cache_dir)
        except OSError as e:
            _fail(name, "cannot write to the cache folder %s (%s); set VPDIS_CUDA_CACHE to a writable folder."
                  % (cache_dir, e))
        try:
            tmp_so = os.path.join(tmp_dir, os.path.basename(so_path))
            cmd = [nvcc] + key_cmd[1:]
            cmd[cmd.index("<output>")] = tmp_so
            start = time.time()
            try:
                proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      universal_newlines=True, cwd=tmp_dir)
            except OSError as e:
                _fail(name, "could not run nvcc (%s).\nCommand: %s" % (e, _quote(cmd)))
            compile_count += 1
            if proc.returncode != 0 or not os.path.isfile(tmp_so):
                tail = "\n".join(proc.stdout.strip().splitlines()[-40:])
                _fail(name, "nvcc exited with status %d after %.0f s.\nCommand: %s\nLast lines of its output:\n%s\n%s"
                      % (proc.returncode, time.time() - start, _quote(cmd), tail, _likely_cause(proc.stdout)))
            os.replace(tmp_so, so_path)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)

    if verbose:
        print("Loading... ", end="", flush=True)
    try:
        module = tf.load_op_library(so_path)
    except Exception as e:  # tf.errors.NotFoundError for undefined symbols, and others
        # A binary that does not load is useless: drop it so that the next try rebuilds.
        try:
            os.remove(so_path)
        except OSError:
            pass
        _fail(name, "tf.load_op_library(%s) failed: %s\n%s" % (so_path, e, _likely_cause(str(e))))
    missing = [op for op in _registered_ops(cuda_file) if not hasattr(module, _op_to_python_name(op))]
    if missing:
        _fail(name, "%s loaded but does not provide the op(s) %s: a copy of this library from another folder is "
              "probably loaded in this process already (TensorFlow registers an op once). Restart Python."
              % (so_path, ", ".join(missing)))
    _plugins[name] = (build_id, module)
    if verbose:
        print("Done.", flush=True)
    return module


def _remove_stale_build_dirs(cache_dir, max_age_s=24 * 3600):
    """Temporary build folders left by killed builds (a live build never takes a day)."""
    for path in glob.glob(os.path.join(cache_dir, ".build-*")):
        try:
            if time.time() - os.path.getmtime(path) > max_age_s:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


_REGISTER_OP_RE = re.compile(r'REGISTER_OP\(\s*"([A-Za-z0-9_]+)"\s*\)')


def _registered_ops(cuda_file):
    with open(cuda_file, "r", encoding="utf-8", errors="replace") as f:
        return _REGISTER_OP_RE.findall(f.read())


def _op_to_python_name(op):
    """TensorFlow's op-name to Python-function-name rule: 'FusedBiasAct' -> 'fused_bias_act', 'UpFirDn2D' ->
    'up_fir_dn2d'."""
    out = []
    for i, ch in enumerate(op):
        if ch.isupper() and i > 0 and op[i - 1] != "_" and (
                op[i - 1].islower() or (i + 1 < len(op) and op[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _quote(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


# ----------------------------------------------------------------------------------------------------------
# Implementation choice.


def resolve_impl(impl, cuda_file):
    """'auto' | 'cuda' | 'ref' -> 'cuda' | 'ref'.

    'auto': $VPDIS_OPS_IMPL (cuda|ref) when set; else 'cuda' iff a GPU is visible and the op builds (a failed
    build prints one warning and falls back to 'ref'). Decided once per process and op file.
    'cuda' is returned as is: build errors surface where the op is used.
    """
    if impl not in _IMPLS:
        raise ValueError("impl must be one of %s, got %r" % (", ".join(repr(i) for i in _IMPLS), impl))
    if impl != "auto":
        return impl
    env = os.environ.get("VPDIS_OPS_IMPL", "").strip().lower()
    if env and env != "auto":
        if env not in ("cuda", "ref"):
            raise ValueError("VPDIS_OPS_IMPL must be 'cuda', 'ref' or 'auto', got %r" % env)
        return env
    key = os.path.abspath(cuda_file)
    if key not in _impl_cache:
        choice = "ref"
        if gpu_available():
            try:
                get_plugin(key)
                choice = "cuda"
            except CustomOpError as e:
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                print("WARNING: custom op %s unavailable, falling back to impl='ref': %s"
                      % (os.path.basename(key), first), file=sys.stderr, flush=True)
        _impl_cache[key] = choice
    return _impl_cache[key]


def clear_caches():
    """Forget the per-process decisions (impl choices, GPU probe and architecture). Loaded plugins stay loaded:
    TensorFlow cannot unload an op library, nor load another build of the same ops."""
    global _gpu_available, _gpu_arch
    _impl_cache.clear()
    _gpu_available = None
    _gpu_arch = None


__all__ = [
    "CustomOpError", "get_plugin", "resolve_impl", "nvcc_available", "gpu_available", "get_cuda_arch",
    "get_cache_dir", "nvcc_command", "cache_key", "plugin_path", "verbose", "clear_caches",
]
