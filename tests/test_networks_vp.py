"""The VP generator (module-list grammar, widths, latent slices), the discriminator, the
recognizer, the InfoGAN Q network, their data-format independence and pickling.

Everything runs on the CPU: impl='ref' and NHWC (TF 1.15's CPU convolutions reject NCHW; under
TF 2 the NCHW graphs are run too).
"""

import pickle

import numpy as np
import pytest

from dnnlib import tflib
from dnnlib.tflib.compat import TF_MAJOR, tf
from training import networks_vp
from training.networks_vp import parse_module_list, plan_generator

G_FUNC = "training.networks_vp.G_main_vp"
D_FUNC = "training.networks_stylegan2.D_stylegan2"
I_FUNC = "training.networks_vp.recognizer"
Q_FUNC = "training.networks_info_gan.info_gan_q"

CELEBA_LIST = (
    "[Conv-up-1, C_global-10, Conv-id-2, Noise-2, Conv-up-1, C_global-10, Conv-id-1, Noise-2, Conv-up-1, "
    "C_global-5, Conv-id-2, Noise-2, Conv-id-1, Noise-2, Conv-up-1, C_global-5, Conv-id-1, Noise-2, Conv-id-2, "
    "Conv-up-1, Conv-id-1]"
)

# The original CelebA generator, module by module: (index, module key, size, out channels, spatial, latent slice).
CELEBA_TABLE = [
    (0, "Conv-up", 1, 512, 8, None),
    (1, "C_global", 10, 461, 8, (0, 10)),
    (2, "Conv-id", 2, 415, 8, None),
    (3, "Noise", 2, 374, 8, None),
    (4, "Conv-up", 1, 337, 16, None),
    (5, "C_global", 10, 304, 16, (10, 20)),
    (6, "Conv-id", 1, 274, 16, None),
    (7, "Noise", 2, 247, 16, None),
    (8, "Conv-up", 1, 222, 32, None),
    (9, "C_global", 5, 200, 32, (20, 25)),
    (10, "Conv-id", 2, 181, 32, None),
    (11, "Noise", 2, 163, 32, None),
    (12, "Conv-id", 1, 147, 32, None),
    (13, "Noise", 2, 132, 32, None),
    (14, "Conv-up", 1, 119, 64, None),
    (15, "C_global", 5, 107, 64, (25, 30)),
    (16, "Conv-id", 1, 97, 64, None),
    (17, "Noise", 2, 87, 64, None),
    (18, "Conv-id", 2, 78, 64, None),
    (19, "Conv-up", 1, 71, 128, None),
    (20, "Conv-id", 1, 64, 128, None),
]

# A tiny generator used below: fmap_base 32, decay 0.15, fmap_min 4 give widths
# int(32 / 2^(0.15 i)) = 32, 28, 25, 23, 21 (32/1.1096=28.84, 32/1.2311=25.99, 32/1.3660=23.43, 32/1.5157=21.11).
TINY_LIST = "[C_global-2, Conv-up-1, C_global-3, Noise-1, Conv-id-1]"
TINY_WIDTHS = [32, 28, 25, 23, 21]
TINY_KW = dict(resolution=8, module_list=TINY_LIST, fmap_base=32, fmap_min=4, impl="ref")


def _num_ops():
    return len(tf.get_default_graph().get_operations())


def _latents(n, size, seed=0):
    return np.random.RandomState(seed).uniform(-2, 2, [n, size]).astype(np.float32)


def _images(n, res, ch=3, seed=0, data_format="NHWC"):
    x = np.random.RandomState(seed).uniform(-1, 1, [n, res, res, ch]).astype(np.float32)
    return x if data_format == "NHWC" else x.transpose(0, 3, 1, 2)


def _make_G(name="G", data_format="NHWC", **kw):
    kwargs = dict(TINY_KW, data_format=data_format)
    kwargs.update(kw)
    return tflib.Network(name, func_name=G_FUNC, **kwargs)


