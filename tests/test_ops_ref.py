"""The reference (plain TF, impl='ref') paths of fused_bias_act and upfirdn_2d and the resampling
helpers, checked against the independent numpy implementations in ``tests/numpy_ref.py``.

Runs on the CPU under TF 1.15 and TF 2.x (graph mode through ``tensorflow.compat.v1``).
"""

import math

import numpy as np
import pytest

from dnnlib.tflib.compat import TF_MAJOR, tf
from dnnlib.tflib.ops import upfirdn_2d as ufd
from dnnlib.tflib.ops.fused_bias_act import ACTIVATIONS, fused_bias_act
from tests import numpy_ref as R

ACTS = R.ACT_NAMES


@pytest.fixture
def sess():
    """A fresh graph and one session for the whole test."""
    graph = tf.Graph()
    config = tf.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
    with graph.as_default(), tf.Session(graph=graph, config=config) as session:
        yield session


def _rng(*tags):
    # Stable per-test seed (not Python's salted hash).
    return np.random.RandomState(sum((i + 1) * ord(c) for i, c in enumerate("/".join(map(str, tags)))) % (2 ** 31))


def _zeros_if_none(grads, like):
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, like)]


# ----------------------------------------------------------------------------------------------
# fused_bias_act

# (name, shape, axis): NCHW-like (axis 1), NHWC-like (axis -1 and 3), dense [N, C] (axis 1).
LAYOUTS = [
    ("nchw", (2, 3, 4, 5), 1),
    ("nhwc_neg", (2, 4, 5, 3), -1),
    ("nhwc_3", (2, 4, 5, 3), 3),
    ("dense", (4, 6), 1),
]

# alpha/gain pairs besides the defaults. alpha is only read by lrelu and elu.
CUSTOM = [(0.1, 0.7), (0.5, 1.0), (None, 2.5)]


def _preact(rng, shape):
    """Pre-activations with |z| in [0.05, 3]: clear of the kinks of relu/lrelu/elu/selu at 0."""
    mag = rng.uniform(0.05, 3.0, size=shape)
    return mag * np.where(rng.rand(*shape) < 0.5, -1.0, 1.0)


def _inputs(rng, shape, axis, with_bias):
    """x, b such that x + b has the magnitudes of ``_preact``."""
    z = _preact(rng, shape)
    if not with_bias:
        return z, None
    c = shape[axis]
    b = rng.uniform(-1.0, 1.0, size=c)
    bshape = [1] * len(shape)
    bshape[axis] = c
    return z - b.reshape(bshape), b


def _fba_configs():
    configs = []
    for name, shape, axis in LAYOUTS:
        for with_bias in (False, True):
            configs.append((name, shape, axis, with_bias, None, None))
    for alpha, gain in CUSTOM:
        configs.append(("nchw", (2, 3, 4, 5), 1, True, alpha, gain))
        configs.append(("nhwc_neg", (2, 4, 5, 3), -1, True, alpha, gain))
    return configs


def test_activation_table_matches_documented_defaults():
    assert sorted(ACTIVATIONS) == ACTS
    for name in ACTS:
        assert ACTIVATIONS[name].def_gain == pytest.approx(R.DEFAULT_GAIN[name]), name
    assert ACTIVATIONS["lrelu"].def_alpha == pytest.approx(0.2)
    assert ACTIVATIONS["elu"].def_alpha == pytest.approx(1.0)


@pytest.mark.parametrize("act", ACTS)
def test_fused_bias_act_values(sess, act):
    rng = _rng("values", act)
    for dtype in (np.float32, np.float64):
        for name, shape, axis, with_bias, alpha, gain in _fba_configs():
            x, b = _inputs(rng, shape, axis, with_bias)
            y = fused_bias_act(
                tf.constant(x, dtype=dtype), None if b is None else tf.constant(b, dtype=dtype),
                axis=axis, act=act, alpha=alpha, gain=gain, impl="ref",
            )
            assert y.dtype.as_numpy_dtype == dtype
            assert y.shape.as_list() == list(shape)
            got = sess.run(y)
            want = R.bias_act(x, b, axis, act, alpha, gain)
            tol = 2e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg="%s %s" % (act, (name, with_bias, alpha, gain)))


