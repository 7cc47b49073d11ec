"""Snapshot records (named networks, model type, config, format version) and the bare tuples written before them.

``tests/fixtures/snapshots/*.pkl`` are tuple snapshots of every shape written so far, pickled exactly as the
writer before records did (network states without ``source_api`` / ``module_sources``), with tiny networks;
``expected.json`` holds what each must give. Rewrite them (only if the old format's writer is reconstructed
differently) with:  VPDIS_WRITE_SNAPSHOT_FIXTURES=1 python -m pytest tests/test_snapshot_records.py
"""

import json
import os
import pickle

import numpy as np
import pytest

from dnnlib import cli, tflib
from dnnlib.tflib import network_source
from dnnlib.tflib.compat import tf
from dnnlib.tflib.network import Network
from tests.background_runs import REPO
from tests.nets_for_tests import PicklesAsNetwork
from training import snapshots

FIXTURES = os.path.join(REPO, "tests", "fixtures", "snapshots")
LATENT = 3

TINY_SOURCE = '''
"""Tiny stand-ins, named as the project's build functions where the tuple readers look at names."""
from dnnlib.tflib.compat import tf


def _dense(x, units, name):
    with tf.variable_scope(name):
        w = tf.get_variable("weight", [x.shape[1].value, units], initializer=tf.initializers.random_normal(0, 1, seed=1))
        b = tf.get_variable("bias", [units], initializer=tf.initializers.random_uniform(-1, 1, seed=2))
        return tf.matmul(x, w) + b


def G_tiny(latents_in, labels_in, latent_size=3, num_pixels=4, **_kwargs):
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, 0])
    return tf.identity(tf.nn.tanh(_dense(latents_in, num_pixels, "Out")), name="images_out")


def D_tiny(images_in, labels_in, num_pixels=4, **_kwargs):
    images_in.set_shape([None, num_pixels])
    labels_in.set_shape([None, 0])
    return tf.identity(_dense(images_in, 1, "Out"), name="scores_out")


def recognizer_tiny(images1_in, images2_in, num_pixels=4, num_outputs=3, **_kwargs):
    images1_in.set_shape([None, num_pixels])
    images2_in.set_shape([None, num_pixels])
    return tf.identity(_dense(images1_in - images2_in, num_outputs, "Out"), name="logits_out")


def vae_encoder(images_in, num_pixels=4, latent_size=3, **_kwargs):
    images_in.set_shape([None, num_pixels])
    return tf.identity(_dense(images_in, latent_size, "Mean"), name="mean"), tf.identity(
        _dense(images_in, latent_size, "LogVar"), name="log_var")


def vae_decoder(latents_in, labels_in, latent_size=3, num_pixels=4, **_kwargs):
    latents_in.set_shape([None, latent_size])
    labels_in.set_shape([None, 0])
    return tf.identity(tf.nn.tanh(_dense(latents_in, num_pixels, "Out")), name="images_out")


def tc_discriminator(codes_in, latent_size=3, **_kwargs):
    codes_in.set_shape([None, latent_size])
    return tf.identity(_dense(codes_in, 2, "Out"), name="logits_out")
'''

SHAPES = {               # fixture: networks in tuple order, as (name, build function)
    "gan_G_D_Gs": [("G", "G_tiny"), ("D", "D_tiny"), ("Gs", "G_tiny")],
    "gan_G_D_I_Gs": [("G", "G_tiny"), ("D", "D_tiny"), ("I", "recognizer_tiny"), ("Gs", "G_tiny")],
    "gan_G_D_I_I2_Gs": [("G", "G_tiny"), ("D", "D_tiny"), ("I", "recognizer_tiny"), ("I2", "recognizer_tiny"),
                        ("Gs", "G_tiny")],
    "vae_E_Dec_Dec": [("E", "vae_encoder"), ("Dec", "vae_decoder"), ("Dec", None)],
    "vae_E_Dec_I_Dec": [("E", "vae_encoder"), ("Dec", "vae_decoder"), ("I", "recognizer_tiny"), ("Dec", None)],
    "vae_E_Dec_TC_Dec": [("E", "vae_encoder"), ("Dec", "vae_decoder"), ("TC", "tc_discriminator"), ("Dec", None)],
}


def _codes():
    return np.random.RandomState(3).uniform(-2, 2, [2, LATENT]).astype(np.float32)


