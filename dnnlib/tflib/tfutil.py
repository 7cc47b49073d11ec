"""Small TensorFlow graph-mode helpers: sessions, variables, scopes, image conversion, devices."""

import contextlib
import os

import numpy as np

from dnnlib.tflib.compat import tf

__all__ = [
    "run", "is_tf_expression", "shape_to_list", "flatten", "log2", "exp2", "lerp", "lerp_clip",
    "absolute_name_scope", "absolute_variable_scope", "create_session", "init_tf", "assert_tf_initialized",
    "session_devices", "tower_devices", "gpu_visible", "init_uninitialized_vars", "set_vars",
    "convert_images_from_uint8", "convert_images_to_uint8", "ancestor_ops",
]


def run(*args, **kwargs):
    """``tf.get_default_session().run(...)``; fails clearly when no session is open."""
    assert_tf_initialized()
    return tf.get_default_session().run(*args, **kwargs)


def ancestor_ops(fetches):
    """The set of ops that evaluating ``fetches`` (tensors and/or ops) runs: the fetches' ops and,
    transitively, their inputs' ops and control inputs."""
    seen, stack = set(), [f if isinstance(f, tf.Operation) else f.op for f in fetches]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


def is_tf_expression(x):
    return isinstance(x, (tf.Tensor, tf.Variable, tf.Operation))


def shape_to_list(shape):
    """TensorShape or list -> list of ints / None."""
    return [getattr(dim, "value", dim) for dim in shape]


def flatten(x):
    with tf.name_scope("Flatten"):
        return tf.reshape(x, [-1])


def log2(x):
    with tf.name_scope("Log2"):
        return tf.log(x) * np.float32(1.0 / np.log(2.0))


def exp2(x):
    with tf.name_scope("Exp2"):
        return tf.exp(x * np.float32(np.log(2.0)))


def lerp(a, b, t):
    """a + (b - a) * t."""
    with tf.name_scope("Lerp"):
        return a + (b - a) * t


def lerp_clip(a, b, t):
    with tf.name_scope("LerpClip"):
        return a + (b - a) * tf.clip_by_value(t, 0.0, 1.0)


@contextlib.contextmanager
def absolute_name_scope(scope):
    """Enter ``scope`` as a name scope from the graph root, whatever scope we are in now."""
    with tf.name_scope(scope + "/") as name:
        yield name


@contextlib.contextmanager
def absolute_variable_scope(scope, **kwargs):
    """Enter ``scope`` as a variable scope from the root, with a matching absolute name scope."""
    with tf.variable_scope(tf.VariableScope(name=scope, **kwargs), auxiliary_name_scope=False):
        yield


# ----------------------------------------------------------------------------------------------
# Sessions.

_DEFAULT_TF_CONFIG = {
    "rnd.np_random_seed": None,  # numpy's global RNG seed; None = leave as is
    "rnd.tf_random_seed": "auto",  # graph-level TF seed; 'auto' = draw from numpy's RNG
    "graph_options.place_pruned_graph": True,  # only place ops the session actually runs
    "gpu_options.allow_growth": True,  # do not reserve all GPU memory at start
    "device_count.CPU": None,  # >1 creates virtual CPU devices /cpu:0.. (multi-tower on the CPU)
}


def _apply_config(proto, key, value):
    """Set ``a.b.c = value`` on a ConfigProto; ``device_count.X`` is a map field."""
    fields = key.split(".")
    if fields[0] == "device_count":
        proto.device_count[fields[1]] = int(value)
        return
    obj = proto
    for field in fields[:-1]:
        obj = getattr(obj, field)
    setattr(obj, fields[-1], value)


def create_session(config_dict=None, force_as_default=False):
    """A tf.Session configured from dotted keys of ``ConfigProto`` (e.g. 'gpu_options.allow_growth')."""
    cfg = dict(_DEFAULT_TF_CONFIG)
    cfg.update(config_dict or {})
    proto = tf.ConfigProto()
    for key, value in cfg.items():
        if key.startswith("rnd.") or key.startswith("env.") or value is None:
            continue
        _apply_config(proto, key, value)
    session = tf.Session(config=proto)
    if force_as_default:
        # Make the session the default for the rest of the process, not just a with-block.
        session._default_session = session.as_default()
        session._default_session.enforce_nesting = False
        session._default_session.__enter__()
    return session


