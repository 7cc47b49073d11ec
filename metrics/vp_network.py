"""VarPred, the VP metric's classifier, in TF1 graph mode (NHWC), with PyTorch's defaults and Adam rule.

VarPred: conv 7x7/2 (pad 3) -> 64, BN, ReLU; conv 3x3 -> 64, BN, ReLU; max-pool 3x3/2 (pad 1); conv 3x3 -> 128,
BN, ReLU; conv 3x3 -> 256, BN, ReLU; global average pool; linear 256 -> C. Convs have no bias; BN (momentum 0.1,
eps 1e-5, unbiased running variance) and initialisation follow PyTorch's defaults. Weights come from a seeded numpy
stream, so they are the same on TF 1.15 and TF 2.x. ``TrainingGraph`` wires VarPred, the loss and the optimiser
into one graph for metrics/vp_metric.py. TensorFlow is imported only when a graph is built.
"""

import contextlib

import numpy as np

INPUT_MODES = ("diff", "concat")
LR_SCHEDULES = ("constant", "cosine")
BN_MOMENTUM = 0.1
BN_EPS = 1e-5


def _torch_default_uniform(rng, shape, fan_in):
    """PyTorch's default conv / linear init: kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    the linear bias uses the same bound."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


class VarPred(object):
    """The reference CNN. Build with ``VarPred(num_dims, in_channels, seed)``, then call ``logits(x, training)``
    (x = float [B, H, 2W, C] in [-1, 1]) once with training=True and once with training=False; both share the
    variables. ``update_ops`` collects the BN running-statistic updates of the training branch."""

    WIDTHS = (64, 64, 128, 256)

    def __init__(self, num_dims, image_channels=3, input_mode="diff", seed=0, scope="VarPred"):
        from dnnlib.tflib.compat import tf

        if input_mode not in INPUT_MODES:
            raise ValueError("input_mode must be one of %s, got %r" % (", ".join(INPUT_MODES), input_mode))
        self.tf = tf
        self.input_mode = input_mode
        self.num_dims = int(num_dims)
        in_ch = image_channels if input_mode == "diff" else 2 * image_channels
        rng = np.random.RandomState([int(seed) & 0xFFFFFFFF, 2])  # a stream apart from the split's and shuffles'
        self.update_ops = []
        self.bn_vars = []
        specs = [("conv1", 7, in_ch, 64), ("conv2", 3, 64, 64), ("conv3", 3, 64, 128), ("conv4", 3, 128, 256)]
        self.convs, self.bns = [], []
        with tf.variable_scope(scope):
            for name, k, cin, cout in specs:
                w = _torch_default_uniform(rng, (k, k, cin, cout), cin * k * k)  # HWIO
                self.convs.append(tf.get_variable(name + "/weight", initializer=w, use_resource=True))
                gamma = tf.get_variable(name + "_bn/gamma", initializer=np.ones(cout, np.float32), use_resource=True)
                beta = tf.get_variable(name + "_bn/beta", initializer=np.zeros(cout, np.float32), use_resource=True)
                mean = tf.get_variable(name + "_bn/running_mean", initializer=np.zeros(cout, np.float32),
                                       trainable=False, use_resource=True)
                var = tf.get_variable(name + "_bn/running_var", initializer=np.ones(cout, np.float32),
                                      trainable=False, use_resource=True)
                self.bns.append((gamma, beta, mean, var))
            self.fc_w = tf.get_variable("fc/weight", initializer=_torch_default_uniform(rng, (256, num_dims), 256),
                                        use_resource=True)
            self.fc_b = tf.get_variable("fc/bias", initializer=_torch_default_uniform(rng, (num_dims,), 256),
                                        use_resource=True)
        self.trainables = list(self.convs) + [v for bn in self.bns for v in bn[:2]] + [self.fc_w, self.fc_b]

    def num_params(self):
        return int(sum(np.prod(v.shape.as_list()) for v in self.trainables))

    def _batch_norm(self, x, index, training):
        tf = self.tf
        gamma, beta, running_mean, running_var = self.bns[index]
        if training:
            mean = tf.reduce_mean(x, axis=[0, 1, 2])
            var = tf.reduce_mean(tf.square(x - mean), axis=[0, 1, 2])  # biased: used to normalise
            shape = tf.shape(x)
            count = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
            unbiased = var * count / tf.maximum(count - 1.0, 1.0)
            self.update_ops.append(running_mean.assign((1.0 - BN_MOMENTUM) * running_mean + BN_MOMENTUM * mean))
            self.update_ops.append(running_var.assign((1.0 - BN_MOMENTUM) * running_var + BN_MOMENTUM * unbiased))
        else:
            mean, var = running_mean, running_var
        return (x - mean) * (gamma * tf.rsqrt(var + BN_EPS)) + beta

    def logits(self, images, training):
        """images: float [B, H, 2W, C] in [-1, 1] (x1 | x2 along the width) -> logits [B, num_dims]."""
        tf = self.tf
        width = images.shape.as_list()[2]
        half = width // 2
        x1, x2 = images[:, :, :half, :], images[:, :, half:, :]
        x = x1 - x2 if self.input_mode == "diff" else tf.concat([x1, x2], axis=3)
        # conv 7x7 stride 2 pad 3 (PyTorch's symmetric padding; TF 'SAME' would pad 2/3 on even sizes)
        x = tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]])
        x = tf.nn.conv2d(x, self.convs[0], strides=[1, 2, 2, 1], padding="VALID")
        x = tf.nn.relu(self._batch_norm(x, 0, training))
        x = tf.nn.conv2d(x, self.convs[1], strides=[1, 1, 1, 1], padding="SAME")  # 3x3 s1: SAME == pad 1
        x = tf.nn.relu(self._batch_norm(x, 1, training))
        # max-pool 3x3 stride 2 pad 1, padding never wins (PyTorch pads with -inf)
        x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-np.inf)
        x = tf.nn.max_pool(x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="VALID")
        x = tf.nn.conv2d(x, self.convs[2], strides=[1, 1, 1, 1], padding="SAME")
        x = tf.nn.relu(self._batch_norm(x, 2, training))
        x = tf.nn.conv2d(x, self.convs[3], strides=[1, 1, 1, 1], padding="SAME")
        x = tf.nn.relu(self._batch_norm(x, 3, training))
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self.fc_w) + self.fc_b


def _adam_pytorch(tf, loss, params, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with PyTorch's update: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    (tf.train.AdamOptimizer puts eps inside the bias correction, which differs slightly.)"""
    grads = tf.gradients(loss, params)
    with tf.variable_scope("adam"):
        step = tf.get_variable("step", initializer=np.float32(0.0), trainable=False, use_resource=True)
        slots = [(tf.get_variable("m%d" % i, initializer=np.zeros(p.shape.as_list(), np.float32), trainable=False,
                                  use_resource=True),
                  tf.get_variable("v%d" % i, initializer=np.zeros(p.shape.as_list(), np.float32), trainable=False,
                                  use_resource=True)) for i, p in enumerate(params)]
    updates = []
    with tf.control_dependencies(grads):  # every gradient is computed before any weight changes
        t = step.read_value() + 1.0
        step_size = lr / (1.0 - tf.pow(beta1, t))
        root_c2 = tf.sqrt(1.0 - tf.pow(beta2, t))
        for p, g, (m, v) in zip(params, grads, slots):
            m_new = m.assign(beta1 * m + (1.0 - beta1) * g)
            v_new = v.assign(beta2 * v + (1.0 - beta2) * tf.square(g))
            updates.append(p.assign_sub(step_size * m_new / (tf.sqrt(v_new) / root_c2 + eps)))
    with tf.control_dependencies(updates):
        step_update = step.assign(t)
    return tf.group(*(updates + [step_update]))


