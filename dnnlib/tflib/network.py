"""``Network``: a TF1 graph network defined by a build function, with its variables, sub-networks,
cached inference graphs and self-contained pickling.

A build function has the form ``build(in_1, in_2, ..., **kwargs) -> out or (out_1, out_2, ...)``.
Its positional parameters without defaults are the network's inputs; ``kwargs`` receives the
static kwargs given at construction, the dynamic kwargs of ``get_output_for`` / ``run``,
``is_template_graph`` and ``components`` (an EasyDict in which the function may create and keep
sub-networks on its first, template call).

A pickle is self-contained: it carries the sources of the project modules its build module uses
(``module_sources``), which run as private copies when it is loaded (``network_source``). Pickles of NVIDIA's TF
StyleGAN / StyleGAN2 code (``dnnlib.tflib.network.Network`` state versions 2-4, e.g. the Inception-v3 feature
network of StyleGAN2's FID) load too: their source does ``import tensorflow as tf`` and calls the TF1 API, and runs
with ``tensorflow`` bound to this runtime's TF1 API (``source_api`` "tf1", kept when pickled again).

Security: a pickled Network contains the source code of its build module and executes it on load.
Only unpickle files you produced yourself or that come with a checksum you trust.
"""

import inspect
import sys
from collections import OrderedDict

import numpy as np

from dnnlib.util import EasyDict
from dnnlib.tflib import network_source, tfutil
from dnnlib.tflib.compat import tf

PICKLE_VERSION = 1
# State versions written by NVIDIA's TF StyleGAN (2, 3) and StyleGAN2 (4); same fields as ours, ``components``
# absent in version 2.
STYLEGAN_PICKLE_VERSIONS = (2, 3, 4)


def _resolve_build_func(func_name):
    """A top-level function or its dotted name -> (function, function name, (source, source API, module sources))."""
    if callable(func_name):
        func = func_name
        if func.__name__ == "<lambda>" or "." in getattr(func, "__qualname__", func.__name__):
            raise ValueError("Network build functions must be top-level module functions, got %r" % (func,))
        module = sys.modules[func.__module__]
    elif isinstance(func_name, str) and "." in func_name:
        module_name, func_local = func_name.rsplit(".", 1)
        import importlib

        module = importlib.import_module(module_name)
        if not hasattr(module, func_local):
            raise AttributeError("module %r has no build function %r" % (module_name, func_local))
        func = getattr(module, func_local)
    else:
        raise ValueError("func_name must be a top-level function or 'package.module.function', got %r" % (func_name,))
    return func, func.__name__, network_source.code_of_module(module)