def _write_fixtures():
    module = network_source.module_from_source(TINY_SOURCE)
    expected = {}
    os.makedirs(FIXTURES, exist_ok=True)
    for fixture, shape in sorted(SHAPES.items()):
        with tf.Graph().as_default(), tflib.create_session().as_default():
            tf.set_random_seed(0)
            built, tuple_items = {}, []
            for name, func in shape:
                if name not in built:
                    net = Network(name, func_name=getattr(module, func))
                    state = net.__getstate__()
                    del state["source_api"], state["module_sources"]
                    built[name] = (net, PicklesAsNetwork(state))     # the state without the keys added since
                tuple_items.append(built[name][1])      # the VAE tuples pickle the decoder twice (one object)
            gs = built["Gs" if "Gs" in built else "Dec"][0]
            expected[fixture] = dict(gs_output=gs.run(_codes(), np.zeros([2, 0], np.float32)).tolist(),
                                     weights_sha256=snapshots.weights_sha256([built[n][0] for n, _ in shape]))
            with open(os.path.join(FIXTURES, fixture + ".pkl"), "wb") as f:
                pickle.dump(tuple(tuple_items), f, protocol=4)
    with open(os.path.join(FIXTURES, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


@pytest.fixture(scope="module")
def expected():
    if os.environ.get("VPDIS_WRITE_SNAPSHOT_FIXTURES") == "1":
        _write_fixtures()
    with open(os.path.join(FIXTURES, "expected.json")) as f:
        return json.load(f)


def test_the_tuple_fixtures_are_small(expected):
    sizes = [os.path.getsize(os.path.join(FIXTURES, f)) for f in os.listdir(FIXTURES)]
    assert len(sizes) == len(SHAPES) + 1 and sum(sizes) <= 100 * 1024


@pytest.mark.parametrize("fixture", sorted(SHAPES))
def test_every_tuple_shape_written_so_far_loads(expected, fixture):
    shape = SHAPES[fixture]
    with tf.Graph().as_default(), tflib.create_session().as_default():
        snapshot = snapshots.load_snapshot(os.path.join(FIXTURES, fixture + ".pkl"))
        names = [n for n, _ in shape if n != "Dec" or shape.index((n, _)) == 1]
        assert (snapshot.format_version, snapshot.spec, snapshot.config) == (1, None, None)
        assert list(snapshot.networks) == names and [n.name for n in snapshot.networks.values()] == names
        roles = snapshots.split_networks(snapshot)
        assert roles.kind == fixture.split("_")[0]
        if roles.kind == "vae":
            assert roles.Gs is roles.Dec is roles.G and roles.D is None
            assert (roles.I is not None, roles.TC is not None) == ("I" in names, "TC" in names)
        else:
            assert roles.G is snapshot.networks["G"] and roles.Gs is snapshot.networks["Gs"] and roles.E is None
            assert (roles.I is None) == ("I" not in names)
        out = roles.Gs.run(_codes(), np.zeros([2, 0], np.float32))
        np.testing.assert_allclose(out, np.array(expected[fixture]["gs_output"]), rtol=1e-5, atol=1e-6)
        assert snapshots.weights_sha256(snapshot) == expected[fixture]["weights_sha256"]


def test_a_record_names_its_networks_and_pickles_the_decoder_once(tmp_path):
    module = network_source.module_from_source(TINY_SOURCE)
    with tf.Graph().as_default(), tflib.create_session().as_default():
        E = Network("E", func_name=module.vae_encoder)
        Dec = Network("Dec", func_name=module.vae_decoder)
        TC = Network("TC", func_name=module.tc_discriminator)
        record = snapshots.snapshot_record(dict(E=E, Dec=Dec, I=None, TC=TC), "factor_vae", "vae", "Dec",
                                           dict(model_type="factor_vae", lr=1e-4, run_dir=tmp_path))
        assert list(record["networks"]) == ["E", "Dec", "TC"] and record["config"]["run_dir"] == str(tmp_path)
        path = snapshots.save_final(str(tmp_path), record)
        digest = snapshots.weights_sha256([E, Dec, TC, Dec])
    with tf.Graph().as_default(), tflib.create_session().as_default():
        snapshot = snapshots.load_snapshot(path)
        assert (snapshot.format_version, snapshot.family, snapshot.spec) == (2, "vae", "factor_vae")
        assert snapshot.config == dict(model_type="factor_vae", lr=1e-4, run_dir=str(tmp_path))
        assert snapshots.split_networks(snapshot).Gs is snapshot.networks["Dec"]
        assert snapshots.weights_sha256(snapshot) == digest          # as the tuple (E, Dec, TC, Dec) digested
    with pytest.raises(ValueError, match="a gan snapshot needs its generator Gs among its networks \\(E, Dec\\)"):
        snapshots.snapshot_record(dict(E=E, Dec=Dec, Gs=None), "vp_gan", "gan", "Gs")


def test_records_of_another_format_version_are_refused(tmp_path):
    path = tmp_path / "future.pkl"
    path.write_bytes(pickle.dumps(dict(format=snapshots.SNAPSHOT_FORMAT, format_version=99, networks={})))
    with pytest.raises(cli.InputError, match="format version 99; this checkout reads versions 1-2"):
        snapshots.load_snapshot(str(path))