def learning_rate(base_lr, step, total_steps, schedule):
    """Learning rate of training step ``step`` (0-based) of ``total_steps``: constant, or a cosine from base_lr at
    step 0 down to 0 at step total_steps."""
    if schedule == "cosine":
        return 0.5 * base_lr * (1.0 + np.cos(np.pi * step / float(total_steps)))
    return base_lr


def session_config(tf, threads=None):
    """A tf.ConfigProto: soft placement, GPU memory grown on demand, ``threads`` intra/inter-op threads (None:
    TF's choice)."""
    kw = dict(allow_soft_placement=True)
    if threads:
        kw.update(intra_op_parallelism_threads=int(threads), inter_op_parallelism_threads=int(threads))
    config = tf.ConfigProto(**kw)
    config.gpu_options.allow_growth = True
    return config


class TrainingGraph(object):
    """VarPred's training and evaluation graph for pairs of one shape, in its own (finalized) tf.Graph.

    pair_shape (H, 2W, C) of the uint8 pairs; ``net_class`` builds the network (default VarPred; metrics/vp_metric.py
    passes its own name for it). Feeds: ``images_in`` uint8 [B, H, 2W, C], ``targets_in`` int64 [B] (the varied dim),
    ``lr_in`` float32 []. Pixels are scaled to [-1, 1] in the graph (== ToTensor + Normalize(.5, .5)).
    """

    def __init__(self, pair_shape, num_dims, input_mode="diff", seed=0, device=None, net_class=None):
        from dnnlib.tflib.compat import tf

        self.tf = tf
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.set_random_seed(seed)
            with tf.device(device) if device else contextlib.nullcontext():
                self.images_in = tf.placeholder(tf.uint8, [None] + list(pair_shape), name="pairs")
                self.targets_in = tf.placeholder(tf.int64, [None], name="targets")
                self.lr_in = tf.placeholder(tf.float32, [], name="learning_rate")
                images = tf.cast(self.images_in, tf.float32) * (1.0 / 127.5) - 1.0
                self.net = (net_class or VarPred)(num_dims, pair_shape[2], input_mode, seed=seed)
                train_logits = self.net.logits(images, training=True)
                self.loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.targets_in, logits=train_logits))
                self.train_op = tf.group(_adam_pytorch(tf, self.loss, self.net.trainables, self.lr_in),
                                         *self.net.update_ops)
                self.eval_logits = self.net.logits(images, training=False)
                self.init = tf.global_variables_initializer()
            self.graph.finalize()

    def session(self, threads=None):
        """A tf.Session on this graph with the variables initialised (use it as a context manager)."""
        sess = self.tf.Session(graph=self.graph, config=session_config(self.tf, threads))
        sess.run(self.init)
        return sess

    def train_epoch(self, sess, pairs, targets, order, batch_size, learning_rates):
        """One pass over pairs[order] in batches of ``batch_size`` (the last partial batch kept, as PyTorch's
        DataLoader), batch i at learning_rates[i]. Returns the mean training loss per pair (float)."""
        loss_sum = 0.0
        for step, begin in enumerate(range(0, len(order), batch_size)):
            idx = np.sort(order[begin:begin + batch_size])  # sorted gather is faster; batch order irrelevant
            feed = {self.images_in: pairs[idx], self.targets_in: targets[idx], self.lr_in: learning_rates[step]}
            _, batch_loss = sess.run([self.train_op, self.loss], feed)
            loss_sum += float(batch_loss) * len(idx)
        return loss_sum / len(order)

    def evaluate(self, sess, pairs, targets, idx_all, batch_size, predicted):
        """BN in eval mode over pairs[idx_all]: returns (correct bool [len(idx_all)], summed NLL in nats); the
        predicted dims go to predicted[:len(idx_all)]."""
        correct = np.empty(len(idx_all), dtype=bool)
        predicted[:len(idx_all)] = -1
        nll = 0.0
        for begin in range(0, len(idx_all), batch_size):
            idx = idx_all[begin:begin + batch_size]
            logits = sess.run(self.eval_logits, {self.images_in: pairs[idx]}).astype(np.float64)
            y = targets[idx]
            predicted[begin:begin + len(idx)] = np.argmax(logits, axis=1)
            correct[begin:begin + len(idx)] = predicted[begin:begin + len(idx)] == y
            shifted = logits - logits.max(axis=1, keepdims=True)
            nll += float(np.sum(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y]))
        return correct, nll