def _param_count(net, prefix):
    return int(sum(np.prod(v.shape.as_list()) for n, v in net.trainables.items() if n.startswith(prefix)))


def _shapes(net):
    return {n: v.shape.as_list() for n, v in net.vars.items()}


def _reload(blob):
    graph = tf.Graph()
    sess = tf.Session(graph=graph)
    with graph.as_default(), sess.as_default():
        return pickle.loads(blob), graph, sess


# ----------------------------------------------------------------------------------------------
# Module-list grammar and the generator plan.


def test_parse_module_list_basic_and_size_zero_dropped():
    assert parse_module_list("[Conv-up-1, C_global-10, Conv-id-2]") == [("Conv-up", 1), ("C_global", 10), ("Conv-id", 2)]
    # whitespace is free; size-0 tokens vanish
    assert parse_module_list(" [ Conv-up-1 ,C_global-0,  Noise-0, C_nocond_global-4,D_global-3 ] ") == [
        ("Conv-up", 1), ("C_nocond_global", 4), ("D_global", 3)]
    plan = plan_generator("[Conv-up-1, Noise-0, C_global-3, Conv-id-0, Conv-id-1]", resolution=8)
    assert [(m.index, m.key, m.size) for m in plan.modules] == [(0, "Conv-up", 1), (1, "C_global", 3), (2, "Conv-id", 1)]
    # the widths follow the index after the drop (nf(1) = 461, nf(2) = 415)
    assert [m.fmaps for m in plan.modules] == [512, 461, 415]


def test_celeba_plan_matches_spec_table():
    plan = plan_generator(CELEBA_LIST, resolution=128)
    assert len(plan.modules) == 21
    got = [(m.index, m.key, m.size, m.fmaps, m.resolution,
            None if m.latent_start is None else (m.latent_start, m.latent_stop)) for m in plan.modules]
    assert got == CELEBA_TABLE
    assert plan.latent_size == 30 and plan.continuous_size == 30 and plan.discrete_size == 0
    assert plan.output_resolution == 128
    # the module table also agrees with the closed form nf(i) = clip(int(512 / 2^(0.15 i)), 16, 512)
    assert [m.fmaps for m in plan.modules] == [int(np.clip(int(512 / 2 ** (0.15 * i)), 16, 512)) for i in range(21)]


def test_plan_discrete_first_in_code_vector():
    # C_global listed before D_global: the one-hot still occupies the first dims of the code.
    plan = plan_generator("[C_global-4, D_global-3, Conv-up-1, C_global-2]", resolution=8)
    assert (plan.discrete_size, plan.continuous_size, plan.latent_size) == (3, 6, 9)
    slices = [(m.key, m.latent_start, m.latent_stop) for m in plan.modules]
    assert slices == [("C_global", 3, 7), ("D_global", 0, 3), ("Conv-up", None, None), ("C_global", 7, 9)]
    plan = plan_generator("[D_global-10, Conv-up-1, C_global-6, Conv-id-1, Conv-up-1, Conv-up-1]", resolution=32)
    assert [(m.key, m.latent_start, m.latent_stop) for m in plan.modules if m.latent_start is not None] == [
        ("D_global", 0, 10), ("C_global", 10, 16)]


def test_plan_labels_insert_module_zero_and_shift_widths():
    base = plan_generator("[Conv-up-1, C_global-4, Conv-id-1]", resolution=8)
    lab = plan_generator("[Conv-up-1, C_global-4, Conv-id-1]", resolution=8, label_size=5)
    assert [m.fmaps for m in base.modules] == [512, 461, 415]
    assert [(m.index, m.key, m.size) for m in lab.modules] == [(0, "Label", 5), (1, "Conv-up", 1), (2, "C_global", 4), (3, "Conv-id", 1)]
    assert [m.fmaps for m in lab.modules] == [512, 461, 415, 374]
    assert [m.resolution for m in lab.modules] == [4, 8, 8, 8]
    # labels are not part of the latent code
    assert lab.latent_size == 4 and (lab.modules[2].latent_start, lab.modules[2].latent_stop) == (0, 4)


