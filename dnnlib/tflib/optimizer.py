"""``Optimizer``: a TF optimizer wrapped for data-parallel towers.

Usage per training step::

    opt = Optimizer(name='TrainG', learning_rate=0.002, beta1=0.0, beta2=0.99, reg_interval=4)
    for device in towers:
        with tf.device(device):
            loss = ...                                # mean over this tower's minibatch
            opt.register_gradients(loss, G.trainables)
    train_op = opt.apply_updates()

Gradients of several losses on one device add up; gradients of different devices are averaged
(each tower's loss is a mean over its own slice, so the average equals the gradient of the mean
over the whole minibatch). An update whose gradients are not all finite is skipped and counted in
``nonfinite_count`` so the training loop can stop with a clear message.
"""

from collections import OrderedDict

import numpy as np

from dnnlib import util
from dnnlib.tflib import tfutil
from dnnlib.tflib.compat import tf


def lazy_regularization_params(learning_rate, beta1, beta2, reg_interval):
    """Correct Adam's hyper-parameters for lazy regularisation (StyleGAN2, appendix B).

    A regulariser evaluated every ``reg_interval`` minibatches adds one extra update per
    ``reg_interval`` main ones; scaling lr by k/(k+1) and raising betas to the same power keeps the
    optimiser's time constants as if there were no extra steps.
    Returns (learning_rate, beta1, beta2).
    """
    ratio = reg_interval / (reg_interval + 1.0)
    return learning_rate * ratio, beta1 ** ratio, beta2 ** ratio


