"""Losses of VP-GAN and its baselines.

Conventions: every loss returns per-sample tensors ([B] or [B, 1]); the training loop takes the
mean. Latent codes are [B, latent_size] = [one-hot discrete | continuous]; only the continuous
part is varied by the VP pairs.

VP term (the paper's Eq. 3, onedim): draw c1 from the prior, pick one continuous dim d uniformly,
c2 = c1 + step * e_d; the recognizer sees (G(c1), G(c2)) and is trained, together with G, to name
d:  L_VP = C_lambda * CE(softmax(I(x1, x2)), e_d). fulldim: every dim moves by (u - 0.5) * eps,
u ~ U(0, 1)^C, and the recognizer regresses u through a sigmoid (squared error).
"""

import numpy as np

from dnnlib.tflib import autosummary
from dnnlib.tflib.compat import tf

LATENT_TYPES = ("uniform", "normal", "trunc_normal")
DELTA_TYPES = ("onedim", "fulldim")


# ----------------------------------------------------------------------------------------------
# Latent sampling.


def sample_continuous(batch_size, size, latent_type="uniform"):
    """[B, size] from the training prior: U(-2, 2) ('uniform', the VP default), N(0, 1), or N(0, 1) truncated at 2 std."""
    if latent_type == "uniform":
        return tf.random_uniform([batch_size, size], minval=-2.0, maxval=2.0)
    if latent_type == "normal":
        return tf.random_normal([batch_size, size])
    if latent_type == "trunc_normal":
        return tf.truncated_normal([batch_size, size])
    raise ValueError("--latent_type must be one of %s, got %r" % (", ".join(LATENT_TYPES), latent_type))


def sample_continuous_np(rng, batch_size, size, latent_type="uniform"):
    """numpy twin of ``sample_continuous`` (grids, pairs, FID)."""
    if latent_type == "uniform":
        return rng.uniform(-2.0, 2.0, size=[batch_size, size]).astype(np.float32)
    if latent_type == "normal":
        return rng.standard_normal([batch_size, size]).astype(np.float32)
    if latent_type == "trunc_normal":
        out = rng.standard_normal([batch_size, size])
        bad = np.abs(out) > 2
        while bad.any():
            out[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(out) > 2
        return out.astype(np.float32)
    raise ValueError("--latent_type must be one of %s, got %r" % (", ".join(LATENT_TYPES), latent_type))


def sample_latents(batch_size, discrete_size, continuous_size, latent_type="uniform"):
    """[B, discrete_size + continuous_size]: a random one-hot category, then the continuous prior."""
    continuous = sample_continuous(batch_size, continuous_size, latent_type)
    if discrete_size == 0:
        return continuous
    category = tf.random_uniform([batch_size], 0, discrete_size, dtype=tf.int32)
    return tf.concat([tf.one_hot(category, discrete_size), continuous], axis=1)


def sample_vp_deltas(batch_size, continuous_size, delta_type="onedim", epsilon=3.0, random_eps=False, num_active=None):
    """Latent steps for the VP pairs.

    onedim: d ~ U{0..n-1} (n = ``num_active`` or all dims); step = epsilon, or epsilon * s with
        s ~ N(0, 2^2) per sample when ``random_eps`` (so the dim moves by N(0, (2 eps)^2)).
        Returns (delta [B, C] with one non-zero entry, target one-hot [B, C]).
    fulldim: u ~ U(0, 1)^C, delta = (u - 0.5) * epsilon, target u.
    """
    if delta_type == "onedim":
        limit = continuous_size if num_active is None else num_active
        dim = tf.random_uniform([batch_size], 0, limit, dtype=tf.int32)
        onehot = tf.one_hot(dim, continuous_size)
        if random_eps:
            step = epsilon * tf.random_normal([batch_size, 1], stddev=2.0)
        else:
            step = tf.fill([batch_size, 1], float(epsilon))
        return onehot * step, onehot
    if delta_type == "fulldim":
        u = tf.random_uniform([batch_size, continuous_size])
        return (u - 0.5) * epsilon, u
    raise ValueError("--delta_type must be one of %s, got %r" % (", ".join(DELTA_TYPES), delta_type))


def cascading_num_active(global_step, continuous_size):
    """The original's optional curriculum: n = min((step // (100000 // C)) mod C + 2, C) dims may vary."""
    period = max(100000 // continuous_size, 1)
    n = tf.math.floormod(tf.cast(global_step, tf.int32) // period, continuous_size) + 2
    return tf.minimum(n, continuous_size)


def vp_loss(logits, target, delta_type="onedim", C_lambda=1.0):
    """Per-sample VP loss [B]: C_lambda * cross-entropy (onedim) or squared error of sigmoid (fulldim)."""
    if delta_type == "onedim":
        log_prob = tf.log(tf.nn.softmax(logits, axis=1) + 1e-12)
        return -C_lambda * tf.reduce_sum(target * log_prob, axis=1)
    if delta_type == "fulldim":
        return C_lambda * tf.reduce_sum(tf.square(tf.nn.sigmoid(logits) - target), axis=1)
    raise ValueError("--delta_type must be one of %s, got %r" % (", ".join(DELTA_TYPES), delta_type))


def vp_accuracy(logits, target):
    """Fraction of pairs whose varied dim (argmax of |target|) is the recognizer's argmax."""
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1), tf.argmax(tf.abs(target), axis=1)), tf.float32))


