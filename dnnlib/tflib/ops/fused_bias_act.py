"""Fused bias + activation + gain: ``y = act(x + b) * gain`` in one op.

Two implementations with the same numerics:
  * ``ref``  -- plain TensorFlow ops; differentiable to any order; runs anywhere.
  * ``cuda`` -- the custom op in ``fused_bias_act.cu`` (built by nvcc on first use); first- and
    second-order gradients are provided here (R1 regularisation needs the second).
``impl='auto'`` picks ``cuda`` when a GPU is visible and the op builds, else ``ref``.
"""

import os

import numpy as np

from dnnlib.util import EasyDict
from dnnlib.tflib import custom_ops
from dnnlib.tflib.compat import tf

_CUDA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fused_bias_act.cu")

_SELU_SCALE = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772

# ref_kind: which tensor the cuda gradient kernel receives as `ref` -- the forward output 'y'
# (cheapest to keep around) or the pre-activation 'x' (swish cannot be inverted from y).
# zero_2nd_grad: piecewise-linear activations need no second-order kernel.
ACTIVATIONS = {
    "linear": EasyDict(
        func=lambda x, **_: x, def_alpha=None, def_gain=1.0, cuda_idx=1, ref_kind="y", zero_2nd_grad=True
    ),
    "relu": EasyDict(
        func=lambda x, **_: tf.nn.relu(x), def_alpha=None, def_gain=np.sqrt(2), cuda_idx=2, ref_kind="y",
        zero_2nd_grad=True,
    ),
    "lrelu": EasyDict(
        func=lambda x, alpha, **_: tf.where(x >= 0, x, x * alpha), def_alpha=0.2, def_gain=np.sqrt(2),
        cuda_idx=3, ref_kind="y", zero_2nd_grad=True,
    ),
    "tanh": EasyDict(
        func=lambda x, **_: tf.nn.tanh(x), def_alpha=None, def_gain=1.0, cuda_idx=4, ref_kind="y",
        zero_2nd_grad=False,
    ),
    "sigmoid": EasyDict(
        func=lambda x, **_: tf.nn.sigmoid(x), def_alpha=None, def_gain=1.0, cuda_idx=5, ref_kind="y",
        zero_2nd_grad=False,
    ),
    "elu": EasyDict(
        func=lambda x, alpha, **_: tf.where(x >= 0, x, alpha * (tf.exp(tf.minimum(x, 0.0)) - 1)),
        def_alpha=1.0, def_gain=1.0, cuda_idx=6, ref_kind="y", zero_2nd_grad=False,
    ),
    "selu": EasyDict(
        func=lambda x, **_: _SELU_SCALE * tf.where(x >= 0, x, _SELU_ALPHA * (tf.exp(tf.minimum(x, 0.0)) - 1)),
        def_alpha=None, def_gain=1.0, cuda_idx=7, ref_kind="y", zero_2nd_grad=False,
    ),
    "softplus": EasyDict(
        func=lambda x, **_: tf.nn.softplus(x), def_alpha=None, def_gain=1.0, cuda_idx=8, ref_kind="y",
        zero_2nd_grad=False,
    ),
    "swish": EasyDict(
        func=lambda x, **_: x * tf.nn.sigmoid(x), def_alpha=None, def_gain=np.sqrt(2), cuda_idx=9,
        ref_kind="x", zero_2nd_grad=False,
    ),
}


def _check_act(act):
    if act not in ACTIVATIONS:
        raise ValueError("unknown activation %r; choose one of: %s" % (act, ", ".join(sorted(ACTIVATIONS))))
    return ACTIVATIONS[act]


def fused_bias_act(x, b=None, axis=1, act="linear", alpha=None, gain=None, impl="auto"):
    """Add bias ``b`` along ``axis`` of ``x``, apply ``act``, scale by ``gain``.

    Args:
        x: tensor of any shape, float32 or float16.
        b: 1-D bias of length ``x.shape[axis]``, or None.
        axis: the axis of ``x`` that ``b`` runs along (1 for NCHW channels, -1/3 for NHWC).
        act: one of ``ACTIVATIONS``.
        alpha: activation shape parameter (lrelu slope, elu alpha); None -> the activation's default.
        gain: output scale; None -> the activation's default (sqrt(2) for relu/lrelu/swish, else 1).
        impl: 'auto' | 'cuda' | 'ref'.
    Returns:
        Tensor of the same shape and dtype as ``x``.
    """
    spec = _check_act(act)
    x = tf.convert_to_tensor(x)
    axis = axis % x.shape.rank if x.shape.rank is not None else axis
    alpha = float(alpha if alpha is not None else (spec.def_alpha or 0.0))
    gain = float(spec.def_gain if gain is None else gain)
    if b is not None:
        b = tf.convert_to_tensor(b, dtype=x.dtype)
        if b.shape.rank != 1:
            raise ValueError("fused_bias_act: bias must be 1-D, got shape %s" % (b.shape,))
    if custom_ops.resolve_impl(impl, _CUDA_FILE) == "cuda":
        return _fused_bias_act_cuda(x, b, axis, spec, alpha, gain)
    return _fused_bias_act_ref(x, b, axis, spec, alpha, gain)


