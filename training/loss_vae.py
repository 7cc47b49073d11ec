"""Losses of the VAE family: VAE, beta-VAE, VP-VAE (the original's VAE-VC) and FactorVAE.

Per-sample terms (images x in [0, 1], the encoder's posterior N(mean, std^2), z = mean + std * eps):

  recon   Bernoulli negative log-likelihood: sigmoid cross-entropy of the decoder logits against x,
          summed over pixels                                                           [B]
  kl      KL(N(mean, std^2) || N(0, 1)) per dim = 0.5 (mean^2 + std^2 - 1 - log(std^2 + 1e-8))  [B, L]
  vp      C_lambda * L_VP of the recognizer on (Dec_logits(z), Dec_logits(z + delta)), with z the
          posterior SAMPLE of the real batch, so the VP gradient reaches the encoder through the
          reparameterisation (as the original). Deltas: onedim e_d * s, s ~ N(0, 2^2) (no epsilon
          factor, unlike the GAN); fulldim (u - 0.5) * vc_epsilon with target u ~ U(0, 1)^L.   [B]
  tc      FactorVAE's total-correlation estimate logit_joint - logit_permuted of the TC
          discriminator on z                                                             [B]

  total = mean(recon) + sum_d beta * mean_B(kl[:, d]) + L2 + mean(vp) + tc_gamma * mean(tc)

L2 = l2_weight * sum(w^2) / 2 over every conv / deconv / dense kernel of the encoder, the decoder
and the recognizer (biases excluded): TF-slim's ``l2_regularizer`` (scale * tf.nn.l2_loss), which
the original put on all its slim layers with scale 4e-5.
The TC discriminator is trained separately (``tc_discriminator_loss``, its own Adam) to tell z from
a dimension-wise permutation of z; the VAE optimiser never updates it.
"""

from dnnlib.tflib import autosummary
from dnnlib.tflib.compat import tf
from dnnlib.util import EasyDict
from training import loss as gan_loss
from training.networks_vae import kernel_variables

KL_EPS = 1e-8
VP_STEP_STD = 2.0  # onedim: the varied dim moves by N(0, 2^2)


def bernoulli_recon(logits, targets):
    """Per-sample Bernoulli NLL [B]: sigmoid cross-entropy summed over all pixels (targets in [0, 1])."""
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_sum(tf.reshape(ce, [tf.shape(ce)[0], -1]), axis=1)


def gaussian_kl(mean, std):
    """KL(N(mean, std^2) || N(0, 1)) per sample and dim [B, L]."""
    return 0.5 * (tf.square(mean) + tf.square(std) - 1.0 - tf.log(tf.square(std) + KL_EPS))


def l2_penalty(networks, l2_weight):
    """l2_weight * sum(w^2) / 2 over the kernels of the given networks (None entries skipped)."""
    kernels = [v for net in networks if net is not None for v in kernel_variables(net)]
    if not kernels or not l2_weight:
        return tf.constant(0.0)
    return l2_weight * tf.add_n([tf.nn.l2_loss(v) for v in kernels])


def sample_vae_deltas(batch_size, latent_size, delta_type="fulldim", vc_epsilon=1.0):
    """(delta [B, L], target [B, L]): onedim e_d * N(0, 2^2) with a one-hot target; fulldim
    (u - 0.5) * vc_epsilon with target u. Reuses the GAN sampler (onedim: epsilon 1, random steps)."""
    if delta_type == "onedim":
        return gan_loss.sample_vp_deltas(batch_size, latent_size, "onedim", epsilon=1.0, random_eps=True)
    return gan_loss.sample_vp_deltas(batch_size, latent_size, delta_type, epsilon=vc_epsilon)


def permute_dims(z):
    """Shuffle every column of z independently over the batch (samples of the product of marginals)."""
    batch = tf.shape(z)[0]
    columns = tf.unstack(z, axis=1)
    # gather by shuffled indices (differentiable, unlike shuffling the values themselves)
    return tf.stack([tf.gather(c, tf.random_shuffle(tf.range(batch))) for c in columns], axis=1)