class Optimizer:
    """Wrapper around a ``tf.train`` optimizer for one set of trainables over several towers.

    Args:
        name: scope name of the optimizer's variables.
        tf_optimizer: class or dotted name of the underlying optimizer.
        learning_rate: float or tensor.
        minibatch_multiplier: accumulate gradients over this many calls of the update op before
            applying them (None = apply every time).
        use_loss_scaling: dynamic loss scaling for float16 training.
        reg_interval: lazy-regularisation interval k of the regulariser sharing these trainables;
            corrects lr, beta1 and beta2 by k/(k+1) (see ``lazy_regularization_params``).
        kwargs: passed to the tf optimizer (e.g. beta1, beta2, epsilon for Adam).
    """

    def __init__(self, name="Train", tf_optimizer="tf.train.AdamOptimizer", learning_rate=0.001,
                 minibatch_multiplier=None, use_loss_scaling=False, loss_scaling_init=64.0,
                 loss_scaling_inc=0.0005, loss_scaling_dec=1.0, reg_interval=None, **kwargs):
        self.name = name
        self.scope = tf.get_default_graph().unique_name(name)
        self.learning_rate = learning_rate
        self.minibatch_multiplier = minibatch_multiplier
        self.use_loss_scaling = use_loss_scaling
        self.loss_scaling_init = loss_scaling_init
        self.loss_scaling_inc = loss_scaling_inc
        self.loss_scaling_dec = loss_scaling_dec
        self.optimizer_kwargs = dict(kwargs)
        if reg_interval:
            beta1 = self.optimizer_kwargs.get("beta1", 0.9)
            beta2 = self.optimizer_kwargs.get("beta2", 0.999)
            self.learning_rate, beta1, beta2 = lazy_regularization_params(learning_rate, beta1, beta2, reg_interval)
            self.optimizer_kwargs.update(beta1=beta1, beta2=beta2)
        if isinstance(tf_optimizer, str):
            tf_optimizer = _resolve_tf_optimizer(tf_optimizer)
        self._optimizer_class = tf_optimizer
        self._devices = OrderedDict()  # device name -> {var: [grads]}
        self._loss_scaling_vars = OrderedDict()
        self._updates_applied = False
        self._tf_optimizer = None
        with tfutil.absolute_variable_scope(self.scope, reuse=False), tf.control_dependencies(None), tf.device("/cpu:0"):
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.nonfinite_count = tf.Variable(0, dtype=tf.int64, trainable=False, name="nonfinite_count")

    # ------------------------------------------------------------------------------------------

    def get_loss_scaling_var(self, device):
        if not self.use_loss_scaling:
            return None
        if device not in self._loss_scaling_vars:
            with tfutil.absolute_variable_scope(self.scope, reuse=False), tf.control_dependencies(None), tf.device(device):
                self._loss_scaling_vars[device] = tf.Variable(np.float32(self.loss_scaling_init), trainable=False, name="loss_scaling_var%d" % len(self._loss_scaling_vars))
        return self._loss_scaling_vars[device]

    def apply_loss_scaling(self, value, device):
        var = self.get_loss_scaling_var(device)
        return value if var is None else value * tfutil.exp2(var)

    def undo_loss_scaling(self, value, device):
        var = self.get_loss_scaling_var(device)
        return value if var is None else value * tfutil.exp2(-var)

    def register_gradients(self, loss, trainable_vars):
        """Add d(loss)/d(vars) on the device where ``loss`` lives. ``trainable_vars``: list or {name: var}."""
        if self._updates_applied:
            raise RuntimeError("register_gradients() after apply_updates()")
        if isinstance(trainable_vars, dict):
            trainable_vars = list(trainable_vars.values())
        trainable_vars = list(trainable_vars)
        if not trainable_vars:
            raise ValueError("register_gradients: no trainable variables")
        device = loss.device
        with tf.name_scope(self.name + "_grad"), tf.device(device):
            loss = tf.reduce_sum(tf.cast(loss, tf.float32)) if loss.shape.rank else tf.cast(loss, tf.float32)
            # The dependency makes a step also evaluate the forward loss (and the autosummaries
            # hanging off it), which the gradient ops alone would not always need.
            # (On a fresh identity: marking an op that a session already ran trips a TF 2 warning.)
            with tf.control_dependencies([tf.identity(loss)]):
                grads = tf.gradients(self.apply_loss_scaling(loss, device), trainable_vars)
        slot = self._devices.setdefault(device, OrderedDict())
        for var, grad in zip(trainable_vars, grads):
            slot.setdefault(var, [])
            if grad is not None:
                slot[var].append(grad)
        return loss

    def apply_updates(self):
        """One op: average the towers' gradients, check them, apply (or accumulate) the update."""
        if self._updates_applied:
            raise RuntimeError("apply_updates() may be called only once")
        if not self._devices:
            raise RuntimeError("apply_updates() before any register_gradients()")
        self._updates_applied = True
        all_vars = list(OrderedDict((v, None) for slot in self._devices.values() for v in slot).keys())
        num_devices = len(self._devices)

        with tfutil.absolute_name_scope(self.scope):
            # Per device: sum the losses' gradients and undo loss scaling; then average devices.
            device_grads = []
            for device, slot in self._devices.items():
                with tf.device(device):
                    grads = OrderedDict()
                    for var in all_vars:
                        parts = slot.get(var, [])
                        g = tf.add_n(parts) if parts else tf.zeros_like(var)
                        grads[var] = self.undo_loss_scaling(tf.cast(g, tf.float32), device)
                    device_grads.append(grads)
            first_device = next(iter(self._devices))
            with tf.device(first_device):
                avg = OrderedDict()
                for var in all_vars:
                    total = tf.add_n([g[var] for g in device_grads]) if num_devices > 1 else device_grads[0][var]
                    avg[var] = total / float(num_devices)
                all_finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(g)) for g in avg.values()]))

                if self.minibatch_multiplier is None:
                    apply_op = self._apply_if_finite(avg, all_finite)
                else:
                    apply_op = self._accumulate_then_apply(avg, all_finite)

            ops = [apply_op]
            if self.use_loss_scaling:
                for device, var in self._loss_scaling_vars.items():
                    with tf.device(device):
                        delta = tf.where(all_finite, self.loss_scaling_inc, -self.loss_scaling_dec)
                        ops.append(var.assign_add(delta))
            return tf.group(*ops, name="TrainingOp")

    def _make_tf_optimizer(self):
        self._tf_optimizer = self._optimizer_class(learning_rate=self.learning_rate, **self.optimizer_kwargs)
        return self._tf_optimizer

    def _apply_if_finite(self, grads, all_finite):
        optimizer = self._make_tf_optimizer()
        pairs = [(g, v) for v, g in grads.items()]

        def apply():
            with tf.control_dependencies([optimizer.apply_gradients(pairs)]):
                return self.global_step.assign_add(1)

        def skip():
            return self.nonfinite_count.assign_add(1)

        # The optimiser's slot variables must exist outside the cond branch.
        with tf.control_dependencies(None):
            optimizer._create_slots([v for _, v in pairs]) if hasattr(optimizer, "_create_slots") else None
        return tf.cond(all_finite, apply, skip)

    def _accumulate_then_apply(self, grads, all_finite):
        with tf.control_dependencies(None):
            acc_vars = OrderedDict((v, tf.Variable(tf.zeros(v.shape, tf.float32), trainable=False, name="grad_acc")) for v in grads)
            counter = tf.Variable(0, dtype=tf.int32, trainable=False, name="grad_acc_count")
        accumulate = [acc.assign_add(grads[v]) for v, acc in acc_vars.items()]
        with tf.control_dependencies(accumulate):
            count = counter.assign_add(1)
        ready = tf.greater_equal(count, self.minibatch_multiplier)
        optimizer = self._make_tf_optimizer()
        with tf.control_dependencies(None):
            optimizer._create_slots([v for v in acc_vars]) if hasattr(optimizer, "_create_slots") else None

        def apply():
            with tf.control_dependencies([count]):  # read the sums only after this call's gradients
                pairs = [(acc / float(self.minibatch_multiplier), v) for v, acc in acc_vars.items()]
            finite = tf.reduce_all(tf.stack([tf.reduce_all(tf.is_finite(g)) for g, _ in pairs]))
            do_update = tf.cond(
                finite,
                lambda: tf.group(optimizer.apply_gradients(pairs), self.global_step.assign_add(1)),
                lambda: tf.group(self.nonfinite_count.assign_add(1)),
            )
            with tf.control_dependencies([do_update]):
                return tf.group(counter.assign(0), *[acc.assign(tf.zeros_like(acc)) for acc in acc_vars.values()])

        del all_finite  # checked on the accumulated sum instead
        return tf.cond(ready, apply, tf.no_op)

    def reset_optimizer_state(self):
        """Re-initialise this optimizer's variables (moments, counters, loss scaling)."""
        tfutil.run([v.initializer for v in self.variables()])

    def variables(self):
        """This optimizer's state: counters, accumulators, loss scaling and the tf optimizer's slots."""
        own = [v for v in tf.global_variables() if v.name.startswith(self.scope + "/")]
        slots = self._tf_optimizer.variables() if self._tf_optimizer is not None else []
        return own + [v for v in slots if v not in own]


def _resolve_tf_optimizer(name):
    if name.startswith("tf."):
        obj = tf
        for part in name.split(".")[1:]:
            obj = getattr(obj, part)
        return obj
    return util.get_obj_by_name(name)