def _fd_configs():
    # Fewer configs for the derivative tests: both axis conventions, with/without bias, custom alpha/gain.
    return [
        ("nchw", (2, 3, 4, 5), 1, True, None, None),
        ("nhwc_neg", (2, 4, 5, 3), -1, True, None, None),
        ("nhwc_3", (2, 4, 5, 3), 3, False, None, None),
        ("dense", (4, 6), 1, True, 0.1, 0.7),
    ]


@pytest.mark.parametrize("act", ACTS)
def test_fused_bias_act_derivatives(sess, act):
    """First and second derivatives w.r.t. x and b, in float64 (the ref path accepts float64), vs the
    analytic numpy derivatives and vs central finite differences (step 1e-5: truncation error
    ~1e-10 * |f'''|, round-off ~1e-16 * |f| / 1e-5 ~ 1e-11 per element)."""
    rng = _rng("derivs", act)
    step = 1e-5
    for name, shape, axis, with_bias, alpha, gain in _fd_configs():
        x_np, b_np = _inputs(rng, shape, axis, with_bias)
        dy_np = rng.randn(*shape)  # weights of the first-order objective
        v_np = rng.randn(*shape)  # weights of the second-order objective
        x = tf.placeholder(tf.float64, shape)
        b = tf.placeholder(tf.float64, [shape[axis]]) if with_bias else None
        y = fused_bias_act(x, b, axis=axis, act=act, alpha=alpha, gain=gain, impl="ref")
        wrt = [x] + ([b] if with_bias else [])
        loss1 = tf.reduce_sum(y * dy_np)
        g = _zeros_if_none(tf.gradients(loss1, wrt), wrt)
        loss2 = tf.reduce_sum(g[0] * v_np)
        gg = _zeros_if_none(tf.gradients(loss2, wrt), wrt)

        def feed(xv, bv=b_np):
            d = {x: xv}
            if with_bias:
                d[b] = bv
            return d

        msg = "%s %s" % (act, (name, with_bias, alpha, gain))
        got = sess.run([y, loss1, loss2] + g + gg, feed(x_np))
        got_g, got_gg = got[3:3 + len(wrt)], got[3 + len(wrt):]

        # Analytic.
        d1 = R.bias_act(x_np, b_np, axis, act, alpha, gain, order=1)
        d2 = R.bias_act(x_np, b_np, axis, act, alpha, gain, order=2)
        np.testing.assert_allclose(got_g[0], dy_np * d1, rtol=1e-10, atol=1e-12, err_msg="dx " + msg)
        np.testing.assert_allclose(got_gg[0], v_np * dy_np * d2, rtol=1e-10, atol=1e-12, err_msg="d2x " + msg)
        if with_bias:
            np.testing.assert_allclose(got_g[1], R.reduce_to_axis(dy_np * d1, axis), rtol=1e-10, atol=1e-12, err_msg="db " + msg)
            np.testing.assert_allclose(
                got_gg[1], R.reduce_to_axis(v_np * dy_np * d2, axis), rtol=1e-10, atol=1e-12, err_msg="d2b " + msg
            )

        # Finite differences. The op is elementwise, so shifting every element of x at once gives
        # every diagonal derivative in one pair of evaluations.
        yp, gp = sess.run([y, g[0]], feed(x_np + step))
        ym, gm = sess.run([y, g[0]], feed(x_np - step))
        np.testing.assert_allclose(dy_np * (yp - ym) / (2 * step), got_g[0], rtol=1e-6, atol=1e-8, err_msg="fd dx " + msg)
        np.testing.assert_allclose(v_np * (gp - gm) / (2 * step), got_gg[0], rtol=1e-6, atol=1e-8, err_msg="fd d2x " + msg)
        if with_bias:
            fd_b, fd_bb = np.zeros(shape[axis]), np.zeros(shape[axis])
            for c in range(shape[axis]):
                e = np.zeros(shape[axis])
                e[c] = step
                lp, l2p = sess.run([loss1, loss2], feed(x_np, b_np + e))
                lm, l2m = sess.run([loss1, loss2], feed(x_np, b_np - e))
                fd_b[c], fd_bb[c] = (lp - lm) / (2 * step), (l2p - l2m) / (2 * step)
            # loss2 = sum(v * dL1/dx) is a function of b, and d(loss2)/db is exactly what gg[1] is.
            np.testing.assert_allclose(fd_b, got_g[1], rtol=1e-6, atol=1e-7, err_msg="fd db " + msg)
            np.testing.assert_allclose(fd_bb, got_gg[1], rtol=1e-6, atol=1e-7, err_msg="fd d2b " + msg)


