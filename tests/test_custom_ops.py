"""Custom CUDA ops: the build machinery (custom_ops.py), the op kernels' arithmetic (run through their CPU
kernels, which share the per-element code with the GPU kernels), the CUDA harness's build, and impl='cuda'
against impl='ref' through the Python wrappers (values, first and second derivatives).

Runs under TF 1.15 and TF 2.x. Needs nvcc for most tests (skipped otherwise); no GPU needed. Each op is
compiled once per test session into a temporary cache folder.
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from dnnlib.tflib import custom_ops
from dnnlib.tflib.compat import tf, TF_MAJOR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_DIR = os.path.join(ROOT, "dnnlib", "tflib", "ops")
FBA_CU = os.path.join(OPS_DIR, "fused_bias_act.cu")
UFD_CU = os.path.join(OPS_DIR, "upfirdn_2d.cu")
HARNESS_DIR = os.path.join(ROOT, "tests", "cuda_harness")

needs_nvcc = pytest.mark.skipif(not custom_ops.nvcc_available(), reason="nvcc not found on PATH (CUDA toolkit)")

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
ACTS = {"linear": 1, "relu": 2, "lrelu": 3, "tanh": 4, "sigmoid": 5, "elu": 6, "selu": 7, "softplus": 8, "swish": 9}


# --------------------------------------------------------------------------------------------------------------
# Fixtures.


@pytest.fixture(scope="session")
def op_cache_dir(tmp_path_factory):
    """A fresh cache folder for the whole session (VPDIS_CUDA_CACHE points to it while the tests run)."""
    path = str(tmp_path_factory.mktemp("cudacache"))
    mp = pytest.MonkeyPatch()
    mp.setenv("VPDIS_CUDA_CACHE", path)
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def plugins(op_cache_dir):
    """Both ops, built (or loaded) once per session. Records what the first build did."""
    if not custom_ops.nvcc_available():
        pytest.skip("nvcc not found on PATH (CUDA toolkit)")
    info = {}
    for name, path in (("fba", FBA_CU), ("ufd", UFD_CU)):
        already = os.path.splitext(os.path.basename(path))[0] in custom_ops._plugins
        before = custom_ops.compile_count
        start = time.time()
        module = custom_ops.get_plugin(path)
        info[name] = dict(module=module, compiled=custom_ops.compile_count - before, seconds=time.time() - start,
                          already_loaded=already)
    return info


@pytest.fixture
def cpu_session():
    """A fresh graph and session; ops are pinned to the CPU by the tests that need the CPU kernels."""
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default() as sess:
        yield sess


# --------------------------------------------------------------------------------------------------------------
# numpy references, written from the op contracts.


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def np_act(h, act, alpha):
    if act == 1:
        return h
    if act == 2:
        return np.maximum(h, 0.0)
    if act == 3:
        return np.where(h > 0, h, alpha * h)
    if act == 4:
        return np.tanh(h)
    if act == 5:
        return _sigmoid(h)
    if act == 6:
        return np.where(h >= 0, h, alpha * np.expm1(np.minimum(h, 0.0)))
    if act == 7:
        return SELU_SCALE * np.where(h >= 0, h, SELU_ALPHA * np.expm1(np.minimum(h, 0.0)))
    if act == 8:
        return np.logaddexp(0.0, h)
    if act == 9:
        return h * _sigmoid(h)
    raise ValueError(act)


def np_fused_bias_act(x, b, ref, axis, act, grad, alpha, gain):
    x = x.astype(np.float64)
    if grad == 0:
        if b is not None and b.size:
            shape = [1] * x.ndim
            shape[axis] = -1
            x = x + b.astype(np.float64).reshape(shape)
        return np_act(x, act, alpha) * gain
    r = ref.astype(np.float64)
    if act == 9:
        s = _sigmoid(r)
        if grad == 1:
            return x * gain * (s + r * s * (1 - s))
        return x * gain * s * (1 - s) * (2 + r * (1 - 2 * s))
    a = r / gain
    if grad == 1:
        d = {
            1: np.ones_like(a), 2: (a > 0) * 1.0, 3: np.where(a > 0, 1.0, alpha), 4: 1 - a * a, 5: a * (1 - a),
            6: np.where(a >= 0, 1.0, a + alpha), 7: np.where(a >= 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA),
            8: 1 - np.exp(-a),
        }[act]
        return x * gain * d
    d = {
        1: np.zeros_like(a), 2: np.zeros_like(a), 3: np.zeros_like(a), 4: -2 * a, 5: 1 - 2 * a, 6: (a < 0) * 1.0,
        7: (a < 0) * 1.0, 8: np.exp(-a),
    }[act]
    return x * d


def np_upfirdn_2d(x, k, upx, upy, downx, downy, padx0, padx1, pady0, pady1):
    """Direct evaluation of the per-tap formula (loops; tiny inputs only)."""
    x = x.astype(np.float64)
    k = k.astype(np.float64)
    n, ih, iw, m = x.shape
    kh, kw = k.shape
    oh = (ih * upy + pady0 + pady1 - kh) // downy + 1
    ow = (iw * upx + padx0 + padx1 - kw) // downx + 1
    y = np.zeros((n, oh, ow, m))
    for oy in range(oh):
        for ox in range(ow):
            acc = np.zeros((n, m))
            for ky in range(kh):
                py = oy * downy + ky - pady0
                if py < 0 or py % upy or py // upy >= ih:
                    continue
                for kx in range(kw):
                    px = ox * downx + kx - padx0
                    if px < 0 or px % upx or px // upx >= iw:
                        continue
                    acc += x[:, py // upy, px // upx, :] * k[kh - 1 - ky, kw - 1 - kx]
            y[:, oy, ox, :] = acc
    return y


# --------------------------------------------------------------------------------------------------------------
# resolve_impl and errors (no nvcc needed).


def test_bad_impl_string_raises_value_error():
    with pytest.raises(ValueError) as e:
        custom_ops.resolve_impl("gpu", FBA_CU)
    for choice in ("auto", "cuda", "ref"):
        assert choice in str(e.value)


def test_resolve_impl_explicit_and_env(monkeypatch):
    assert custom_ops.resolve_impl("ref", FBA_CU) == "ref"
    assert custom_ops.resolve_impl("cuda", FBA_CU) == "cuda"
    monkeypatch.setenv("VPDIS_OPS_IMPL", "ref")
    assert custom_ops.resolve_impl("auto", FBA_CU) == "ref"
    monkeypatch.setenv("VPDIS_OPS_IMPL", "cuda")
    assert custom_ops.resolve_impl("auto", FBA_CU) == "cuda"
    monkeypatch.setenv("VPDIS_OPS_IMPL", "bogus")
    with pytest.raises(ValueError):
        custom_ops.resolve_impl("auto", FBA_CU)


def test_resolve_impl_auto_without_gpu_is_ref(monkeypatch):
    monkeypatch.delenv("VPDIS_OPS_IMPL", raising=False)
    monkeypatch.setattr(custom_ops, "_impl_cache", {})
    monkeypatch.setattr(custom_ops, "gpu_available", lambda: False)
    assert custom_ops.resolve_impl("auto", FBA_CU) == "ref"


def _copy_op_source(dst_dir, new_name="fba_copy"):
    """Copy fused_bias_act.cu and its header under another library name (never loaded in this process)."""
    shutil.copy(os.path.join(OPS_DIR, "fused_bias_act_kernel.cuh"), dst_dir)
    dst = os.path.join(str(dst_dir), new_name + ".cu")
    shutil.copy(FBA_CU, dst)
    return dst


def test_missing_nvcc_raises_one_clear_error(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    cu = _copy_op_source(src_dir)
    monkeypatch.setenv("VPDIS_CUDA_CACHE", str(cache))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(custom_ops.CustomOpError) as e:
        custom_ops.get_plugin(cu)
    msg = str(e.value)
    assert "nvcc not found on PATH" in msg and "impl='ref'" in msg
    assert isinstance(e.value, RuntimeError)
    assert not cache.exists() or not any(cache.iterdir()), "nothing may be left in the cache"


def test_auto_falls_back_to_ref_with_one_warning(monkeypatch, tmp_path, capsys):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    cu = _copy_op_source(src_dir, "fba_auto_copy")
    monkeypatch.delenv("VPDIS_OPS_IMPL", raising=False)
    monkeypatch.setenv("VPDIS_CUDA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(custom_ops, "_impl_cache", {})
    monkeypatch.setattr(custom_ops, "gpu_available", lambda: True)  # pretend: a GPU, but no nvcc
    assert custom_ops.resolve_impl("auto", cu) == "ref"
    assert custom_ops.resolve_impl("auto", cu) == "ref"  # cached: no second build attempt, no second warning
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "nvcc not found" in err


@needs_nvcc
def test_nvcc_failure_reports_command_output_and_leaves_no_files(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    cu = tmp_path / "broken_op.cu"
    cu.write_text("this is not C++ at all;\n")
    monkeypatch.setenv("VPDIS_CUDA_CACHE", str(cache))
    with pytest.raises(custom_ops.CustomOpError) as e:
        custom_ops.get_plugin(str(cu))
    msg = str(e.value)
    assert "nvcc exited with status" in msg
    assert "Command: " in msg and "broken_op.cu" in msg and "-gencode=arch=compute_" in msg
    assert "this is not C++" in msg or "error" in msg.lower()  # nvcc's own output is included
    assert list(cache.iterdir()) == [], "a failed build must leave nothing in the cache"


# --------------------------------------------------------------------------------------------------------------
# The nvcc command and the cache key (no build).


def test_nvcc_command_uses_tf_flags_and_one_std(monkeypatch):
    monkeypatch.setattr(custom_ops, "_gpu_arch", "")  # no GPU detected -> env / default arch
    monkeypatch.setenv("VPDIS_CUDA_ARCH", "sm_86")
    cmd = custom_ops.nvcc_command(FBA_CU, "/tmp/out.so")
    for flag in tf.sysconfig.get_compile_flags() + tf.sysconfig.get_link_flags():
        assert flag in cmd
    stds = [c for c in cmd if c.startswith(("--std", "-std"))]
    tf_stds = [c for c in tf.sysconfig.get_compile_flags() if c.startswith(("--std", "-std"))]
    assert stds == (tf_stds or ["--std=c++14"])  # TF's own standard, else C++14 (TF 1.15)
    if TF_MAJOR == 1:
        assert stds == ["--std=c++14"]
    for flag in ("--shared", "-fPIC", "--use_fast_math", "--disable-warnings", "-DNDEBUG"):
        assert flag in cmd
    assert "-gencode=arch=compute_86,code=[sm_86,compute_86]" in cmd
    monkeypatch.setenv("VPDIS_CUDA_ARCH", "9.0")
    assert "-gencode=arch=compute_90,code=[sm_90,compute_90]" in custom_ops.nvcc_command(FBA_CU, "x.so")
    monkeypatch.delenv("VPDIS_CUDA_ARCH")
    assert "-gencode=arch=compute_90,code=[sm_90,compute_90]" in custom_ops.nvcc_command(FBA_CU, "x.so")


def test_cache_key_tracks_source_headers_and_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(custom_ops, "_gpu_arch", "")
    monkeypatch.delenv("VPDIS_CUDA_ARCH", raising=False)
    monkeypatch.delenv("VPDIS_NVCC_EXTRA_FLAGS", raising=False)
    cu = _copy_op_source(tmp_path)
    header = tmp_path / "fused_bias_act_kernel.cuh"
    assert custom_ops._local_headers(cu) == [str(header)]

    def key():
        path, cmd = custom_ops.plugin_path(cu)
        return os.path.basename(path)

    base = key()
    assert base.startswith("fba_copy_") and base.endswith(".so") and len(base) == len("fba_copy_") + 32 + 3
    assert key() == base  # stable
    monkeypatch.setenv("VPDIS_CUDA_CACHE", str(tmp_path / "elsewhere"))
    assert key() == base  # the folder is no part of the key
    monkeypatch.setenv("VPDIS_NVCC_EXTRA_FLAGS", "-DVPDIS_SOMETHING=1")
    assert key() != base
    monkeypatch.delenv("VPDIS_NVCC_EXTRA_FLAGS")
    monkeypatch.setenv("VPDIS_CUDA_ARCH", "sm_80")
    assert key() != base
    monkeypatch.delenv("VPDIS_CUDA_ARCH")
    assert key() == base
    header.write_text(header.read_text() + "\n// changed\n")
    k_header = key()
    assert k_header != base
    with open(cu, "a") as f:
        f.write("\n// changed\n")
    assert key() not in (base, k_header)


# --------------------------------------------------------------------------------------------------------------
# Build and load (nvcc).


@pytest.mark.slow
@needs_nvcc
def test_build_load_and_cache_hit(plugins, op_cache_dir):
    for name, path, op in (("fba", FBA_CU, "fused_bias_act"), ("ufd", UFD_CU, "up_fir_dn2d")):
        info = plugins[name]
        assert hasattr(info["module"], op)
        if not info["already_loaded"]:
            assert info["compiled"] == 1
            so_path, _ = custom_ops.plugin_path(path)
            assert os.path.dirname(so_path) == os.path.abspath(op_cache_dir) and os.path.isfile(so_path)
        # Second call in the process: the same module, no compile.
        before = custom_ops.compile_count
        start = time.time()
        assert custom_ops.get_plugin(path) is info["module"]
        assert custom_ops.compile_count == before and time.time() - start < 5.0
    # Nothing but finished binaries in the cache folder.
    for entry in os.listdir(op_cache_dir):
        assert entry.endswith(".so") and not entry.startswith("."), entry


@needs_nvcc
def test_disk_cache_hit_without_recompile(plugins, monkeypatch):
    """A process that has not loaded the op yet finds the binary on disk and does not compile."""
    monkeypatch.setattr(custom_ops, "_plugins", {})
    before = custom_ops.compile_count
    module = custom_ops.get_plugin(FBA_CU)  # same file: TensorFlow hands back the library it loaded
    assert custom_ops.compile_count == before
    assert hasattr(module, "fused_bias_act")


@needs_nvcc
def test_verbose_progress_lines(plugins, monkeypatch, capsys):
    monkeypatch.setattr(custom_ops, "_plugins", {})
    monkeypatch.setattr(custom_ops, "verbose", True)
    custom_ops.get_plugin(UFD_CU)
    out = capsys.readouterr().out
    assert 'Setting up TensorFlow plugin "upfirdn_2d": ' in out and "Loading... Done." in out
    monkeypatch.setattr(custom_ops, "_plugins", {})
    monkeypatch.setattr(custom_ops, "verbose", False)
    custom_ops.get_plugin(UFD_CU)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------------------------------------------
# FusedBiasAct CPU kernel vs numpy.


def _fba_case_inputs(rng, shape, act, grad, gain, alpha, axis, bias):
    x = rng.uniform(-3, 3, size=shape).astype(np.float32)
    x.flat[::11] *= 20  # some large values: clamps and saturation
    b = rng.uniform(-1, 1, size=[shape[axis]]).astype(np.float32) if bias else np.zeros([0], np.float32)
    ref = np.zeros([0], np.float32)
    if grad > 0:
        h = rng.uniform(-3, 3, size=shape)
        h.flat[::7] *= 15
        ref = (h if act == 9 else np_act(h, act, alpha) * gain).astype(np.float32)
    return x, b, ref


@needs_nvcc
@pytest.mark.parametrize("act_name", sorted(ACTS, key=ACTS.get))
def test_fused_bias_act_cpu_kernel_matches_numpy(plugins, cpu_session, act_name):
    act = ACTS[act_name]
    op = plugins["fba"]["module"]
    rng = np.random.RandomState(act)
    cases = []
    for grad in (0, 1, 2):
        for shape, axis, bias in (([2, 3, 4, 5], 1, True), ([2, 3, 4, 5], 0, True), ([2, 3, 4, 5], 3, True),
                                  ([2, 3, 4, 5], 1, False), ([6, 7], 1, True)):
            if grad > 0 and bias:
                continue  # gradient modes take no bias
            for alpha, gain in ((0.2, 1.0), (0.5, 1.7)):
                cases.append((grad, shape, axis, bias, alpha, gain))
    outputs, expected = [], []
    with tf.device("/cpu:0"):
        for grad, shape, axis, bias, alpha, gain in cases:
            x, b, ref = _fba_case_inputs(rng, shape, act, grad, gain, alpha, axis, bias)
            outputs.append(op.fused_bias_act(x=x, b=b, ref=ref, grad=grad, axis=axis, act=act, alpha=alpha, gain=gain))
            expected.append(np_fused_bias_act(x, b, ref, axis, act, grad, alpha, gain))
        # float16 (forward and first derivative).
        xh, bh, _ = _fba_case_inputs(rng, [2, 3, 4], act, 0, 1.0, 0.2, 1, True)
        xh, bh = xh.astype(np.float16), bh.astype(np.float16)
        out_h = op.fused_bias_act(x=xh, b=bh, ref=np.zeros([0], np.float16), grad=0, axis=1, act=act, alpha=0.2,
                                  gain=1.0)
    got = cpu_session.run(outputs + [out_h])
    for (grad, shape, axis, bias, alpha, gain), y, want in zip(cases, got, expected):
        assert y.shape == tuple(shape) and y.dtype == np.float32
        np.testing.assert_allclose(y, want, rtol=2e-5, atol=2e-5 * max(1.0, np.abs(want).max()),
                                   err_msg="act=%s grad=%d shape=%s axis=%d bias=%s alpha=%g gain=%g"
                                           % (act_name, grad, shape, axis, bias, alpha, gain))
    want_h = np_fused_bias_act(xh.astype(np.float32), bh.astype(np.float32), None, 1, act, 0, 0.2, 1.0)
    assert got[-1].dtype == np.float16
    np.testing.assert_allclose(got[-1].astype(np.float64), want_h, rtol=2e-3, atol=2e-3 * max(1, np.abs(want_h).max()))


@needs_nvcc
@pytest.mark.parametrize("act_name", ["tanh", "sigmoid", "elu", "selu", "softplus", "swish", "lrelu"])
def test_fused_bias_act_gradient_modes_are_derivatives(plugins, cpu_session, act_name):
    """grad=1 is the derivative of grad=0 with respect to its input, and grad=2 the derivative of grad=1 with
    respect to ref (finite differences in float64 numpy through the kernel's own outputs)."""
    act, alpha, gain = ACTS[act_name], 0.3, 1.6
    op = plugins["fba"]["module"]
    rng = np.random.RandomState(0)
    h = rng.uniform(-2.5, 2.5, size=[200]).astype(np.float32)
    h = h[np.abs(h) > 0.1]  # away from kinks
    eps = 1e-2
    empty = np.zeros([0], np.float32)
    with tf.device("/cpu:0"):
        fwd = lambda v: op.fused_bias_act(x=v, b=empty, ref=empty, grad=0, act=act, alpha=alpha, gain=gain)
        y, yp, ym = fwd(h), fwd(h + eps), fwd(h - eps)
        ref = h if act == 9 else y
        ones = np.ones_like(h)
        g1 = op.fused_bias_act(x=ones, b=empty, ref=ref, grad=1, act=act, alpha=alpha, gain=gain)
        # d(grad=1 multiplier)/d(ref): perturb ref directly.
        r0 = h if act == 9 else cpu_session.run(y)
        g1p = op.fused_bias_act(x=ones, b=empty, ref=r0 + eps, grad=1, act=act, alpha=alpha, gain=gain)
        g1m = op.fused_bias_act(x=ones, b=empty, ref=r0 - eps, grad=1, act=act, alpha=alpha, gain=gain)
        g2 = op.fused_bias_act(x=ones, b=empty, ref=r0, grad=2, act=act, alpha=alpha, gain=gain)
    yp, ym, g1, g1p, g1m, g2 = cpu_session.run([yp, ym, g1, g1p, g1m, g2])
    np.testing.assert_allclose(g1, (yp.astype(np.float64) - ym) / (2 * eps), rtol=2e-2, atol=2e-2)
    fd2 = (g1p.astype(np.float64) - g1m) / (2 * eps)
    # The multipliers of lrelu/elu/selu jump at ref 0: compare away from it.
    keep = slice(None) if act == 9 else np.abs(r0 / gain) > 2 * eps
    np.testing.assert_allclose(g2[keep], fd2[keep], rtol=2e-2, atol=2e-2)


@needs_nvcc
def test_fused_bias_act_rejects_bad_inputs(plugins, cpu_session):
    op = plugins["fba"]["module"]
    x = np.ones([2, 3], np.float32)
    empty = np.zeros([0], np.float32)
    with tf.device("/cpu:0"):
        bad_bias = op.fused_bias_act(x=x, b=np.ones([2], np.float32), ref=empty, grad=0, axis=1, act=1)
        bad_ref = op.fused_bias_act(x=x, b=empty, ref=np.ones([3, 2], np.float32), grad=1, axis=1, act=4)
        bad_act = op.fused_bias_act(x=x, b=empty, ref=empty, grad=0, axis=1, act=42)
    with pytest.raises(tf.errors.InvalidArgumentError, match="b must be empty or a vector of x.shape"):
        cpu_session.run(bad_bias)
    with pytest.raises(tf.errors.InvalidArgumentError, match="ref must have x's shape"):
        cpu_session.run(bad_ref)
    with pytest.raises(tf.errors.InvalidArgumentError, match="act must be an activation code"):
        cpu_session.run(bad_act)


# --------------------------------------------------------------------------------------------------------------
# UpFirDn2D CPU kernel vs numpy.

UFD_CASES = [
    # major, inH, inW, minor, kH, kW, upx, upy, downx, downy, padx0, padx1, pady0, pady1
    (2, 6, 6, 1, 4, 4, 2, 2, 1, 1, 2, 1, 2, 1),  # upsample_2d
    (2, 8, 8, 1, 4, 4, 1, 1, 2, 2, 1, 1, 1, 1),  # downsample_2d
    (2, 6, 6, 3, 4, 4, 1, 1, 1, 1, 2, 1, 2, 1),  # filter_2d, minor 3
    (1, 5, 7, 2, 3, 5, 1, 1, 1, 1, 1, 3, 2, 0),  # non-square kernel
    (2, 7, 5, 1, 5, 2, 3, 2, 2, 3, 0, 4, 2, 1),  # up 3x2, down 2x3
    (1, 9, 8, 2, 3, 4, 1, 1, 1, 1, -2, -1, -1, -3),  # crops
    (2, 6, 7, 1, 2, 3, 2, 3, 3, 2, -1, 2, 3, -2),  # mixed pad/crop
    (1, 3, 3, 1, 6, 2, 1, 1, 1, 1, 1, 0, 4, 3),  # kernel larger than the input
    (1, 4, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0),  # identity
]


@needs_nvcc
def test_upfirdn_2d_cpu_kernel_matches_numpy(plugins, cpu_session):
    op = plugins["ufd"]["module"]
    rng = np.random.RandomState(1)
    outputs, expected = [], []
    with tf.device("/cpu:0"):
        for (n, ih, iw, m, kh, kw, upx, upy, dnx, dny, px0, px1, py0, py1) in UFD_CASES:
            x = rng.uniform(-1, 1, size=[n, ih, iw, m]).astype(np.float32)
            k = rng.uniform(-1, 1, size=[kh, kw]).astype(np.float32)
            params = dict(upx=upx, upy=upy, downx=dnx, downy=dny, padx0=px0, padx1=px1, pady0=py0, pady1=py1)
            y = op.up_fir_dn2d(x=x, k=k, **params)
            want = np_upfirdn_2d(x, k, **params)
            assert y.shape.as_list() == list(want.shape)  # static shape inference
            outputs.append(y)
            expected.append(want)
        xh = rng.uniform(-1, 1, size=[2, 5, 6, 2]).astype(np.float16)
        kh_ = rng.uniform(-1, 1, size=[3, 2]).astype(np.float16)
        yh = op.up_fir_dn2d(x=xh, k=kh_, upx=2, upy=1, downx=1, downy=2, padx0=1, padx1=0, pady0=2, pady1=1)
        want_h = np_upfirdn_2d(xh, kh_, 2, 1, 1, 2, 1, 0, 2, 1)
    got = cpu_session.run(outputs + [yh])
    for case, y, want in zip(UFD_CASES, got, expected):
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5, err_msg=str(case))
    assert got[-1].dtype == np.float16
    np.testing.assert_allclose(got[-1].astype(np.float64), want_h, rtol=5e-3, atol=5e-3)