def vae_loss(E, Dec, reals, I=None, TC=None, beta=1.0, C_lambda=1.0, delta_type="fulldim", vc_epsilon=1.0,
             l2_weight=4e-5, tc_gamma=35.0, summaries=True):
    """All terms of the VAE objective on one batch of reals (float in [0, 1], the networks' layout).

    ``I`` (VP recognizer) adds the VP term, ``TC`` (FactorVAE discriminator) the total-correlation
    term. Returns an EasyDict of tensors: total (scalar), recon [B], kl [B, L], kl_dims [L]
    (batch means), l2, vp [B] (zeros without I), tc [B] (zeros without TC), and the intermediates
    mean, std, eps, z, logits, delta, target, vp_logits (None where unused).
    """
    batch = tf.shape(reals)[0]
    latent_size = int(E.static_kwargs.latent_size)
    no_labels = tf.zeros([batch, 0])
    mean, std = E.get_output_for(reals, is_training=True)
    eps = tf.random_normal(tf.shape(mean))
    z = mean + std * eps
    logits = Dec.get_output_for(z, no_labels, return_logits=True, is_training=True)
    recon = bernoulli_recon(logits, reals)
    kl = gaussian_kl(mean, std)
    kl_dims = tf.reduce_mean(kl, axis=0)
    t = EasyDict(mean=mean, std=std, eps=eps, z=z, logits=logits, recon=recon, kl=kl, kl_dims=kl_dims,
                 delta=None, target=None, vp_logits=None, vp=tf.zeros([batch]), tc=tf.zeros([batch]), tc_logits=None)
    t.l2 = l2_penalty([E, Dec, I], l2_weight)
    total = tf.reduce_mean(recon) + beta * tf.reduce_sum(kl_dims) + t.l2

    if I is not None:
        # x1 = Dec(z) is the reconstruction itself; x2 = Dec(z + delta).
        t.delta, t.target = sample_vae_deltas(batch, latent_size, delta_type, vc_epsilon)
        logits2 = Dec.get_output_for(z + t.delta, no_labels, return_logits=True, is_training=True)
        t.vp_logits = I.get_output_for(logits, logits2, is_training=True)
        t.vp = gan_loss.vp_loss(t.vp_logits, t.target, delta_type, C_lambda)
        total += tf.reduce_mean(t.vp)
    if TC is not None:
        t.tc_logits = TC.get_output_for(z, is_training=True)
        t.tc = t.tc_logits[:, 0] - t.tc_logits[:, 1]
        total += tc_gamma * tf.reduce_mean(t.tc)
    t.total = total

    if summaries:
        t.total = autosummary.autosummary("Loss/recon", recon, passthru=t.total)
        t.total = autosummary.autosummary("Loss/KL", tf.reduce_sum(kl, axis=1), passthru=t.total)
        for d in range(latent_size):
            t.total = autosummary.autosummary("KL/dim%d" % d, kl[:, d], passthru=t.total)
        t.total = autosummary.autosummary("Loss/L2", t.l2, passthru=t.total)
        if I is not None:
            t.total = autosummary.autosummary("Loss/VP", t.vp, passthru=t.total)
            if delta_type == "onedim":
                t.total = autosummary.autosummary("Acc/VP_recognizer", gan_loss.vp_accuracy(t.vp_logits, t.target), passthru=t.total)
        if TC is not None:
            t.total = autosummary.autosummary("Loss/TC", t.tc, passthru=t.total)
        t.total = autosummary.autosummary("Loss/total", t.total)
    return t


def tc_discriminator_loss(E, TC, reals, summaries=True):
    """FactorVAE discriminator loss (scalar): cross-entropy of TC on z (class 0, 'joint') and on a
    dimension-wise permutation of z (class 1), 0.5 each; z is the posterior sample of ``reals``,
    with the gradient stopped (only TC learns from this loss). Returns (loss, accuracy)."""
    mean, std = E.get_output_for(reals, is_training=True)
    z = tf.stop_gradient(mean + std * tf.random_normal(tf.shape(mean)))
    z_perm = permute_dims(z)
    logits_joint = TC.get_output_for(z, is_training=True)
    logits_perm = TC.get_output_for(z_perm, is_training=True)
    batch = tf.shape(z)[0]
    ce_joint = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.zeros([batch], tf.int32), logits=logits_joint)
    ce_perm = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.ones([batch], tf.int32), logits=logits_perm)
    loss = 0.5 * (tf.reduce_mean(ce_joint) + tf.reduce_mean(ce_perm))
    correct = tf.concat([tf.cast(tf.equal(tf.argmax(logits_joint, axis=1), 0), tf.float32),
                         tf.cast(tf.equal(tf.argmax(logits_perm, axis=1), 1), tf.float32)], axis=0)
    accuracy = tf.reduce_mean(correct)
    if summaries:
        loss = autosummary.autosummary("Loss/TC_D", loss)
        loss = autosummary.autosummary("Acc/TC_D", accuracy, passthru=loss)
    return loss, accuracy