def test_fused_bias_act_float32_gradient(sess):
    """The float32 graph differentiates too (analytic check only; FD in float32 is too noisy)."""
    rng = _rng("f32grad")
    x_np, b_np = _inputs(rng, (2, 3, 4, 5), 1, True)
    for act in ACTS:
        x = tf.constant(x_np, tf.float32)
        b = tf.constant(b_np, tf.float32)
        y = fused_bias_act(x, b, act=act, impl="ref")
        gx, gb = sess.run(tf.gradients(tf.reduce_sum(y), [x, b]))
        d1 = R.bias_act(x_np, b_np, 1, act, order=1)
        np.testing.assert_allclose(gx, d1, rtol=1e-5, atol=1e-5, err_msg=act)
        np.testing.assert_allclose(gb, R.reduce_to_axis(d1, 1), rtol=1e-5, atol=1e-4, err_msg=act)


def test_fused_bias_act_unknown_activation():
    with tf.Graph().as_default():
        with pytest.raises(ValueError) as info:
            fused_bias_act(tf.zeros([2, 3]), act="gelu_bogus", impl="ref")
    msg = str(info.value)
    assert "gelu_bogus" in msg
    for name in ACTS:
        assert name in msg, "choice %r not listed in %r" % (name, msg)


def test_fused_bias_act_rejects_non_1d_bias():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="1-D"):
            fused_bias_act(tf.zeros([2, 3]), b=tf.zeros([1, 3]), act="relu", impl="ref")


# ----------------------------------------------------------------------------------------------
# upfirdn_2d

# (id, x shape [major, H, W, minor], kernel shape, params)
UPFIRDN_CASES = [
    ("plain_3x3", (1, 5, 6, 1), (3, 3), dict()),
    ("up2_pads", (2, 4, 5, 3), (4, 4), dict(upx=2, upy=2, padx0=2, padx1=1, pady0=2, pady1=1)),
    ("down2", (1, 8, 7, 2), (3, 3), dict(downx=2, downy=2, padx0=1, padx1=1, pady0=1, pady1=1)),
    ("up_down_mixed_3x5", (2, 5, 6, 1), (3, 5), dict(upx=3, upy=2, downx=2, downy=3, padx0=1, padx1=2, pady1=1)),
    ("pos_pads_asym_2x3", (1, 5, 4, 2), (2, 3), dict(padx0=3, pady1=2)),
    ("neg_pads_crop", (2, 7, 8, 1), (3, 2), dict(padx0=-2, padx1=-1, pady0=-1, pady1=-3)),
    ("mixed_sign_pads_1x4_upx", (1, 4, 5, 2), (1, 4), dict(upx=2, padx0=-3, padx1=2, pady0=1, pady1=-2)),
    ("kernel_1x4_downx3", (3, 6, 9, 2), (1, 4), dict(downx=3, padx0=1, padx1=2)),
    ("kernel_5x1_upy3_downy2", (1, 3, 4, 4), (5, 1), dict(upy=3, downy=2, pady0=2, pady1=2)),
    ("major4_minor3_up2_down3", (4, 5, 5, 3), (3, 3), dict(upx=2, upy=2, downx=3, downy=3, padx0=1, padx1=1, pady0=1, pady1=1)),
]


def _params(p):
    full = dict(upx=1, upy=1, downx=1, downy=1, padx0=0, padx1=0, pady0=0, pady1=0)
    full.update(p)
    return full


def test_numpy_upfirdn_pipeline_matches_index_formula():
    """Self-check of the reference: the explicit pipeline equals the explicit operator tensor."""
    for case_id, xshape, kshape, p in UPFIRDN_CASES:
        rng = _rng("self", case_id)
        x, k = rng.randn(*xshape), rng.randn(*kshape)
        t = R.upfirdn_2d_matrix(xshape[1], xshape[2], k, **_params(p))
        np.testing.assert_allclose(R.upfirdn_2d(x, k, **p), R.apply_matrix(t, x), atol=1e-12, err_msg=case_id)