def test_plan_fmap_clipping_and_multi_conv_resampling():
    plan = plan_generator("[Conv-up-2, C_global-1, Conv-down-1, Conv-up-1]", resolution=16, fmap_base=64, fmap_decay=1.0, fmap_min=10, fmap_max=40)
    # int(64 / 2^i) = 64, 32, 16, 8 -> clipped to [10, 40]; Conv-up-2 doubles twice
    assert [m.fmaps for m in plan.modules] == [40, 32, 16, 10]
    assert [m.resolution for m in plan.modules] == [16, 16, 8, 16]


@pytest.mark.parametrize("module_list, resolution, pattern", [
    ("Conv-up-1, C_global-2", 8, "bracketed"),
    ("[Conv-up-1, C_global-2", 8, "bracketed"),
    ("", 8, "required"),
    ("[Foo-1, Conv-up-1, C_global-2]", 8, "unknown module 'Foo'"),
    ("[Conv-up, C_global-2]", 8, "bad module 'Conv-up'"),
    ("[Conv-up-1, C_global]", 8, "bad module 'C_global'"),
    ("[Conv-up-1, C_global-x]", 8, "bad module"),
    ("[Conv-up-1, Conv-id-2]", 8, "no C_global"),
    ("[D_global-3, Conv-up-1]", 8, "no C_global"),
    ("[C_global-0, Conv-id-0]", 4, "no modules"),
    ("[C_global-2, Conv-down-1]", None, "below 4x4"),
    ("[Conv-up-2, C_global-2, Conv-down-3]", None, "below 4x4"),
    ("[Conv-up-1, C_global-4]", 32, r"8x8.*32x32.*use 3 Conv-up"),
    ("[Conv-up-1, C_global-4, Conv-up-2]", 16, r"32x32.*16x16.*use 2 Conv-up"),
])
def test_malformed_module_lists_fail_before_any_op(tf_session, module_list, resolution, pattern):
    before = _num_ops()
    with pytest.raises(ValueError, match=pattern):
        plan_generator(module_list, resolution=resolution)
    assert _num_ops() == before
    if resolution is None:
        return
    # The build function validates before it creates anything ...
    lat = tf.placeholder(tf.float32, [None, 4])
    lab = tf.placeholder(tf.float32, [None, 0])
    before = _num_ops()
    with pytest.raises(ValueError, match=pattern):
        networks_vp.G_main_vp(lat, lab, resolution=resolution, module_list=module_list, data_format="NHWC", impl="ref")
    assert _num_ops() == before
    # ... and so does a Network: it only made its input placeholders.
    ops = set(tf.get_default_graph().get_operations())
    with pytest.raises(ValueError, match=pattern):
        tflib.Network("G", func_name=G_FUNC, resolution=resolution, module_list=module_list, data_format="NHWC", impl="ref")
    new_ops = [op for op in tf.get_default_graph().get_operations() if op not in ops]
    assert all(op.type == "Placeholder" for op in new_ops), [op.type for op in new_ops]
    assert tf.global_variables() == []


# ----------------------------------------------------------------------------------------------
# Generator graph.