def _bias_shape(rank, axis):
    return [-1 if i == axis else 1 for i in range(rank)]


def _fused_bias_act_ref(x, b, axis, spec, alpha, gain):
    """Plain-TF reference: differentiable to any order by TF itself."""
    if b is not None:
        x = x + tf.reshape(b, _bias_shape(x.shape.rank, axis))
    y = spec.func(x, alpha=alpha)
    if gain != 1:
        y = y * gain
    return y


def _fused_bias_act_cuda(x, b, axis, spec, alpha, gain):
    """Custom-op path; its gradients come from ``_fused_bias_act_grad`` registered below."""
    plugin = custom_ops.get_plugin(_CUDA_FILE)
    empty = tf.constant([], dtype=x.dtype)
    attrs = dict(axis=int(axis), act=int(spec.cuda_idx), alpha=alpha, gain=gain)
    if spec.ref_kind == "x":
        # swish: the derivative kernels read the pre-activation h, so form it with plain
        # (differentiable) TF ops and run the kernel without bias.
        h = x + tf.reshape(b, _bias_shape(x.shape.rank, axis)) if b is not None else x
        y = plugin.fused_bias_act(x=h, b=empty, ref=empty, grad=0, **attrs)
    else:
        y = plugin.fused_bias_act(x=x, b=b if b is not None else empty, ref=empty, grad=0, **attrs)
    y.set_shape(x.shape)
    return y


def _spec_by_cuda_idx(idx):
    return next(s for s in ACTIVATIONS.values() if s.cuda_idx == idx)


def _fused_bias_act_grad(op, dy):
    """Gradients of the FusedBiasAct op, for all three of its modes.

    Let h = x + b, y = gain * act(h), and r the tensor the kernels read derivatives from (r = y, or
    r = h for swish). grad=1 computes dx = dy * g(r) with g = gain * act'; grad=2 computes dy * dg/dr.
    Differentiating the grad=1 op with respect to r, and letting TF chain r back to x and b through
    the graph (r is this op's own output, or plain TF ops for swish), gives exact second
    derivatives without a third-order kernel.
    """
    mode = op.get_attr("grad")
    spec = _spec_by_cuda_idx(op.get_attr("act"))
    attrs = dict(axis=op.get_attr("axis"), act=op.get_attr("act"), alpha=op.get_attr("alpha"), gain=op.get_attr("gain"))
    plugin = custom_ops.get_plugin(_CUDA_FILE)
    x, b, ref = op.inputs
    empty = tf.constant([], dtype=x.dtype)
    if mode == 0:
        ref_new = op.outputs[0] if spec.ref_kind == "y" else x
        dx = plugin.fused_bias_act(x=dy, b=empty, ref=ref_new, grad=1, **attrs)
        axes = [i for i in range(x.shape.rank) if i != attrs["axis"]]
        db = tf.reduce_sum(dx, axis=axes) if b.shape.num_elements() != 0 else tf.zeros_like(b)
        return dx, db, tf.zeros_like(ref)
    if mode == 1:
        d_dy = plugin.fused_bias_act(x=dy, b=empty, ref=ref, grad=1, **attrs)
        if spec.zero_2nd_grad:
            d_ref = tf.zeros_like(ref)
        else:
            d_ref = plugin.fused_bias_act(x=dy * x, b=empty, ref=ref, grad=2, **attrs)
        return d_dy, tf.zeros_like(b), d_ref
    raise NotImplementedError("fused_bias_act: derivatives beyond the second order are not implemented for impl='cuda'")


try:
    tf.RegisterGradient("FusedBiasAct")(_fused_bias_act_grad)
except KeyError:  # already registered (module imported twice under another name)
    pass