@pytest.mark.parametrize("case", UPFIRDN_CASES, ids=[c[0] for c in UPFIRDN_CASES])
def test_upfirdn_2d_forward_and_gradient(sess, case):
    case_id, xshape, kshape, p = case
    rng = _rng("upfirdn", case_id)
    x_np = rng.randn(*xshape)
    k = rng.randn(*kshape)  # asymmetric: flipped and unflipped kernels give different results
    full = _params(p)
    want = R.upfirdn_2d(x_np, k, **p)
    t = R.upfirdn_2d_matrix(xshape[1], xshape[2], k, **full)
    out_h = R.upfirdn_out_size(xshape[1], full["upy"], full["downy"], full["pady0"], full["pady1"], kshape[0])
    out_w = R.upfirdn_out_size(xshape[2], full["upx"], full["downx"], full["padx0"], full["padx1"], kshape[1])
    assert want.shape == (xshape[0], out_h, out_w, xshape[3])

    x = tf.constant(x_np, tf.float32)
    y = ufd.upfirdn_2d(x, k, impl="ref", **p)
    assert y.shape.as_list() == list(want.shape)
    dy_np = rng.randn(*want.shape)
    (dx,) = tf.gradients(tf.reduce_sum(y * tf.constant(dy_np, tf.float32)), [x])
    got, got_dx = sess.run([y, dx])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(got_dx, R.apply_matrix_adjoint(t, dy_np), rtol=1e-5, atol=2e-5)


def test_upfirdn_2d_is_true_convolution(sess):
    """Impulse response with full padding is the kernel itself, not its mirror image."""
    k = np.arange(1.0, 7.0).reshape(2, 3)
    x = np.zeros((1, 4, 5, 1))
    x[0, 1, 2, 0] = 1.0
    y = sess.run(ufd.upfirdn_2d(tf.constant(x, tf.float32), k, padx0=2, padx1=2, pady0=1, pady1=1, impl="ref"))
    expect = np.zeros((5, 7))
    expect[1:3, 2:5] = k
    np.testing.assert_allclose(y[0, :, :, 0], expect, atol=1e-6)
    np.testing.assert_allclose(R.upfirdn_2d(x, k, padx0=2, padx1=2, pady0=1, pady1=1)[0, :, :, 0], expect, atol=1e-12)


def test_upfirdn_2d_float64(sess):
    rng = _rng("f64")
    x, k = rng.randn(2, 5, 6, 2), rng.randn(3, 2)
    p = dict(upx=2, downy=2, padx0=1, pady0=-1, pady1=2)
    y = ufd.upfirdn_2d(tf.constant(x, tf.float64), k, impl="ref", **p)
    assert y.dtype == tf.float64
    np.testing.assert_allclose(sess.run(y), R.upfirdn_2d(x, k, **p), rtol=1e-6, atol=1e-6)


UPFIRDN_ERRORS = [
    ("crop_everything_y", dict(pady0=-4, pady1=10), "bad pad spec along y.*removes the whole signal"),
    ("crop_everything_x", dict(padx0=12, padx1=-8), "bad pad spec along x.*removes the whole signal"),
    ("too_small_y", dict(pady0=-2, pady1=-1), "bad pad spec along y.*fewer than the kernel"),
    ("too_small_x_up", dict(upx=2, padx0=-3, padx1=-4), "bad pad spec along x.*fewer than the kernel"),
    ("upx_zero", dict(upx=0), "upx must be >= 1"),
    ("upy_zero", dict(upy=0), "upy must be >= 1"),
    ("downx_zero", dict(downx=0), "downx must be >= 1"),
    ("downy_negative", dict(downy=-1), "downy must be >= 1"),
    ("pad_not_int", dict(padx0=1.5), "padx0 must be an integer"),
]


@pytest.mark.parametrize("case", UPFIRDN_ERRORS, ids=[c[0] for c in UPFIRDN_ERRORS])
def test_upfirdn_2d_bad_arguments(case):
    _, p, pattern = case
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=pattern):
            ufd.upfirdn_2d(tf.zeros([1, 4, 4, 1]), np.ones((3, 3)), impl="ref", **p)