@needs_nvcc
def test_upfirdn_2d_rejects_bad_configs(plugins, cpu_session):
    op = plugins["ufd"]["module"]
    x = np.ones([1, 4, 4, 1], np.float32)
    k = np.ones([3, 3], np.float32)
    with tf.device("/cpu:0"):
        # Output size < 1: rejected by shape inference when the graph is built (static shapes).
        with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="output height < 1"):
            op.up_fir_dn2d(x=x, k=k, pady0=-2, pady1=-1)
        with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=">= 1"):
            op.up_fir_dn2d(x=x, k=k, upx=0)
        # Unknown static shapes: the kernel itself rejects the configuration at run time.
        xp = tf.placeholder(tf.float32, [None, None, None, None])
        y = op.up_fir_dn2d(x=xp, k=k, padx0=-3, padx1=-1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="output width < 1"):
        cpu_session.run(y, {xp: x})


# --------------------------------------------------------------------------------------------------------------
# The CUDA harness and test_nvcc.cu build here (not run: no GPU needed); the harness's host path and check.py
# run here too.


@needs_nvcc
@pytest.mark.slow
def test_harness_and_test_nvcc_compile_and_host_check(tmp_path):
    exe = str(tmp_path / "harness")
    cmd = ["nvcc", "-O3", "--use_fast_math", "-std=c++17", "-gencode=arch=compute_90,code=[sm_90,compute_90]",
           "-I", OPS_DIR, os.path.join(HARNESS_DIR, "harness.cu"), "-o", exe]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    proc = subprocess.run(["nvcc", os.path.join(ROOT, "test_nvcc.cu"), "-o", str(tmp_path / "test_nvcc")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run([exe, str(out), "--host-only"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    proc = subprocess.run([sys.executable, os.path.join(HARNESS_DIR, "check.py"), str(out)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0 and "FAIL" not in proc.stdout, proc.stdout[-4000:]
    assert proc.stdout.count("PASS") > 100


# --------------------------------------------------------------------------------------------------------------
# impl='cuda' (the custom ops; CPU kernels here, GPU kernels on a GPU) against impl='ref' through the wrappers.


def _wrappers():
    try:
        from dnnlib.tflib.ops import fused_bias_act as fba_mod
        from dnnlib.tflib.ops import upfirdn_2d as ufd_mod
    except ImportError as e:  # pragma: no cover - only while the wrappers do not exist yet
        pytest.skip("op wrappers not importable: %s" % e)
    return fba_mod, ufd_mod


def _value_grad_grad(build, x_val, extra=()):
    """y = build(x); L1 = sum(y*w); g = dL1/dx (and /d extra); L2 = sum(g*w2); gg = dL2/dx (and /d extra)."""
    x = tf.constant(x_val)
    extra_t = [tf.constant(e) for e in extra]
    y = build(x, *extra_t)
    rng = np.random.RandomState(3)
    w = tf.constant(rng.uniform(-1, 1, size=y.shape.as_list()).astype(np.float32))
    g = tf.gradients(tf.reduce_sum(tf.nn.tanh(y) * w), [x] + extra_t)
    w2 = tf.constant(rng.uniform(-1, 1, size=x_val.shape).astype(np.float32))
    gg = tf.gradients(tf.reduce_sum(g[0] * w2), [x] + extra_t)
    gg = [t if t is not None else tf.zeros_like(v) for t, v in zip(gg, [x] + extra_t)]
    return [y] + g + gg


@needs_nvcc
@pytest.mark.parametrize("act_name", sorted(ACTS, key=ACTS.get))
def test_fused_bias_act_cuda_matches_ref_with_two_derivatives(plugins, cpu_session, act_name):
    fba_mod, _ = _wrappers()
    rng = np.random.RandomState(ACTS[act_name])
    b = rng.uniform(-0.5, 0.5, size=[3]).astype(np.float32)
    h = rng.uniform(-2, 2, size=[2, 3, 4, 5])
    h = np.where(np.abs(h) < 0.1, 0.5, h)  # away from the kinks of relu/lrelu/elu/selu
    x = (h - b.reshape(1, 3, 1, 1)).astype(np.float32)
    results = {}
    for impl in ("ref", "cuda"):
        results[impl] = cpu_session.run(_value_grad_grad(
            lambda xx, bb: fba_mod.fused_bias_act(xx, bb, axis=1, act=act_name, impl=impl), x, [b]))
    names = ["y", "dx", "db", "d2x", "d2b"]
    for name, r, c in zip(names, results["ref"], results["cuda"]):
        np.testing.assert_allclose(c, r, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(r).max()),
                                   err_msg="act=%s %s: impl='cuda' differs from impl='ref'" % (act_name, name))


@needs_nvcc
def test_fused_bias_act_cuda_matches_ref_nhwc_no_bias(plugins, cpu_session):
    fba_mod, _ = _wrappers()
    rng = np.random.RandomState(9)
    x = rng.uniform(-2, 2, size=[2, 4, 4, 6]).astype(np.float32)
    b = rng.uniform(-1, 1, size=[6]).astype(np.float32)
    outs = {}
    for impl in ("ref", "cuda"):
        outs[impl] = cpu_session.run([
            fba_mod.fused_bias_act(x, b, axis=-1, act="lrelu", impl=impl),
            fba_mod.fused_bias_act(x, None, act="softplus", gain=0.5, impl=impl),
            fba_mod.fused_bias_act(x, b, axis=3, act="elu", alpha=0.7, impl=impl),
        ])
    for r, c in zip(outs["ref"], outs["cuda"]):
        np.testing.assert_allclose(c, r, rtol=1e-5, atol=1e-5)


UFD_WRAPPER_CASES = [
    dict(upx=2, upy=2, padx0=2, padx1=1, pady0=2, pady1=1),
    dict(downx=2, downy=2, padx0=1, padx1=1, pady0=1, pady1=1),
    dict(padx0=-1, padx1=2, pady0=1, pady1=-2),
    dict(upx=3, upy=2, downx=2, downy=3, padx0=0, padx1=3, pady0=2, pady1=1),
]


@needs_nvcc
@pytest.mark.parametrize("case", range(len(UFD_WRAPPER_CASES)))
def test_upfirdn_2d_cuda_matches_ref_with_two_derivatives(plugins, cpu_session, case):
    _, ufd_mod = _wrappers()
    params = UFD_WRAPPER_CASES[case]
    rng = np.random.RandomState(case)
    x = rng.uniform(-1, 1, size=[2, 7, 6, 3]).astype(np.float32)
    k = rng.uniform(-1, 1, size=[4, 3]).astype(np.float32)  # non-square, asymmetric
    results = {}
    for impl in ("ref", "cuda"):
        results[impl] = cpu_session.run(_value_grad_grad(
            lambda xx: ufd_mod.upfirdn_2d(xx, k, impl=impl, **params), x))
    for name, r, c in zip(["y", "dx", "d2x"], results["ref"], results["cuda"]):
        assert c.shape == r.shape, (name, c.shape, r.shape)
        np.testing.assert_allclose(c, r, rtol=1e-4, atol=1e-5, err_msg="case %s %s" % (params, name))