def _random_labels(training_set, batch_size):
    if training_set is None or not getattr(training_set, "label_size", 0):
        return tf.zeros([batch_size, 0])
    return training_set.get_random_labels_tf(batch_size)


# ----------------------------------------------------------------------------------------------
# Generator losses.


def G_logistic_ns(G, D, training_set, minibatch_size, latent_type="uniform"):
    """Non-saturating logistic loss softplus(-D(G(c))) [B, 1], c from the training prior."""
    plan = _plan_of(G)
    latents = sample_latents(minibatch_size, plan.discrete_size, plan.continuous_size, latent_type)
    labels = _random_labels(training_set, minibatch_size)
    fakes = G.get_output_for(latents, labels, is_training=True)
    scores = D.get_output_for(fakes, labels, is_training=True)
    loss = tf.nn.softplus(-scores)
    return autosummary.autosummary("Loss/G_adv", loss), None


def G_logistic_ns_vp(G, D, I, training_set, minibatch_size, latent_type="uniform", delta_type="onedim",
                     epsilon=3.0, random_eps=False, C_lambda=1.0, cascading=False, global_step=None):
    """VP-GAN generator + recognizer loss: softplus(-D(x1)) [B, 1] and C_lambda * L_VP [B].

    x1 = G(c1), x2 = G(c2), each with its own noise draw as in the original. Only x1 is scored
    by D. The discrete part of c2 equals c1's, so a pair differs in one continuous dim only (the
    original zeroed c2's one-hot, a deviation listed in the README).
    Returns (G adversarial loss, VP loss); the loop optimises G and I jointly on their sum.
    """
    plan = _plan_of(G)
    latents1 = sample_latents(minibatch_size, plan.discrete_size, plan.continuous_size, latent_type)
    num_active = cascading_num_active(global_step, plan.continuous_size) if cascading else None
    delta, target = sample_vp_deltas(minibatch_size, plan.continuous_size, delta_type, epsilon, random_eps, num_active)
    zeros_discrete = tf.zeros([minibatch_size, plan.discrete_size])
    latents2 = latents1 + tf.concat([zeros_discrete, delta], axis=1)
    labels = _random_labels(training_set, minibatch_size)
    fakes1 = G.get_output_for(latents1, labels, is_training=True)
    fakes2 = G.get_output_for(latents2, labels, is_training=True)
    scores = D.get_output_for(fakes1, labels, is_training=True)
    logits = I.get_output_for(fakes1, fakes2, is_training=True)
    g_loss = autosummary.autosummary("Loss/G_adv", tf.nn.softplus(-scores))
    i_loss = autosummary.autosummary("Loss/VP", vp_loss(logits, target, delta_type, C_lambda))
    if delta_type == "onedim":
        i_loss = autosummary.autosummary("Acc/VP_recognizer", vp_accuracy(logits, target), passthru=i_loss)
    return g_loss, i_loss


