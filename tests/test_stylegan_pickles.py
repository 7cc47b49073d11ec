"""Network pickles in the format of NVIDIA's TF StyleGAN (state version 3, also 2) and StyleGAN2 (version 4) load
and run on both runtimes, embedded TF1 source included.

The pickles are written here, byte for byte the way NVIDIA's ``dnnlib.tflib.network.Network.__getstate__``
leaves them: a NEWOBJ of ``dnnlib.tflib.network.Network`` with a state dict holding the build module's source
(which does ``import tensorflow as tf`` and calls the TF1 API), the build function's name, the static kwargs,
the sub-networks and the variables. Outputs are checked against numpy.
"""

import hashlib
import pickle

import numpy as np
import pytest

from dnnlib import cli, tflib
from dnnlib.tflib.compat import tf
from dnnlib.tflib.network import Network
from metrics import fid
from tests.nets_for_tests import PicklesAsNetwork
from training import snapshots

# Written as NVIDIA's network modules are: TF1 calls on ``tensorflow`` itself, Dimension.value, sub-networks made
# with tflib.Network(func_name=globals()[...]) on the template call.
TF1_SOURCE = '''
"""A toy feature network and a toy GAN in the style of NVIDIA's networks_stylegan2.py."""
import numpy as np
import tensorflow as tf
import dnnlib
import dnnlib.tflib as tflib


def dense(x, fmaps, name):
    with tf.variable_scope(name):
        w = tf.get_variable("weight", shape=[x.shape[1].value, fmaps], initializer=tf.initializers.random_normal(0, 1))
        b = tf.get_variable("bias", shape=[fmaps], initializer=tf.initializers.zeros())
        return tf.nn.bias_add(tf.matmul(x, w), b)


def Head(features_in, in_dims=8, out_dims=3, **_kwargs):
    features_in.set_shape([None, in_dims])
    return tf.identity(tf.nn.tanh(dense(features_in, out_dims, "Dense")), name="head_out")


def Features(images_in, resolution=4, conv_maps=2, out_dims=3, is_template_graph=False, components=dnnlib.EasyDict(),
             **_kwargs):
    images_in.set_shape([None, 3, resolution, resolution])
    if "head" not in components:
        components.head = tflib.Network("Head", func_name=globals()["Head"], in_dims=conv_maps * resolution ** 2,
                                        out_dims=out_dims)
    x = tf.transpose(images_in / 127.5 - 1, [0, 2, 3, 1])
    with tf.variable_scope("Conv"):
        w = tf.get_variable("weight", shape=[3, 3, 3, conv_maps], initializer=tf.initializers.random_normal(0, 1))
        b = tf.get_variable("bias", shape=[conv_maps], initializer=tf.initializers.zeros())
        x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC"), b))
    x = tf.reshape(x, [-1, np.prod(x.shape[1:].as_list())])
    return tf.identity(components.head.get_output_for(x), name="features_out")


def G_toy(latents_in, labels_in, latent_size=4, num_pixels=6, **_kwargs):
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, 0])
    return tf.identity(tf.nn.tanh(dense(latents_in, num_pixels, "Dense0")), name="images_out")


def D_toy(images_in, labels_in, num_pixels=6, **_kwargs):
    images_in.set_shape([None, num_pixels])
    labels_in.set_shape([None, 0])
    return tf.identity(dense(images_in, 1, "Dense0"), name="scores_out")
'''


def nvidia_state(version, name, func, variables, static_kwargs=None, components=None, source=TF1_SOURCE):
    state = dict(version=version, name=name, static_kwargs=dict(static_kwargs or {}), build_module_src=source,
                 build_func_name=func, variables=sorted(variables.items()))
    if version >= 3:
        state["components"] = dict(components or {})
    return state


def _conv3x3_same_nhwc(x, w):
    n, h, wd, _ = x.shape
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    out = np.zeros([n, h, wd, w.shape[3]])
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("nhwc,cm->nhwm", padded[:, dy:dy + h, dx:dx + wd, :], w[dy, dx])
    return out


def feature_network(version=4):
    """(PicklesAsNetwork of Features with a Head component, numpy reference of its output)."""
    rng = np.random.RandomState(7)
    conv = {"Conv/weight": rng.randn(3, 3, 3, 2).astype(np.float32), "Conv/bias": rng.randn(2).astype(np.float32)}
    head = {"Dense/weight": rng.randn(32, 3).astype(np.float32), "Dense/bias": rng.randn(3).astype(np.float32)}
    head_net = PicklesAsNetwork(nvidia_state(version, "Head", "Head", head, dict(in_dims=32, out_dims=3)))
    net = PicklesAsNetwork(nvidia_state(version, "Features", "Features", conv, dict(resolution=4, conv_maps=2, out_dims=3),
                                     components=dict(head=head_net)))

    def reference(images_nchw):
        x = images_nchw.astype(np.float64).transpose(0, 2, 3, 1) / 127.5 - 1
        x = np.maximum(_conv3x3_same_nhwc(x, conv["Conv/weight"]) + conv["Conv/bias"], 0).reshape(len(x), -1)
        return np.tanh(x @ head["Dense/weight"] + head["Dense/bias"])

    return net, reference