def test_G_builds_with_hand_counted_parameters(tf_session):
    G = _make_G()
    assert G.input_shapes == [[None, 5], [None, 0]]
    assert G.output_shapes == [[None, 8, 8, 3]]
    out = G.run(_latents(4, 5), None, randomize_noise=False)
    assert out.shape == (4, 8, 8, 3) and out.dtype == np.float32 and np.all(np.isfinite(out))
    plan = plan_generator(TINY_LIST, 8, fmap_base=32, fmap_min=4)
    assert [m.fmaps for m in plan.modules] == TINY_WIDTHS

    shapes = _shapes(G)
    assert shapes["Const/const"] == [1, 8, 4, 4]
    # C_global-k module (cin -> cout): 3*3*cin*cout conv + k*cin mod_weight + cin mod_bias + cout bias.
    assert shapes["0_C_global-2/mod_weight"] == [2, 8] and shapes["2_C_global-3/mod_weight"] == [3, 28]
    assert _param_count(G, "0_C_global-2/") == 3 * 3 * 8 * 32 + 2 * 8 + 8 + 32
    assert _param_count(G, "2_C_global-3/") == 3 * 3 * 28 * 25 + 3 * 28 + 28 + 25
    assert _param_count(G, "1_Conv-up-1/") == 3 * 3 * 32 * 28 + 28
    # Noise: conv without bias + strength + bias after the noise; the fixed noise image is not trainable
    assert _param_count(G, "3_Noise-1/") == 3 * 3 * 25 * 23 + 1 + 23
    assert shapes["3_Noise-1/Conv0/noise_const"] == [1, 1, 8, 8] and "3_Noise-1/Conv0/noise_const" not in G.trainables
    assert _param_count(G, "4_Conv-id-1/") == 3 * 3 * 23 * 21 + 21
    assert _param_count(G, "ToRGB/") == 21 * 3 + 3
    assert G.num_params() == 128 + 2360 + 8092 + 6437 + 5199 + 4368 + 66
    # only latent modules carry a modulation
    assert sorted(n.split("/")[0] for n in G.vars if n.endswith("mod_weight")) == ["0_C_global-2", "2_C_global-3"]


def test_G_celeba_widths_in_graph(tf_session):
    # build only (128x128 at fmap_base 512 would be slow to run on a CPU)
    lat = tf.placeholder(tf.float32, [None, 30])
    lab = tf.placeholder(tf.float32, [None, 0])
    with tf.variable_scope("G"):
        out = networks_vp.G_main_vp(lat, lab, resolution=128, module_list=CELEBA_LIST, data_format="NHWC", impl="ref")
    assert out.shape.as_list() == [None, 128, 128, 3]
    weights = {v.name[2:-2]: v.shape.as_list() for v in tf.global_variables() if v.name.endswith("/weight:0")}
    cin = 8
    for idx, key, size, fmaps, _res, _sl in CELEBA_TABLE:
        convs = [""] if key == "C_global" else ["Conv%d/" % j for j in range(size)]
        for j, conv in enumerate(convs):
            assert weights["%d_%s-%d/%sweight" % (idx, key, size, conv)] == [3, 3, cin, fmaps]
            cin = fmaps
    assert weights["ToRGB/weight"] == [1, 1, 64, 3]
    # the original CelebA generator: about 15.3 M parameters (analytical count)
    total = sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables())
    assert 15.2e6 < total < 15.4e6, total


def test_G_latent_slices_reach_only_their_modules(tf_session):
    G = _make_G(randomize_noise=False)
    layer_out = {name: t for name, t in [(n, o) for n, o, _ in G.list_layers()]}
    mod0 = layer_out["0_C_global-2"]
    assert mod0.shape.as_list() == [None, 4, 4, 32]
    lat_t, lab_t = G.input_templates
    img = G.output_templates[0]

    base = _latents(4, 5, seed=1)
    pert_a, pert_b = base.copy(), base.copy()
    pert_a[:, 0:2] += 1.0   # slice of module 0 (C_global-2): c[0:2]
    pert_b[:, 2:5] += 1.0   # slice of module 2 (C_global-3): c[2:5]
    run = lambda t, z: tf_session.run(t, {lat_t: z, lab_t: np.zeros([4, 0], np.float32)})  # noqa: E731

    # module 0 sees only its own slice
    assert not np.allclose(run(mod0, base), run(mod0, pert_a))
    np.testing.assert_array_equal(run(mod0, base), run(mod0, pert_b))
    # the image depends on both slices
    assert np.abs(run(img, base) - run(img, pert_a)).max() > 1e-4
    assert np.abs(run(img, base) - run(img, pert_b)).max() > 1e-4
    # gradient structure: d(module 0)/dc is zero outside c[0:2]
    g0 = run(tf.gradients(tf.reduce_sum(tf.square(mod0)), lat_t)[0], base)
    assert np.all(g0[:, 2:] == 0) and np.all(np.abs(g0[:, :2]).sum(axis=0) > 0)
    gi = run(tf.gradients(tf.reduce_sum(tf.square(img)), lat_t)[0], base)
    assert np.all(np.abs(gi).sum(axis=0) > 0)