class Network:
    """A network instance: one set of variables plus the code that builds it.

    Attributes:
        name: display name ('G', 'Gs', ...). scope: its absolute variable scope.
        static_kwargs: kwargs fixed at construction (pickled with the network).
        input_names / input_templates / input_shapes, output_names / output_templates / output_shapes.
        components: EasyDict of sub-networks created by the build function.
        own_vars / vars / trainables: OrderedDicts {local name: tf.Variable}; ``vars`` includes the
        components' variables as '<component name>/<var name>'.
    """

    def __init__(self, name=None, func_name=None, **static_kwargs):
        tfutil.assert_tf_initialized()
        if name is not None and not isinstance(name, str):
            raise ValueError("network name must be a string")
        if func_name is None:
            raise ValueError("Network needs func_name: a build function or its dotted name")
        self._init_fields(name)
        self.static_kwargs = EasyDict(static_kwargs)
        self._build_func, self._build_func_name, code = _resolve_build_func(func_name)
        self._build_module_src, self._source_api, self._module_sources = code
        self._init_graph()
        self.reset_own_vars()

    def _init_fields(self, name=None):
        self.name = name
        self.static_kwargs = EasyDict()
        self.components = EasyDict()
        self.scope = None
        self.input_templates = self.output_templates = None
        self.input_names = self.output_names = None
        self.input_shapes = self.output_shapes = None
        self.own_vars = self.vars = self.trainables = None
        self.var_global_to_local = None
        self._build_func = self._build_func_name = self._build_module_src = None
        self._source_api, self._module_sources = "vpdis", None
        self._run_cache = {}

    # ------------------------------------------------------------------------------------------
    # Graph construction.

    def _input_param_names(self):
        params = inspect.signature(self._build_func).parameters.values()
        return [
            p.name for p in params
            if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is inspect.Parameter.empty
        ]

    def _init_graph(self):
        self.input_names = self._input_param_names()
        if self.name is None:
            self.name = self._build_func_name
        # unique_name respects the current name scope, so sub-networks land under their parent.
        self.scope = tf.get_default_graph().unique_name(self.name.replace("/", "_"), mark_as_used=True)

        build_kwargs = dict(self.static_kwargs, is_template_graph=True, components=self.components)
        with tfutil.absolute_variable_scope(self.scope, reuse=False), tfutil.absolute_name_scope(self.scope):
            with tf.control_dependencies(None):
                self.input_templates = [tf.placeholder(tf.float32, name=n) for n in self.input_names]
                outputs = self._build_func(*self.input_templates, **build_kwargs)
        outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        if not all(tfutil.is_tf_expression(t) for t in outputs):
            raise TypeError("build function %s must return tensors" % self._build_func_name)
        self.output_templates = outputs
        self.output_names = [t.name.split("/")[-1].split(":")[0] for t in outputs]
        self.input_shapes = [tfutil.shape_to_list(t.shape) for t in self.input_templates]
        self.output_shapes = [tfutil.shape_to_list(t.shape) for t in self.output_templates]

        prefix = self.scope + "/"
        self.own_vars = OrderedDict(
            (v.name[len(prefix):].split(":")[0], v)
            for v in tf.global_variables(prefix)
            if not any(v.name.startswith(c.scope + "/") for c in self.components.values())
        )
        self.vars = OrderedDict(self.own_vars)
        for comp in self.components.values():
            self.vars.update((comp.name + "/" + k, v) for k, v in comp.vars.items())
        trainable_set = set(tf.trainable_variables())
        self.trainables = OrderedDict((k, v) for k, v in self.vars.items() if v in trainable_set)
        self.var_global_to_local = OrderedDict((v.name.split(":")[0], k) for k, v in self.vars.items())

    def reset_own_vars(self):
        tfutil.run([v.initializer for v in self.own_vars.values()])

    def reset_vars(self):
        tfutil.run([v.initializer for v in self.vars.values()])

    def get_output_for(self, *in_expr, return_as_list=False, **dynamic_kwargs):
        """Build this network's graph on the given input tensors, sharing its variables.

        ``None`` inputs become zeros shaped like the template. Returns one tensor, or a tuple
        (a list with ``return_as_list``).
        """
        if len(in_expr) != len(self.input_names):
            raise ValueError("%s takes %d inputs (%s), got %d" % (self.name, len(self.input_names), ", ".join(self.input_names), len(in_expr)))
        build_kwargs = dict(self.static_kwargs)
        build_kwargs.update(dynamic_kwargs)
        build_kwargs.update(is_template_graph=False, components=self.components)
        with tfutil.absolute_variable_scope(self.scope, reuse=True), tf.name_scope(self.name):
            known = [x for x in in_expr if x is not None]
            inputs = []
            for expr, shape in zip(in_expr, self.input_shapes):
                if expr is None:
                    if not known:
                        raise ValueError("at least one input of %s must be given" % self.name)
                    expr = tf.zeros([tf.shape(known[0])[0]] + shape[1:])
                inputs.append(expr)
            outputs = self._build_func(*inputs, **build_kwargs)
        outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        for expr, template in zip(outputs, self.output_templates):
            if isinstance(expr, tf.Tensor):
                expr.set_shape(template.shape)
        if return_as_list:
            return outputs
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    # ------------------------------------------------------------------------------------------
    # Variables.

    def get_var_local_name(self, var_or_global_name):
        name = var_or_global_name if isinstance(var_or_global_name, str) else var_or_global_name.name
        return self.var_global_to_local[name.split(":")[0]]

    def find_var(self, var_or_local_name):
        return self.vars[var_or_local_name] if isinstance(var_or_local_name, str) else var_or_local_name

    def get_var(self, var_or_local_name):
        return self.find_var(var_or_local_name).eval()

    def set_var(self, var_or_local_name, new_value):
        tfutil.set_vars({self.find_var(var_or_local_name): new_value})

    def _copy_from(self, src_net, names):
        names = [n for n in names if n in src_net.vars]
        values = tfutil.run([src_net.vars[n] for n in names])
        tfutil.set_vars({self.vars[n]: v for n, v in zip(names, values)})

    def copy_own_vars_from(self, src_net):
        self._copy_from(src_net, self.own_vars.keys())

    def copy_vars_from(self, src_net):
        """Copy the values of all variables that both networks have (matched by local name)."""
        self._copy_from(src_net, self.vars.keys())

    def copy_trainables_from(self, src_net):
        self._copy_from(src_net, self.trainables.keys())

    def setup_as_moving_average_of(self, src_net, beta=0.99, beta_nontrainable=0.0):
        """An op that sets ``self = lerp(src, self, beta)`` for trainables (``beta_nontrainable`` else).

        beta is the weight of the old value: 0.99 keeps 99% of ``self`` each time the op runs.
        """
        with tfutil.absolute_name_scope(self.scope + "/_MovingAvg"):
            ops = []
            for name, var in self.vars.items():
                if name not in src_net.vars:
                    continue
                cur_beta = beta if name in self.trainables else beta_nontrainable
                ops.append(var.assign(tfutil.lerp(src_net.vars[name], var, cur_beta)))
            return tf.group(*ops)

    # ------------------------------------------------------------------------------------------
    # Copies and pickling.

    def __getstate__(self):
        return {
            "version": PICKLE_VERSION,
            "name": self.name,
            "static_kwargs": dict(self.static_kwargs),
            "components": dict(self.components),
            "build_module_src": self._build_module_src,
            "build_func_name": self._build_func_name,
            "source_api": self._source_api,
            "module_sources": None if self._module_sources is None else [list(kv) for kv in self._module_sources],
            "variables": list(zip(self.own_vars.keys(), tfutil.run(list(self.own_vars.values())))),
        }

    def __setstate__(self, state):
        tfutil.assert_tf_initialized()
        version = state.get("version") if isinstance(state, dict) else None
        if version not in (PICKLE_VERSION,) + STYLEGAN_PICKLE_VERSIONS:
            raise ValueError(
                "unsupported network pickle (version %r): this project reads its own (version %d) and NVIDIA's TF "
                "StyleGAN / StyleGAN2 networks (versions %s)"
                % (version, PICKLE_VERSION, ", ".join(map(str, STYLEGAN_PICKLE_VERSIONS))))
        # NVIDIA's sources import TensorFlow directly; ours go through dnnlib.tflib.compat.
        source_api = "tf1" if version in STYLEGAN_PICKLE_VERSIONS else state.get("source_api", "vpdis")
        module_sources = state.get("module_sources")      # None: written before pickles carried them
        if module_sources is not None:
            module_sources = [tuple(kv) for kv in module_sources]
        self._init_fields(state["name"])
        self.static_kwargs = EasyDict(state["static_kwargs"])
        self.components = EasyDict(state.get("components", {}))
        self._build_module_src = state["build_module_src"]
        self._build_func_name = state["build_func_name"]
        self._source_api, self._module_sources = source_api, module_sources
        module = network_source.module_from_source(self._build_module_src, source_api, module_sources)
        self._build_func = getattr(module, self._build_func_name)
        self._init_graph()
        self.reset_own_vars()
        tfutil.set_vars({self.find_var(name): value for name, value in state["variables"]})

    def clone(self, name=None, **new_static_kwargs):
        """A new network with the same code and variable values (components cloned too)."""
        net = object.__new__(Network)
        net._init_fields(name if name is not None else self.name)
        net.static_kwargs = EasyDict(self.static_kwargs)
        net.static_kwargs.update(new_static_kwargs)
        net._build_module_src, net._build_func_name, net._build_func = self._build_module_src, self._build_func_name, self._build_func
        net._source_api, net._module_sources = self._source_api, self._module_sources
        net.components = EasyDict((k, comp.clone()) for k, comp in self.components.items())
        net._init_graph()
        net.copy_vars_from(self)
        return net

    # ------------------------------------------------------------------------------------------
    # Inference.

    def run(self, *in_arrays, input_transform=None, output_transform=None, return_as_list=False,
            print_progress=False, minibatch_size=None, num_gpus=1, **dynamic_kwargs):
        """Evaluate the network on numpy inputs, in minibatches, over ``num_gpus`` towers.

        Args:
            in_arrays: one numpy array per input ([N, ...]); None for an input fed with zeros.
            input_transform / output_transform: dict(func=<callable or dotted name>, **kwargs)
                applied to the input / output tensors in the graph (e.g. conversion to uint8).
            minibatch_size: images per session call (default: all at once).
            num_gpus: towers to split each minibatch over (GPUs, or virtual CPU devices).
            dynamic_kwargs: passed to the build function (e.g. ``randomize_noise=False``).
        Returns:
            A numpy array per output (a tuple, or a list with ``return_as_list``).
        """
        if len(in_arrays) != len(self.input_names):
            raise ValueError("%s.run takes %d inputs, got %d" % (self.name, len(self.input_names), len(in_arrays)))
        num_items = next(a.shape[0] for a in in_arrays if a is not None)
        minibatch_size = minibatch_size or num_items
        in_placeholders, out_exprs = self._get_run_graph(input_transform, output_transform, num_gpus, dynamic_kwargs)
        outputs = [[] for _ in out_exprs]
        for start in range(0, num_items, minibatch_size):
            if print_progress:
                print("\r%d / %d" % (start, num_items), end="", flush=True)
            stop = min(start + minibatch_size, num_items)
            feed = {}
            for placeholder, array, shape in zip(in_placeholders, in_arrays, self.input_shapes):
                chunk = array[start:stop] if array is not None else np.zeros([stop - start] + shape[1:], np.float32)
                feed[placeholder] = chunk
            for lst, value in zip(outputs, tfutil.run(out_exprs, feed)):
                lst.append(value)
        if print_progress:
            print("\r%d / %d" % (num_items, num_items))
        outputs = [np.concatenate(lst) for lst in outputs]
        if return_as_list:
            return outputs
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _get_run_graph(self, input_transform, output_transform, num_gpus, dynamic_kwargs):
        key = repr((sorted((input_transform or {}).items()), sorted((output_transform or {}).items()), num_gpus, sorted(dynamic_kwargs.items())))
        if key in self._run_cache:
            return self._run_cache[key]
        devices = tfutil.tower_devices(num_gpus) if num_gpus > 1 else [None]
        with tfutil.absolute_name_scope(self.scope + "/_Run"), tf.control_dependencies(None):
            with tf.device("/cpu:0"):
                in_placeholders = [tf.placeholder(tf.float32, name=n) for n in self.input_names]
                in_split = [tf.split(p, len(devices)) if len(devices) > 1 else [p] for p in in_placeholders]
            per_device = []
            for i, device in enumerate(devices):
                with tf.device(device), tf.name_scope("tower%d" % i):
                    inputs = [split[i] for split in in_split]
                    if input_transform is not None:
                        inputs = _call_transform(input_transform, *inputs)
                    outs = self.get_output_for(*inputs, return_as_list=True, **dynamic_kwargs)
                    if output_transform is not None:
                        outs = _call_transform(output_transform, *outs)
                    per_device.append(outs)
            with tf.device("/cpu:0"):
                out_exprs = [tf.concat(list(outs), axis=0) if len(outs) > 1 else outs[0] for outs in zip(*per_device)]
        self._run_cache[key] = (in_placeholders, out_exprs)
        return self._run_cache[key]

    # ------------------------------------------------------------------------------------------
    # Introspection.

    def list_layers(self):
        """[(layer name, output tensor or None, [variables])] for this network's own variables.

        A layer is a variable scope holding variables; its output is the last tensor the template
        graph created in that scope.
        """
        layers = OrderedDict()
        for local_name, var in self.own_vars.items():
            layer = local_name.rsplit("/", 1)[0] if "/" in local_name else "<root>"
            layers.setdefault(layer, []).append(var)
        ops = tf.get_default_graph().get_operations()
        result = []
        for layer, layer_vars in layers.items():
            prefix = self.scope + "/" + layer + "/"
            outputs = [op.outputs[0] for op in ops if op.name.startswith(prefix) and op.outputs and op.type not in ("VariableV2", "Const", "Assign", "Identity", "VarHandleOp")]
            result.append((layer, outputs[-1] if outputs else None, layer_vars))
        for comp in self.components.values():
            result.extend((comp.name + "/" + n, t, v) for n, t, v in comp.list_layers())
        return result

    def num_params(self, trainable_only=True):
        source = self.trainables if trainable_only else self.vars
        return int(sum(np.prod(tfutil.shape_to_list(v.shape)) for v in source.values()))

    def print_layers(self, title=None):
        """Print a table: layer, parameter count, output shape, weight shape; returns it as text."""
        rows = [[title or self.name, "Params", "OutputShape", "WeightShape"], ["---"] * 4]
        total = 0
        for layer, output, layer_vars in self.list_layers():
            trainable = [v for v in layer_vars if v in set(self.trainables.values())]
            count = int(sum(np.prod(tfutil.shape_to_list(v.shape)) for v in trainable))
            total += count
            weights = [v for v in trainable if v.name.split("/")[-1].startswith("weight")] or trainable
            rows.append([
                layer, str(count) if count else "-",
                str(tuple(tfutil.shape_to_list(output.shape))) if output is not None else "-",
                str(tuple(tfutil.shape_to_list(weights[0].shape))) if weights else "-",
            ])
        rows += [["---"] * 4, ["Total", str(total), "", ""]]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        text = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)
        print(text + "\n")
        return text


def _call_transform(transform, *tensors):
    """Apply dict(func=..., **kwargs) to each tensor."""
    from dnnlib import util

    kwargs = dict(transform)
    func = kwargs.pop("func")
    if isinstance(func, str):
        func = util.get_obj_by_name(func)
    return [func(t, **kwargs) for t in tensors]