@pytest.mark.parametrize("kernel", [np.ones(3), np.ones((2, 2, 2)), np.ones((0, 3))], ids=["1d", "3d", "empty"])
def test_upfirdn_2d_bad_kernel(kernel):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="2-D"):
            ufd.upfirdn_2d(tf.zeros([1, 4, 4, 1]), kernel, impl="ref")


def test_helpers_bad_arguments():
    with tf.Graph().as_default():
        x = tf.zeros([1, 2, 8, 8])
        with pytest.raises(ValueError, match="data_format"):
            ufd.upsample_2d(x, data_format="NCWH", impl="ref")
        with pytest.raises(ValueError, match="data_format"):
            ufd.filter_2d(x, [1, 2, 1], data_format="nhwc", impl="ref")
        with pytest.raises(ValueError, match="factor"):
            ufd.downsample_2d(x, factor=0, impl="ref")
        with pytest.raises(ValueError, match="sum to zero"):
            ufd.filter_2d(x, [1, -1], impl="ref")


# ----------------------------------------------------------------------------------------------
# Resampling helpers

ASYM_3x3 = [[1.0, 2.0, 0.5], [0.0, 3.0, 1.0], [0.25, 0.0, 2.0]]

# (id, helper name, numpy reference, kwargs, NHWC input shape)
HELPER_CASES = [
    ("filter_121", "filter_2d", R.filter_2d, dict(k=[1, 2, 1]), (2, 6, 7, 3)),
    ("filter_1331_gain2", "filter_2d", R.filter_2d, dict(k=[1, 3, 3, 1], gain=2.0), (2, 6, 7, 3)),
    ("filter_asym_2d", "filter_2d", R.filter_2d, dict(k=ASYM_3x3), (1, 5, 6, 2)),
    ("up2_box", "upsample_2d", R.upsample_2d, dict(), (2, 4, 6, 3)),
    ("up4_box", "upsample_2d", R.upsample_2d, dict(factor=4, gain=0.5), (1, 3, 4, 2)),
    ("up2_1331", "upsample_2d", R.upsample_2d, dict(k=[1, 3, 3, 1]), (2, 4, 6, 3)),
    ("up4_1331", "upsample_2d", R.upsample_2d, dict(k=[1, 3, 3, 1], factor=4), (1, 3, 4, 2)),
    ("up2_121_gain3", "upsample_2d", R.upsample_2d, dict(k=[1, 2, 1], gain=3.0), (1, 4, 5, 2)),
    ("up3_1221", "upsample_2d", R.upsample_2d, dict(k=[1, 2, 2, 1], factor=3), (1, 3, 4, 2)),
    ("down2_box", "downsample_2d", R.downsample_2d, dict(), (2, 8, 12, 3)),
    ("down4_box", "downsample_2d", R.downsample_2d, dict(factor=4), (2, 8, 12, 3)),
    ("down2_1331", "downsample_2d", R.downsample_2d, dict(k=[1, 3, 3, 1]), (2, 8, 12, 3)),
    ("down4_1331_gain3", "downsample_2d", R.downsample_2d, dict(k=[1, 3, 3, 1], factor=4, gain=3.0), (2, 8, 12, 3)),
    ("down2_121", "downsample_2d", R.downsample_2d, dict(k=[1, 2, 1]), (1, 8, 6, 2)),
    ("down3_1221", "downsample_2d", R.downsample_2d, dict(k=[1, 2, 2, 1], factor=3), (1, 9, 6, 2)),
]