def test_G_noise_randomization_and_determinism(tf_session):
    G = _make_G()
    G.set_var("3_Noise-1/Conv0/noise_strength", 0.5)
    z = _latents(4, 5)
    fixed1 = G.run(z, None, randomize_noise=False)
    fixed2 = G.run(z, None, randomize_noise=False)
    np.testing.assert_array_equal(fixed1, fixed2)
    rand1 = G.run(z, None, randomize_noise=True)
    rand2 = G.run(z, None, randomize_noise=True)
    assert np.abs(rand1 - rand2).max() > 1e-4
    # with zero strength the noise is irrelevant
    G.set_var("3_Noise-1/Conv0/noise_strength", 0.0)
    np.testing.assert_allclose(G.run(z, None, randomize_noise=True), G.run(z, None, randomize_noise=False), atol=1e-6)


def test_G_return_dlatents(tf_session):
    G = _make_G(label_size=2, return_dlatents=True, randomize_noise=False)
    assert G.output_shapes == [[None, 8, 8, 3], [None, 7]]
    z = _latents(4, 5)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    images, dlatents = G.run(z, labels)
    assert images.shape == (4, 8, 8, 3)
    np.testing.assert_array_equal(dlatents, np.concatenate([labels, z], axis=1))
    # the Label module is module 0 and modulates by the labels
    assert _shapes(G)["0_Label-2/mod_weight"] == [2, 8]
    other = labels[:, ::-1].copy()
    assert np.abs(G.run(z, other)[0] - images).max() > 1e-4


def test_G_with_discrete_code(tf_session):
    ml = "[D_global-3, Conv-up-1, C_global-2, C_nocond_global-2]"
    G = _make_G(module_list=ml, randomize_noise=False)
    shapes = _shapes(G)
    assert shapes["Const/const"] == [1, 8, 4, 4]
    assert shapes["0_D_global-3/mod_weight"] == [3, 8]
    assert shapes["2_C_global-2/Gate/weight"] == [3, 128] and shapes["2_C_global-2/Gate/weight1"] == [128, 2]
    assert shapes["3_C_nocond_global-2/Embed/weight"] == [2, 128] and shapes["3_C_nocond_global-2/mod_weight"] == [128, 25]
    z = np.concatenate([np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], _latents(4, 4)], axis=1)
    z2 = z.copy()
    z2[:, :3] = np.eye(3, dtype=np.float32)[[1, 2, 0, 1]]
    assert np.abs(G.run(z, None) - G.run(z2, None)).max() > 1e-5
    # one learned constant per category when single_const=False
    G2 = _make_G(name="G2", module_list=ml, single_const=False, randomize_noise=False)
    assert _shapes(G2)["Const/const"] == [3, 8, 4, 4]
    assert G2.run(z, None).shape == (4, 8, 8, 3)


# ----------------------------------------------------------------------------------------------
# Discriminator and recognizer.


