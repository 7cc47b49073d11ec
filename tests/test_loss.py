"""VP-GAN losses: the VP term, pair sampling, gradient routing between G, D and the recognizer,
the R1 penalty, the InfoGAN term and the latent priors (CPU, impl='ref', NHWC)."""

import numpy as np
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import tf
from training import loss as L

G_FUNC = "training.networks_vp.G_main_vp"
D_FUNC = "training.networks_stylegan2.D_stylegan2"
I_FUNC = "training.networks_vp.recognizer"

MODULE_LIST = "[C_global-2, Conv-up-1, C_global-3, Noise-1, Conv-id-1]"  # 5 continuous dims, 8x8
NET_KW = dict(resolution=8, data_format="NHWC", impl="ref")


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----------------------------------------------------------------------------------------------
# VP loss and accuracy.


@pytest.mark.parametrize("C_lambda", [1.0, 0.01])
def test_vp_loss_onedim_is_scaled_cross_entropy(tf_session, C_lambda):
    rng = np.random.RandomState(0)
    logits = rng.randn(6, 5).astype(np.float32) * 3
    dims = np.array([0, 4, 2, 2, 1, 3])
    target = np.eye(5, dtype=np.float32)[dims]
    got = tf_session.run(L.vp_loss(tf.constant(logits), tf.constant(target), "onedim", C_lambda))
    expected = -C_lambda * np.log(_softmax(logits.astype(np.float64))[np.arange(6), dims])
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("C_lambda", [1.0, 0.01])
def test_vp_loss_fulldim_is_scaled_squared_error(tf_session, C_lambda):
    rng = np.random.RandomState(1)
    logits = rng.randn(6, 5).astype(np.float32) * 2
    u = rng.uniform(0, 1, [6, 5]).astype(np.float32)
    got = tf_session.run(L.vp_loss(tf.constant(logits), tf.constant(u), "fulldim", C_lambda))
    expected = C_lambda * np.sum((_sigmoid(logits.astype(np.float64)) - u) ** 2, axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_vp_loss_bad_delta_type(tf_session):
    with pytest.raises(ValueError, match="delta_type"):
        L.vp_loss(tf.zeros([2, 3]), tf.zeros([2, 3]), "halfdim")


def test_vp_accuracy_hand_case(tf_session):
    logits = np.array([[1, 2, 0], [3, 0, 0], [0, 0, 5], [0, 1, 0]], np.float32)
    # targets may be signed deltas: the varied dim is argmax |target| -> 1, 2, 2, 0
    target = np.array([[0, -4, 0], [0, 0, 2], [0, 0, -1], [1.5, 0, 0]], np.float32)
    assert tf_session.run(L.vp_accuracy(tf.constant(logits), tf.constant(target))) == pytest.approx(0.5)
    assert tf_session.run(L.vp_accuracy(tf.constant(logits), tf.constant(np.eye(3, dtype=np.float32)[[1, 0, 2, 1]]))) == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------
# Pair sampling.


def _deltas(sess, n, c, seed=1, **kw):
    tf.set_random_seed(seed)
    return sess.run(L.sample_vp_deltas(n, c, **kw))


def test_onedim_fixed_step(tf_session):
    delta, target = _deltas(tf_session, 1000, 7, delta_type="onedim", epsilon=3.0, random_eps=False)
    assert delta.shape == target.shape == (1000, 7)
    assert np.all(np.sum(target, axis=1) == 1) and set(np.unique(target)) == {0.0, 1.0}
    nz = delta != 0
    assert np.all(nz.sum(axis=1) == 1)
    assert np.all(np.argmax(nz, axis=1) == np.argmax(target, axis=1))
    assert np.all(delta[nz] == 3.0)
    np.testing.assert_array_equal(delta, 3.0 * target)


def test_onedim_random_eps_step_is_normal_with_std_2eps(tf_session):
    n, c, eps = 20000, 10, 3.0
    delta, target = _deltas(tf_session, n, c, delta_type="onedim", epsilon=eps, random_eps=True)
    nz = delta != 0
    assert np.all(nz.sum(axis=1) == 1)  # a zero N(0, 36) draw has probability ~0
    assert np.all(np.argmax(nz, axis=1) == np.argmax(target, axis=1))
    step = delta[np.arange(n), np.argmax(target, axis=1)].astype(np.float64)
    sigma = 2 * eps  # N(0, (2 eps)^2): the original's s ~ N(0, 2^2) times eps
    # Standard errors for n normal draws: mean sigma/sqrt(n) ~ 0.042, std sigma/sqrt(2n) ~ 0.030; allow 5 of them.
    assert abs(step.mean()) < 5 * sigma / np.sqrt(n)
    assert abs(step.std() - sigma) < 5 * sigma / np.sqrt(2 * n)
    # and it is normal, not e.g. uniform: kurtosis 3 (SE sqrt(24/n) ~ 0.035)
    kurt = np.mean((step - step.mean()) ** 4) / step.var() ** 2
    assert abs(kurt - 3) < 5 * np.sqrt(24.0 / n)


def test_onedim_chosen_dim_is_uniform(tf_session):
    n, c = 20000, 10
    _, target = _deltas(tf_session, n, c, delta_type="onedim", epsilon=1.0, random_eps=True)
    counts = np.bincount(np.argmax(target, axis=1), minlength=c)
    chi2 = np.sum((counts - n / c) ** 2 / (n / c))
    # 9 degrees of freedom: mean 9, P(chi2 > 40) ~ 7e-6
    assert chi2 < 40, counts


@pytest.mark.parametrize("num_active", [3, "tensor"])
def test_onedim_num_active_restricts_dims(tf_session, num_active):
    n, c = 3000, 8
    active = 3 if num_active == 3 else tf.constant(3)
    delta, target = _deltas(tf_session, n, c, delta_type="onedim", epsilon=1.0, num_active=active)
    dims = np.argmax(target, axis=1)
    assert set(np.unique(dims)) == {0, 1, 2}
    assert np.all(delta[:, 3:] == 0) and np.all(target[:, 3:] == 0)


def test_fulldim_deltas(tf_session):
    n, c, eps = 5000, 6, 3.0
    delta, u = _deltas(tf_session, n, c, delta_type="fulldim", epsilon=eps)
    assert delta.shape == u.shape == (n, c)
    assert u.min() >= 0 and u.max() < 1
    np.testing.assert_allclose(delta, (u - 0.5) * eps, rtol=1e-6, atol=1e-6)
    assert np.all(delta != 0)  # every dim moves
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005


def test_sample_vp_deltas_bad_type(tf_session):
    with pytest.raises(ValueError, match="delta_type"):
        L.sample_vp_deltas(4, 3, delta_type="twodim")


@pytest.mark.parametrize("step, c, expected", [
    (0, 30, 2),            # period 100000 // 30 = 3333
    (3332, 30, 2),
    (3333, 30, 3),
    (3333 * 27, 30, 29),
    (3333 * 28, 30, 30),   # 28 + 2 = 30
    (3333 * 29, 30, 30),   # 29 + 2 = 31 -> clipped to 30
    (3333 * 30, 30, 2),    # wraps around (mod 30)
    (25000, 10, 4),        # period 10000: 2 + 2
    (123456, 1, 1),        # period 100000; (1 mod 1) + 2 = 2 -> min(2, 1)
    (99999, 200000, 100001),  # period max(0, 1) = 1 -> 99999 mod 200000 + 2
])
def test_cascading_num_active(tf_session, step, c, expected):
    assert tf_session.run(L.cascading_num_active(tf.constant(step, tf.int64), c)) == expected


# ----------------------------------------------------------------------------------------------
# Gradient routing in the VP-GAN graph.


def _tiny_nets(connect_mode="concat"):
    G = tflib.Network("G", func_name=G_FUNC, module_list=MODULE_LIST, fmap_base=16, fmap_min=4, **NET_KW)
    D = tflib.Network("D", func_name=D_FUNC, fmap_base=16, **NET_KW)
    I = tflib.Network("I", func_name=I_FUNC, num_outputs=5, connect_mode=connect_mode, fmap_base=16, **NET_KW)
    return G, D, I


def _grad_norms(sess, loss, variables):
    grads = tf.gradients(tf.reduce_mean(loss), variables)
    idx = [i for i, g in enumerate(grads) if g is not None]
    values = sess.run([grads[i] for i in idx]) if idx else []
    norms = [None] * len(grads)
    for i, v in zip(idx, values):
        norms[i] = float(np.sqrt(np.sum(np.square(v))))
    return norms


@pytest.mark.parametrize("delta_type", ["onedim", "fulldim"])
def test_vp_gradients_reach_G_and_I_not_D(tf_session, delta_type):
    tf.set_random_seed(5)
    G, D, I = _tiny_nets()
    G.set_var("3_Noise-1/Conv0/noise_strength", 0.3)
    g_loss, i_loss = L.G_logistic_ns_vp(G, D, I, None, 4, delta_type=delta_type, epsilon=3.0, random_eps=True, C_lambda=0.5)
    assert g_loss.shape.as_list() == [4, 1] and i_loss.shape.as_list() == [4]

    g_names, i_names, d_names = list(G.trainables), list(I.trainables), list(D.trainables)
    g_norms = _grad_norms(tf_session, i_loss, list(G.trainables.values()))
    i_norms = _grad_norms(tf_session, i_loss, list(I.trainables.values()))
    assert [n for n, g in zip(g_names, g_norms) if not g] == []  # every G trainable gets a non-zero gradient
    assert [n for n, g in zip(i_names, i_norms) if not g] == []
    assert tf.gradients(i_loss, list(D.trainables.values())) == [None] * len(d_names)

    # the adversarial term trains G (through D) but never reaches the recognizer
    assert tf.gradients(g_loss, list(I.trainables.values())) == [None] * len(i_names)
    adv_g = _grad_norms(tf_session, g_loss, list(G.trainables.values()))
    assert all(g is not None for g in adv_g) and sum(adv_g) > 0
    # no I op feeds the adversarial loss (apart from the shared autosummary bookkeeping)
    assert not any(op.name.startswith(I.scope + "/") for op in tflib.ancestor_ops([g_loss]))


def _capture(net, store):
    """Record the inputs and outputs of every get_output_for call on ``net``."""
    original = net.get_output_for

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        store.append((args, out))
        return out

    net.get_output_for = wrapped


@pytest.mark.parametrize("C_lambda, random_eps", [(1.0, True), (0.01, False)])
def test_vp_pair_construction_and_loss_in_graph(tf_session, C_lambda, random_eps):
    tf.set_random_seed(11)
    ml = "[D_global-3, C_global-2, Conv-up-1, C_global-3]"  # code = [one-hot 3 | continuous 5]
    G = tflib.Network("G", func_name=G_FUNC, module_list=ml, fmap_base=16, fmap_min=4, **NET_KW)
    D = tflib.Network("D", func_name=D_FUNC, fmap_base=16, **NET_KW)
    I = tflib.Network("I", func_name=I_FUNC, num_outputs=5, fmap_base=16, **NET_KW)
    g_calls, d_calls, i_calls = [], [], []
    _capture(G, g_calls)
    _capture(D, d_calls)
    _capture(I, i_calls)
    _, i_loss = L.G_logistic_ns_vp(G, D, I, None, 8, epsilon=3.0, random_eps=random_eps, C_lambda=C_lambda)
    assert len(g_calls) == 2 and len(d_calls) == 1 and len(i_calls) == 1
    (lat1, _), fakes1 = g_calls[0]
    (lat2, _), fakes2 = g_calls[1]
    assert d_calls[0][0][0] is fakes1                                      # only x1 is scored by D
    assert i_calls[0][0][0] is fakes1 and i_calls[0][0][1] is fakes2       # I sees (x1, x2) in that order
    c1, c2, logits, loss = tf_session.run([lat1, lat2, i_calls[0][1], i_loss])
    # the discrete part is a one-hot and is not varied (the original zeroed it in c2, see the report)
    np.testing.assert_array_equal(c1[:, :3].sum(axis=1), 1)
    np.testing.assert_array_equal(c2[:, :3], c1[:, :3])
    step = c2[:, 3:] - c1[:, 3:]
    moved = np.abs(step) > 1e-5
    assert np.all(moved.sum(axis=1) == 1)
    if not random_eps:
        np.testing.assert_allclose(step[moved], 3.0, rtol=1e-5)
    # the loss is C_lambda * CE against the one-hot of the moved dim
    dims = np.argmax(moved, axis=1)
    expected = -C_lambda * np.log(_softmax(logits.astype(np.float64))[np.arange(8), dims])
    np.testing.assert_allclose(loss, expected, rtol=1e-4, atol=1e-7)


def test_D_loss_is_independent_of_I(tf_session):
    tf.set_random_seed(3)
    G, D, I = _tiny_nets()
    i_ops_before = [op for op in tf.get_default_graph().get_operations() if op.name.startswith(I.scope + "/")]
    reals = tf.constant(np.random.RandomState(0).uniform(-1, 1, [4, 8, 8, 3]).astype(np.float32))
    labels = tf.zeros([4, 0])
    loss, reg = L.D_logistic_r1(G, D, None, 4, reals, labels, gamma=10.0)
    i_ops_after = [op for op in tf.get_default_graph().get_operations() if op.name.startswith(I.scope + "/")]
    assert i_ops_after == i_ops_before  # no recognizer op was created
    assert not any(op.name.startswith(I.scope + "/") for op in tflib.ancestor_ops([loss, reg]))
    i_vars = list(I.trainables.values())
    assert tf.gradients(loss, i_vars) == [None] * len(i_vars)
    assert tf.gradients(reg, i_vars) == [None] * len(i_vars)
    # D's own gradients exist
    assert all(g is not None for g in tf.gradients(loss, list(D.trainables.values())))
    assert loss.shape.as_list() == [4, 1] and reg.shape.as_list() == [4, 1]


@pytest.mark.parametrize("gamma", [10.0, 100.0])
def test_R1_penalty_matches_separate_gradient(tf_session, gamma):
    tf.set_random_seed(3)
    G, D, _ = _tiny_nets()
    reals_np = np.random.RandomState(1).uniform(-1, 1, [4, 8, 8, 3]).astype(np.float32)
    reals = tf.constant(reals_np)
    labels = tf.zeros([4, 0])
    _, reg = L.D_logistic_r1(G, D, None, 4, reals, labels, gamma=gamma)
    # separately: a fresh D call on the same reals
    reals2 = tf.constant(reals_np)
    scores = D.get_output_for(reals2, labels)
    dreal = tf.gradients(tf.reduce_sum(scores), [reals2])[0]
    reg_np, dreal_np = tf_session.run([reg, dreal])
    expected = (gamma / 2) * np.sum(np.square(dreal_np.astype(np.float64)), axis=(1, 2, 3))
    assert reg_np.shape == (4, 1)
    assert np.all(expected > 0)
    np.testing.assert_allclose(reg_np[:, 0], expected, rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# InfoGAN.


@pytest.mark.parametrize("d, c, C_lambda, D_lambda", [(3, 4, 0.5, 2.0), (0, 4, 1.0, 1.0)])
def test_info_gan_loss_hand_computed(tf_session, d, c, C_lambda, D_lambda):
    rng = np.random.RandomState(2)
    b = 5
    outputs = rng.randn(b, d + 2 * c).astype(np.float32)
    onehot = np.eye(d, dtype=np.float32)[rng.randint(0, d, b)] if d else np.zeros([b, 0], np.float32)
    code = rng.uniform(-2, 2, [b, c]).astype(np.float32)
    latents = np.concatenate([onehot, code], axis=1)
    got = tf_session.run(L.info_gan_loss(tf.constant(outputs), tf.constant(latents), d, c, C_lambda, D_lambda))

    out = outputs.astype(np.float64)
    mean, log_var = out[:, d:d + c], out[:, d + c:]
    std = np.sqrt(np.exp(log_var))
    # Gaussian NLL: -log N(code; mean, std^2)
    nll = -np.log(np.exp(-0.5 * ((code - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi)))
    expected = C_lambda * nll.sum(axis=1)
    if d:
        expected += D_lambda * -np.log(_softmax(out[:, :d])[onehot.astype(bool)])
    assert got.shape == (b,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Latent priors.


def test_sample_continuous_np():
    rng = np.random.RandomState(0)
    u = L.sample_continuous_np(rng, 20000, 5, "uniform")
    assert u.shape == (20000, 5) and u.dtype == np.float32
    assert u.min() >= -2 and u.max() < 2
    assert abs(u.mean()) < 0.03 and abs(u.var() - 16 / 12) < 0.03
    t = L.sample_continuous_np(rng, 20000, 5, "trunc_normal")
    assert np.abs(t).max() <= 2
    # variance of N(0, 1) truncated to [-2, 2]: 1 - 2*2*phi(2)/(Phi(2)-Phi(-2)) = 0.7737
    assert abs(t.var() - 0.7737) < 0.02
    nrm = L.sample_continuous_np(rng, 20000, 5, "normal")
    assert np.abs(nrm).max() > 2 and abs(nrm.var() - 1) < 0.03
    for kind in ("uniform", "normal", "trunc_normal"):
        a = L.sample_continuous_np(np.random.RandomState(42), 7, 3, kind)
        b = L.sample_continuous_np(np.random.RandomState(42), 7, 3, kind)
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="latent_type"):
        L.sample_continuous_np(rng, 2, 2, "laplace")


def test_sample_continuous_tf(tf_session):
    tf.set_random_seed(0)
    u, t = tf_session.run([L.sample_continuous(20000, 3, "uniform"), L.sample_continuous(20000, 3, "trunc_normal")])
    assert u.min() >= -2 and u.max() < 2 and abs(u.var() - 4 / 3) < 0.03
    assert np.abs(t).max() <= 2 and abs(t.var() - 0.7737) < 0.02
    with pytest.raises(ValueError, match="latent_type"):
        L.sample_continuous(2, 2, "laplace")


def test_sample_latents_discrete_then_continuous(tf_session):
    tf.set_random_seed(0)
    z = tf_session.run(L.sample_latents(1000, 3, 4))
    assert z.shape == (1000, 7)
    np.testing.assert_array_equal(z[:, :3].sum(axis=1), 1)
    assert set(np.unique(z[:, :3])) == {0.0, 1.0} and set(np.argmax(z[:, :3], axis=1)) == {0, 1, 2}
    assert z[:, 3:].min() >= -2 and z[:, 3:].max() < 2