def init_tf(config_dict=None):
    """Create the default graph session if there is none. Seeds numpy / TF when asked to."""
    if tf.get_default_session() is not None:
        return
    cfg = dict(_DEFAULT_TF_CONFIG)
    cfg.update(config_dict or {})
    for key, value in cfg.items():
        if key.startswith("env.") and value is not None:
            os.environ[key[4:]] = str(value)
    if cfg["rnd.np_random_seed"] is not None:
        np.random.seed(cfg["rnd.np_random_seed"])
    tf_seed = cfg["rnd.tf_random_seed"]
    if tf_seed == "auto":
        tf_seed = np.random.randint(1 << 31)
    if tf_seed is not None:
        tf.set_random_seed(tf_seed)
    create_session(cfg, force_as_default=True)


def assert_tf_initialized():
    if tf.get_default_session() is None:
        raise RuntimeError("No default TensorFlow session: call dnnlib.tflib.init_tf() first.")


def session_devices():
    """Names of the devices the default session can place ops on, e.g. ['/device:CPU:0', ...]."""
    assert_tf_initialized()
    return [d.name for d in tf.get_default_session().list_devices()]


def tower_devices(num_towers):
    """Devices for ``num_towers`` data-parallel towers: GPUs when present, else (virtual) CPUs.

    Raises a clear error when there are not enough devices of either kind.
    """
    names = session_devices()
    gpus = [n for n in names if ":GPU:" in n]
    cpus = [n for n in names if ":CPU:" in n]
    pool = gpus if gpus else cpus
    if num_towers > len(pool):
        raise ValueError(
            "asked for %d towers but the session has %d %s device(s); lower --num-gpus, or for "
            "CPU towers create virtual CPUs with init_tf({'device_count.CPU': %d})"
            % (num_towers, len(pool), "GPU" if gpus else "CPU", num_towers)
        )
    return ["/" + n.split("/")[-1].replace("device:", "").lower() for n in pool[:num_towers]]


def gpu_visible():
    """True when TensorFlow sees at least one GPU (no session needed)."""
    from tensorflow.python.client import device_lib  # local import: only this helper needs it

    return any(d.device_type == "GPU" for d in device_lib.list_local_devices())


# ----------------------------------------------------------------------------------------------
# Variables.


def init_uninitialized_vars(target_vars=None):
    """Run the initialisers of the (given or global) variables that are not initialised yet."""
    assert_tf_initialized()
    if target_vars is None:
        target_vars = tf.global_variables()
    target_vars = list(target_vars)
    if not target_vars:
        return
    flags = run([tf.is_variable_initialized(v) for v in target_vars])
    inits = [v.initializer for v, ok in zip(target_vars, flags) if not ok]
    if inits:
        run(inits)


def set_vars(var_to_value_dict):
    """Assign numpy values to variables in one session call (assign ops are cached per variable)."""
    assert_tf_initialized()
    ops, feed = [], {}
    for var, value in var_to_value_dict.items():
        setter = getattr(var, "_vpdis_setter", None)
        if setter is None:
            with tf.control_dependencies(None), tf.name_scope(None):
                placeholder = tf.placeholder(var.dtype.base_dtype, shape=var.shape, name="setter_value")
                setter = var.assign(placeholder)
            var._vpdis_setter = setter
        ops.append(setter)
        feed[setter.op.inputs[1]] = value
    if ops:
        run(ops, feed)


def convert_images_from_uint8(images, drange=(-1, 1), nhwc_to_nchw=False):
    """uint8 [0, 255] images -> float32 in ``drange`` (optionally NHWC -> NCHW)."""
    images = tf.cast(images, tf.float32)
    if nhwc_to_nchw:
        images = tf.transpose(images, [0, 3, 1, 2])
    return images * ((drange[1] - drange[0]) / 255.0) + drange[0]


def convert_images_to_uint8(images, drange=(-1, 1), nchw_to_nhwc=False, shrink=1):
    """float images in ``drange`` -> uint8 [0, 255], rounded and clipped (optionally NCHW -> NHWC)."""
    images = tf.cast(images, tf.float32)
    if shrink > 1:
        # Box-average shrink of an NCHW batch via reshape (CPU pooling kernels reject NCHW on TF 1.x).
        _, c, h, w = shape_to_list(images.shape)
        images = tf.reshape(images, [-1, c, h // shrink, shrink, w // shrink, shrink])
        images = tf.reduce_mean(images, axis=[3, 5])
    if nchw_to_nhwc:
        images = tf.transpose(images, [0, 2, 3, 1])
    scale = 255.0 / (drange[1] - drange[0])
    images = images * scale + (0.5 - drange[0] * scale)
    return tf.saturate_cast(images, tf.uint8)