def G_logistic_ns_info_gan(G, D, I, training_set, minibatch_size, latent_type="uniform", C_lambda=1.0, D_lambda=1.0):
    """InfoGAN baseline: softplus(-D(x)) and the mutual-information terms from a Q network I on x.

    I outputs [discrete logits (D) | mean (C) | log-variance (C)]; continuous codes get a Gaussian
    negative log-likelihood (weight C_lambda), the discrete code a cross-entropy (weight D_lambda).
    """
    plan = _plan_of(G)
    latents = sample_latents(minibatch_size, plan.discrete_size, plan.continuous_size, latent_type)
    labels = _random_labels(training_set, minibatch_size)
    fakes = G.get_output_for(latents, labels, is_training=True)
    scores = D.get_output_for(fakes, labels, is_training=True)
    outputs = I.get_output_for(fakes, is_training=True)
    g_loss = autosummary.autosummary("Loss/G_adv", tf.nn.softplus(-scores))
    info = info_gan_loss(outputs, latents, plan.discrete_size, plan.continuous_size, C_lambda, D_lambda)
    return g_loss, autosummary.autosummary("Loss/Info", info)


def info_gan_loss(outputs, latents, discrete_size, continuous_size, C_lambda=1.0, D_lambda=1.0):
    """Per-sample InfoGAN loss [B] for Q outputs [B, D + 2C] against the true codes [B, D + C]."""
    d, c = discrete_size, continuous_size
    mean, log_var = outputs[:, d:d + c], outputs[:, d + c:d + 2 * c]
    code = latents[:, d:]
    nll = 0.5 * (np.log(2 * np.pi) + log_var + tf.square(code - mean) * tf.exp(-log_var))
    loss = C_lambda * tf.reduce_sum(nll, axis=1)
    if d:
        loss += D_lambda * tf.nn.softmax_cross_entropy_with_logits_v2(labels=latents[:, :d], logits=outputs[:, :d])
    return loss


# ----------------------------------------------------------------------------------------------
# Discriminator loss.


def D_logistic_r1(G, D, training_set, minibatch_size, reals, labels, gamma=10.0, latent_type="uniform"):
    """softplus(D(fake)) + softplus(-D(real)) [B, 1], and the R1 penalty (gamma/2)*|dD(real)/dreal|^2 [B, 1].

    Fakes come from a fresh draw of the prior (independent of the G step). The penalty is returned
    separately so the loop can apply it lazily (every D_reg_interval minibatches, scaled by it).
    """
    plan = _plan_of(G)
    latents = sample_latents(minibatch_size, plan.discrete_size, plan.continuous_size, latent_type)
    fakes = G.get_output_for(latents, labels, is_training=True)
    real_scores = D.get_output_for(reals, labels, is_training=True)
    fake_scores = D.get_output_for(fakes, labels, is_training=True)
    real_scores = autosummary.autosummary("Loss/scores/real", real_scores)
    fake_scores = autosummary.autosummary("Loss/scores/fake", fake_scores)
    loss = autosummary.autosummary("Loss/D", tf.nn.softplus(fake_scores) + tf.nn.softplus(-real_scores))
    with tf.name_scope("R1"):
        grads = tf.gradients(tf.reduce_sum(real_scores), [reals])[0]
        penalty = tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])
        penalty = autosummary.autosummary("Loss/R1_penalty", penalty)
        reg = tf.reshape(penalty * (gamma * 0.5), [-1, 1])
    return loss, reg


def _plan_of(G):
    """The generator's module plan (sizes of the discrete and continuous code)."""
    from training.networks_vp import plan_generator

    kw = G.static_kwargs
    return plan_generator(
        kw.module_list, kw.get("resolution"), kw.get("label_size", 0), kw.get("fmap_base", 512),
        kw.get("fmap_decay", 0.15), kw.get("fmap_min", 16), kw.get("fmap_max", 512),
    )