def _expected_body_shapes(in_ch):
    # resolution 16, fmap_base 512, decay 1: nf(stage) = clip(512 / 2^stage, 1, 512)
    nf = lambda s: int(np.clip(512 // 2 ** s, 1, 512))  # noqa: E731
    assert [nf(s) for s in range(4)] == [512, 256, 128, 64]
    return {
        "FromRGB/weight": [1, 1, in_ch, 64], "FromRGB/bias": [64],
        "16x16/Conv0/weight": [3, 3, 64, 64], "16x16/Conv0/bias": [64],
        "16x16/Conv1_down/weight": [3, 3, 64, 128], "16x16/Conv1_down/bias": [128],
        "16x16/Skip/weight": [1, 1, 64, 128],
        "8x8/Conv0/weight": [3, 3, 128, 128], "8x8/Conv0/bias": [128],
        "8x8/Conv1_down/weight": [3, 3, 128, 256], "8x8/Conv1_down/bias": [256],
        "8x8/Skip/weight": [1, 1, 128, 256],
        "4x4/Conv/weight": [3, 3, 257, 256], "4x4/Conv/bias": [256],  # +1 minibatch-stddev channel
        "4x4/Dense0/weight": [256 * 16, 512], "4x4/Dense0/bias": [512],
    }


def test_D_widths_resolution16(tf_session):
    D = tflib.Network("D", func_name=D_FUNC, resolution=16, data_format="NHWC", impl="ref")
    expected = _expected_body_shapes(3)
    expected.update({"Output/weight": [512, 1], "Output/bias": [1]})
    assert _shapes(D) == expected  # exactly these variables (no bias on the skips)
    scores = D.run(_images(4, 16), np.zeros([4, 0], np.float32))
    assert scores.shape == (4, 1) and np.all(np.isfinite(scores))


def test_D_parameter_count_at_celeba_resolution(tf_session):
    # the original D at 128x128 has widths 8..256 and about 3.32 M parameters
    D = tflib.Network("D", func_name=D_FUNC, resolution=128, data_format="NHWC", impl="ref")
    assert D.vars["FromRGB/weight"].shape.as_list() == [1, 1, 3, 8]
    assert D.vars["128x128/Conv1_down/weight"].shape.as_list() == [3, 3, 8, 16]
    assert 3.30e6 < D.num_params() < 3.34e6, D.num_params()
    I = tflib.Network("I", func_name=I_FUNC, resolution=128, num_outputs=30, data_format="NHWC", impl="ref")
    assert I.vars["FromRGB/weight"].shape.as_list() == [1, 1, 6, 8]
    assert I.vars["Output/weight"].shape.as_list() == [512, 30]
    assert 3.32e6 < I.num_params() < 3.36e6, I.num_params()


@pytest.mark.parametrize("mode, in_ch", [("concat", 6), ("diff", 3)])
def test_recognizer_widths_and_modes(tf_session, mode, in_ch):
    I = tflib.Network("I", func_name=I_FUNC, resolution=16, num_outputs=7, connect_mode=mode, data_format="NHWC", impl="ref")
    expected = _expected_body_shapes(in_ch)
    expected.update({"Output/weight": [512, 7], "Output/bias": [7]})
    assert _shapes(I) == expected
    assert I.input_shapes == [[None, 16, 16, 3], [None, 16, 16, 3]]
    x, y = _images(4, 16, seed=1), _images(4, 16, seed=2)
    logits = I.run(x, y)
    assert logits.shape == (4, 7) and np.all(np.isfinite(logits))
    if mode == "diff":
        # (x, x) and (y, y) both give a zero input
        np.testing.assert_array_equal(I.run(x, x), I.run(np.zeros_like(x), np.zeros_like(x)))
        np.testing.assert_array_equal(I.run(y, y), I.run(x, x))
        np.testing.assert_allclose(I.run(x + 0.5, y + 0.5), logits, rtol=1e-4, atol=1e-5)
    else:
        # concat keeps the order: swapping the pair changes the input
        assert np.abs(I.run(y, x) - logits).max() > 1e-5


def test_recognizer_bad_connect_mode(tf_session):
    with pytest.raises(ValueError, match="connect_mode"):
        tflib.Network("I", func_name=I_FUNC, resolution=8, num_outputs=3, connect_mode="sum", data_format="NHWC", impl="ref")


def test_info_gan_q_outputs(tf_session):
    Q = tflib.Network("Q", func_name=Q_FUNC, resolution=8, num_outputs=3 + 2 * 4, fmap_base=32, data_format="NHWC", impl="ref")
    assert Q.output_shapes == [[None, 11]]
    assert Q.vars["FromRGB/weight"].shape.as_list() == [1, 1, 3, 8]  # nf(2) = 32 / 4
    assert Q.run(_images(4, 8)).shape == (4, 11)


# ----------------------------------------------------------------------------------------------
# Data-format independence of the weights.


def _check_layout(tf_session, make, inputs_nhwc, to_nchw_inputs, out_is_image, run_kwargs=None):
    """make(name, data_format) -> Network. Same weights must give the same outputs in both layouts."""
    run_kwargs = run_kwargs or {}
    a = make("A", "NHWC")
    b = make("B", "NCHW")  # building an NCHW graph works under TF 1.15 too; only running it does not
    assert _shapes(a) == _shapes(b)
    a.copy_vars_from(b)
    c = b.clone(name="C", data_format="NHWC")
    assert c.static_kwargs.data_format == "NHWC" and b.static_kwargs.data_format == "NCHW"
    out_a = a.run(*inputs_nhwc, **run_kwargs)
    out_c = c.run(*inputs_nhwc, **run_kwargs)
    np.testing.assert_array_equal(out_a, out_c)
    if TF_MAJOR >= 2:
        out_b = b.run(*to_nchw_inputs(inputs_nhwc), **run_kwargs)
        if out_is_image:
            out_b = out_b.transpose(0, 2, 3, 1)
        np.testing.assert_allclose(out_b, out_a, rtol=1e-4, atol=1e-5)


def test_layout_independence_G(tf_session):
    def make(name, df):
        G = _make_G(name, df, module_list="[C_global-2, Conv-up-1, C_global-3, Noise-1, Conv-down-1, Conv-up-1, Conv-id-1]")
        G.set_var("3_Noise-1/Conv0/noise_strength", 0.5)  # so the fixed noise image's layout matters
        return G

    _check_layout(tf_session, make, [_latents(4, 5), None], lambda ins: ins, True, dict(randomize_noise=False))


def test_layout_independence_D(tf_session):
    make = lambda name, df: tflib.Network(name, func_name=D_FUNC, resolution=16, fmap_base=64, data_format=df, impl="ref")  # noqa: E731
    to_nchw = lambda ins: [ins[0].transpose(0, 3, 1, 2), ins[1]]  # noqa: E731
    _check_layout(tf_session, make, [_images(4, 16), np.zeros([4, 0], np.float32)], to_nchw, False)


@pytest.mark.parametrize("mode", ["concat", "diff"])
def test_layout_independence_recognizer(tf_session, mode):
    make = lambda name, df: tflib.Network(name, func_name=I_FUNC, resolution=16, num_outputs=5, connect_mode=mode, fmap_base=64, data_format=df, impl="ref")  # noqa: E731
    to_nchw = lambda ins: [x.transpose(0, 3, 1, 2) for x in ins]  # noqa: E731
    _check_layout(tf_session, make, [_images(4, 16, seed=1), _images(4, 16, seed=2)], to_nchw, False)


# ----------------------------------------------------------------------------------------------
# Pickling.


def test_G_pickle_round_trip_bit_exact(tf_session):
    G = _make_G(label_size=2)
    G.set_var("4_Noise-1/Conv0/noise_strength", 0.7)  # the Label module shifted the indices by one
    z = _latents(4, 5, seed=3)
    labels = np.eye(2, dtype=np.float32)[[0, 1, 0, 1]]
    expected = G.run(z, labels, randomize_noise=False)
    values = {n: G.get_var(n) for n in G.vars}
    blob = pickle.dumps(G)
    G2, graph, sess = _reload(blob)
    with graph.as_default(), sess.as_default():
        assert G2.static_kwargs == G.static_kwargs
        assert list(G2.vars) == list(G.vars) and list(G2.trainables) == list(G.trainables)
        for n in G.vars:
            np.testing.assert_array_equal(G2.get_var(n), values[n])
        np.testing.assert_array_equal(G2.run(z, labels, randomize_noise=False), expected)
    sess.close()