def _expected_shape(helper, kwargs, shape):
    n, h, w, c = shape
    f = kwargs.get("factor", 2)
    if helper == "upsample_2d":
        return (n, h * f, w * f, c)
    if helper == "downsample_2d":
        return (n, h // f, w // f, c)
    return shape


@pytest.mark.parametrize("case", HELPER_CASES, ids=[c[0] for c in HELPER_CASES])
def test_resample_helpers(sess, case):
    case_id, helper, ref, kwargs, shape = case
    rng = _rng("helper", case_id)
    x_np = rng.randn(*shape)
    want = ref(x_np, **kwargs)
    assert want.shape == _expected_shape(helper, kwargs, shape)
    fn = getattr(ufd, helper)
    y_nhwc = fn(tf.constant(x_np, tf.float32), data_format="NHWC", impl="ref", **kwargs)
    y_nchw = fn(tf.constant(R.nchw(x_np), tf.float32), data_format="NCHW", impl="ref", **kwargs)
    assert y_nhwc.shape.as_list() == list(want.shape)
    assert y_nchw.shape.as_list() == list(R.nchw(want).shape)
    got_nhwc, got_nchw = sess.run([y_nhwc, y_nchw])
    np.testing.assert_allclose(got_nhwc, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(R.nhwc(got_nchw), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(R.nhwc(got_nchw), got_nhwc, rtol=1e-6, atol=1e-6)


# Constant images stay constant away from the border (times gain). For upsampling this needs every
# polyphase component of the kernel to sum to the same value: true for box kernels and for
# [1,3,3,1] at factor 2 (but not [1,3,3,1] at factor 4).
CONSTANT_CASES = [
    ("filter_2d", dict(k=[1, 3, 3, 1], gain=2.0), 2),
    ("filter_2d", dict(k=[1, 2, 1]), 1),
    ("upsample_2d", dict(gain=0.5), 0),
    ("upsample_2d", dict(factor=4), 0),
    ("upsample_2d", dict(k=[1, 3, 3, 1], gain=3.0), 1),
    ("downsample_2d", dict(k=[1, 3, 3, 1], gain=1.5), 1),
    ("downsample_2d", dict(k=[1, 3, 3, 1], factor=4), 0),
    ("downsample_2d", dict(factor=4, gain=2.0), 0),
]


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_constant_image_stays_constant(sess, data_format):
    value = 1.75
    shape = [1, 2, 8, 8] if data_format == "NCHW" else [1, 8, 8, 2]
    ops = [getattr(ufd, h)(tf.fill(shape, value), data_format=data_format, impl="ref", **kw) for h, kw, _ in CONSTANT_CASES]
    for (helper, kwargs, margin), out in zip(CONSTANT_CASES, sess.run(ops)):
        out = R.nhwc(out) if data_format == "NCHW" else out
        if margin:
            out = out[:, margin:-margin, margin:-margin, :]
        np.testing.assert_allclose(out, value * kwargs.get("gain", 1.0), rtol=1e-5, err_msg="%s %s" % (helper, kwargs))


def test_resampling_alignment_on_ramps(sess):
    """Closed-form expectations (independent of numpy_ref): pixel centres of the fine grid sit at
    (j + 0.5) / f - 0.5 on the coarse grid, and the box kernels are nearest/block-mean."""
    rng = _rng("ramps")
    ramp = np.tile(np.arange(8.0)[None, :, None, None], [1, 1, 8, 1])  # value = row index
    small = rng.randn(1, 4, 6, 2)
    big = rng.randn(1, 8, 12, 2)
    c = lambda a: tf.constant(a, tf.float32)  # noqa: E731
    ops = dict(
        up_1331=ufd.upsample_2d(c(ramp), [1, 3, 3, 1], data_format="NHWC", impl="ref"),
        down_1331=ufd.downsample_2d(c(ramp), [1, 3, 3, 1], data_format="NHWC", impl="ref"),
        down_box=ufd.downsample_2d(c(ramp), data_format="NHWC", impl="ref"),
        filter_121=ufd.filter_2d(c(ramp), [1, 2, 1], data_format="NHWC", impl="ref"),
        up_box=ufd.upsample_2d(c(small), data_format="NHWC", impl="ref"),
        up4_box=ufd.upsample_2d(c(small), factor=4, data_format="NHWC", impl="ref"),
        down_box_rand=ufd.downsample_2d(c(big), data_format="NHWC", impl="ref"),
        down4_box_rand=ufd.downsample_2d(c(big), factor=4, data_format="NHWC", impl="ref"),
    )
    got = sess.run(ops)
    j = np.arange(16.0)
    # Interior only: the borders see the zero padding.
    np.testing.assert_allclose(got["up_1331"][0, 2:-2, 3, 0], (j / 2 - 0.25)[2:-2], atol=1e-5)
    np.testing.assert_allclose(got["down_1331"][0, 1:-1, 1, 0], (2 * np.arange(4.0) + 0.5)[1:-1], atol=1e-5)
    np.testing.assert_allclose(got["down_box"][0, :, 3, 0], 2 * np.arange(4.0) + 0.5, atol=1e-5)
    np.testing.assert_allclose(got["filter_121"][0, 1:-1, 3, 0], np.arange(1.0, 7.0), atol=1e-5)
    np.testing.assert_allclose(got["up_box"], small.repeat(2, 1).repeat(2, 2), atol=1e-5)
    np.testing.assert_allclose(got["up4_box"], small.repeat(4, 1).repeat(4, 2), atol=1e-5)
    np.testing.assert_allclose(got["down_box_rand"], big.reshape(1, 4, 2, 6, 2, 2).mean(axis=(2, 4)), atol=1e-5)
    np.testing.assert_allclose(got["down4_box_rand"], big.reshape(1, 2, 4, 3, 4, 2).mean(axis=(2, 4)), atol=1e-5)
    # The numpy reference obeys the same closed forms.
    np.testing.assert_allclose(R.upsample_2d(ramp, [1, 3, 3, 1])[0, 2:-2, 3, 0], (j / 2 - 0.25)[2:-2], atol=1e-12)
    np.testing.assert_allclose(R.downsample_2d(ramp, [1, 3, 3, 1])[0, 1:-1, 1, 0], [2.5, 4.5], atol=1e-12)
    np.testing.assert_allclose(R.upsample_2d(small), small.repeat(2, 1).repeat(2, 2), atol=1e-12)
    np.testing.assert_allclose(R.downsample_2d(big, factor=4), big.reshape(1, 2, 4, 3, 4, 2).mean(axis=(2, 4)), atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Fused conv helpers
#
# upsample_conv_2d claims == upsample_2d + 'SAME' conv2d and conv_downsample_2d claims == 'SAME'
# conv2d + downsample_2d. A fused implementation cannot see the truncation of the intermediate
# image at its border, so the literal compositions are only matched away from the border unless
# the FIR has no tail there (box kernels) or the conv has no reach (1x1). The numpy
# ``*_untruncated`` references model the fused computation everywhere; the literal compositions
# are checked on the interior (the border pixels listed by ``_border``).


def _border(helper, kwargs, conv_k, in_hw):
    """(rows/cols at each edge where the literal composition may differ from the fused op)."""
    if conv_k == 1:
        return 0
    f = kwargs.get("factor", 2)
    k = kwargs.get("k")
    kh = f if k is None else len(k)
    if kh == f:  # box kernel: exact everywhere
        return 0
    if helper == "upsample_conv_2d":
        return (conv_k - 1) // 2
    # conv_downsample_2d: coarse pixel q reads the conv output at q*f + off - (kh-1) .. q*f + off.
    off = (kh + f - 2) // 2
    lo = -(-max(kh - 1 - off, 0) // f)
    hi = sum(1 for q in range(in_hw // f) if q * f + off >= in_hw)
    return max(lo, hi)


CONV_CASES = [
    ("up2_box_3x3", "upsample_conv_2d", dict(), 3),
    ("up2_box_1x1", "upsample_conv_2d", dict(gain=2.0), 1),
    ("up2_1331_3x3", "upsample_conv_2d", dict(k=[1, 3, 3, 1]), 3),
    ("up2_1331_1x1", "upsample_conv_2d", dict(k=[1, 3, 3, 1], gain=0.5), 1),
    ("up2_1331_5x5", "upsample_conv_2d", dict(k=[1, 3, 3, 1]), 5),
    ("up4_box_3x3", "upsample_conv_2d", dict(factor=4), 3),
    ("up3_1221_1x1", "upsample_conv_2d", dict(k=[1, 2, 2, 1], factor=3), 1),
    ("down2_box_3x3", "conv_downsample_2d", dict(), 3),
    ("down2_box_1x1", "conv_downsample_2d", dict(gain=2.0), 1),
    ("down2_1331_3x3", "conv_downsample_2d", dict(k=[1, 3, 3, 1]), 3),
    ("down2_1331_1x1", "conv_downsample_2d", dict(k=[1, 3, 3, 1], gain=0.5), 1),
    ("down2_1331_5x5", "conv_downsample_2d", dict(k=[1, 3, 3, 1]), 5),
    ("down4_1331_3x3", "conv_downsample_2d", dict(k=[1, 3, 3, 1], factor=4), 3),
]

_NCHW_CONV_SKIP = "TF %d.x CPU conv2d/conv2d_transpose reject NCHW (only TF >= 2 supports it on the CPU)" % TF_MAJOR


def _conv_case_data(case_id, helper, conv_k):
    rng = _rng("conv", case_id)
    shape = (2, 4, 6, 3) if helper == "upsample_conv_2d" else (2, 8, 12, 3)
    return rng.randn(*shape), rng.randn(conv_k, conv_k, 3, 2)  # non-symmetric conv weights


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_helpers_nhwc(sess, case):
    case_id, helper, kwargs, conv_k = case
    x_np, w_np = _conv_case_data(case_id, helper, conv_k)
    literal = getattr(R, helper)(x_np, w_np, **kwargs)
    fused = getattr(R, helper + "_untruncated")(x_np, w_np, **kwargs)
    y = getattr(ufd, helper)(tf.constant(x_np, tf.float32), tf.constant(w_np, tf.float32), data_format="NHWC", impl="ref", **kwargs)
    assert y.shape.as_list() == list(literal.shape)
    got = sess.run(y)
    m = _border(helper, kwargs, conv_k, x_np.shape[1])
    inner = (slice(None), slice(m, got.shape[1] - m), slice(m, got.shape[2] - m))
    assert got[inner].size > 0
    np.testing.assert_allclose(got[inner], literal[inner], rtol=1e-4, atol=1e-4, err_msg="vs the literal composition")
    np.testing.assert_allclose(got, fused, rtol=1e-4, atol=1e-4, err_msg="vs the untruncated composition")


@pytest.mark.skipif(TF_MAJOR < 2, reason=_NCHW_CONV_SKIP)
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_helpers_nchw(sess, case):
    case_id, helper, kwargs, conv_k = case
    x_np, w_np = _conv_case_data(case_id, helper, conv_k)
    fn = getattr(ufd, helper)
    w = tf.constant(w_np, tf.float32)
    y_nchw = fn(tf.constant(R.nchw(x_np), tf.float32), w, data_format="NCHW", impl="ref", **kwargs)
    y_nhwc = fn(tf.constant(x_np, tf.float32), w, data_format="NHWC", impl="ref", **kwargs)
    fused = getattr(R, helper + "_untruncated")(x_np, w_np, **kwargs)
    assert y_nchw.shape.as_list() == list(R.nchw(fused).shape)
    got_nchw, got_nhwc = sess.run([y_nchw, y_nhwc])
    np.testing.assert_allclose(R.nhwc(got_nchw), fused, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(R.nhwc(got_nchw), got_nhwc, rtol=1e-5, atol=1e-5)


def test_conv_helpers_reject_bad_weights():
    with tf.Graph().as_default():
        x = tf.zeros([1, 4, 4, 3])
        with pytest.raises(ValueError, match="square"):
            ufd.upsample_conv_2d(x, tf.zeros([3, 1, 3, 2]), data_format="NHWC", impl="ref")
        with pytest.raises(ValueError, match="k_h, k_w, in_channels, out_channels"):
            ufd.conv_downsample_2d(x, tf.zeros([3, 3, 3]), data_format="NHWC", impl="ref")


def test_numpy_conv2d_reference():
    """Self-check of numpy_ref.conv2d: a one-hot weight is a shift (cross-correlation, TF SAME pads)."""
    rng = _rng("conv2d_self")
    x = rng.randn(1, 5, 6, 1)
    w = np.zeros((3, 3, 1, 1))
    w[0, 2, 0, 0] = 1.0  # reads x[i - 1, j + 1]
    y = R.conv2d(x, w, "SAME")
    np.testing.assert_allclose(y[0, 1:, :-1, 0], x[0, :-1, 1:, 0])
    assert np.all(y[0, 0, :, 0] == 0) and np.all(y[0, :, -1, 0] == 0)
    assert R.conv2d(x, w, "VALID").shape == (1, 3, 4, 1)
    assert math.isclose(R.bias_act(np.array([0.3]), act="swish", gain=1.0)[0], 0.3 / (1 + math.exp(-0.3)))