def gan_networks(version):
    """((G, D, Gs) as PicklesAsNetworks, numpy reference of Gs)."""
    rng = np.random.RandomState(version)
    g = {"Dense0/weight": rng.randn(4, 6).astype(np.float32), "Dense0/bias": rng.randn(6).astype(np.float32)}
    d = {"Dense0/weight": rng.randn(6, 1).astype(np.float32), "Dense0/bias": rng.randn(1).astype(np.float32)}
    kwargs = dict(latent_size=4, num_pixels=6)
    nets = (PicklesAsNetwork(nvidia_state(version, "G", "G_toy", g, kwargs)),
            PicklesAsNetwork(nvidia_state(version, "D", "D_toy", d, dict(num_pixels=6))),
            PicklesAsNetwork(nvidia_state(version, "Gs", "G_toy", g, kwargs)))
    return nets, lambda z: np.tanh(z @ g["Dense0/weight"] + g["Dense0/bias"])


def _images(n=5):
    return np.random.RandomState(0).randint(0, 256, size=[n, 3, 4, 4]).astype(np.float32)


def test_a_stylegan2_feature_pickle_loads_as_the_fid_network_and_runs(tmp_path):
    net, reference = feature_network(version=4)
    path = tmp_path / "inception_like.pkl"
    path.write_bytes(pickle.dumps(net, protocol=3))
    assert b"dnnlib.tflib.network" in path.read_bytes() and b"import tensorflow as tf" in path.read_bytes()
    with tf.Graph().as_default(), tflib.create_session().as_default():
        loaded = fid.load_feature_network(str(path), hashlib.sha256(path.read_bytes()).hexdigest())
        assert sorted(loaded.components) == ["head"] and loaded.output_shapes == [[None, 3]]
        assert sorted(loaded.trainables) == ["Conv/bias", "Conv/weight", "Head/Dense/bias", "Head/Dense/weight"]
        images = _images()
        np.testing.assert_allclose(loaded.run(images), reference(images), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("version", [2, 3, 4])
def test_a_stylegan_network_tuple_loads_through_load_snapshot(tmp_path, version):
    nets, reference = gan_networks(version)
    path = tmp_path / "network-snapshot-000140.pkl"
    path.write_bytes(pickle.dumps(nets, protocol=2))
    with tf.Graph().as_default(), tflib.create_session().as_default():
        snapshot = snapshots.load_snapshot(str(path))
        assert snapshot.family == "gan" and snapshot.format_version == 1
        G, D, Gs = (snapshot.networks[k] for k in ("G", "D", "Gs"))
        assert [n.name for n in (G, D, Gs)] == ["G", "D", "Gs"] and G.components == {}
        z = np.random.RandomState(1).randn(7, 4).astype(np.float32)
        np.testing.assert_allclose(Gs.run(z, np.zeros([7, 0], np.float32)), reference(z), rtol=1e-5, atol=1e-6)
        assert D.run(np.zeros([2, 6], np.float32), np.zeros([2, 0], np.float32)).shape == (2, 1)


def test_a_loaded_stylegan_network_pickles_again_with_its_tf1_source(tmp_path):
    net, reference = feature_network(version=4)
    images = _images(3)
    with tf.Graph().as_default(), tflib.create_session().as_default():
        loaded = pickle.loads(pickle.dumps(net))
        again = pickle.dumps(loaded)
        state = loaded.__getstate__()
        assert state["version"] == 1 and state["source_api"] == "tf1"
        assert state["components"]["head"].__getstate__()["source_api"] == "tf1"
    with tf.Graph().as_default(), tflib.create_session().as_default():
        np.testing.assert_allclose(pickle.loads(again).run(images), reference(images), rtol=1e-5, atol=1e-5)


def test_our_own_pickles_keep_the_project_source_api(tf_session):
    net = tflib.Network("Feat", func_name="tests.nets_for_tests.tiny_mlp", num_inputs=4)
    assert net.__getstate__()["source_api"] == "vpdis"
    state = net.__getstate__()
    del state["source_api"]           # written before the key existed
    old = object.__new__(Network)
    old.__setstate__(state)
    x = np.random.RandomState(0).randn(2, 4).astype(np.float32)
    np.testing.assert_array_equal(old.run(x), net.run(x))


def test_unreadable_stylegan_pickles_say_why(tmp_path):
    contrib = TF1_SOURCE.replace("import tensorflow as tf", "import tensorflow as tf\nimport tensorflow.contrib.layers")
    g = {"Dense0/weight": np.zeros([4, 6], np.float32), "Dense0/bias": np.zeros(6, np.float32)}
    bad = PicklesAsNetwork(nvidia_state(4, "Gs", "G_toy", g, dict(latent_size=4, num_pixels=6), source=contrib))
    path = tmp_path / "contrib.pkl"
    path.write_bytes(pickle.dumps((bad, bad, bad)))
    with tf.Graph().as_default(), tflib.create_session().as_default():
        with pytest.raises(cli.InputError, match="imports tensorflow.contrib.layers; only 'import tensorflow'"):
            snapshots.load_snapshot(str(path))
        future = PicklesAsNetwork(dict(nvidia_state(4, "Gs", "G_toy", g), version=9))
        with pytest.raises(ValueError, match=r"version 9.*versions 2, 3, 4"):
            pickle.loads(pickle.dumps(future))
