"""The spec table and the one training loop: every model type's config agrees with its family's losses, loss
settings are closed sets, and a model family added through a spec alone trains and snapshots."""

import os

import numpy as np
import pytest

import run_training
from dnnlib import EasyDict, tflib
from dnnlib.tflib.compat import tf
from training import family_gan, family_vae, model_specs, snapshots
from training.training_loop import training_loop


@pytest.mark.parametrize("model_type", sorted(model_specs.MODEL_SPECS))
def test_every_model_types_config_has_only_settings_its_losses_take(model_type, tmp_path):
    flags = run_training.resolve_flags(["--data-dir", str(tmp_path), "--dataset", "d", "--model_type", model_type,
                                        "--module_list", "[Conv-up-1, C_global-2]"])
    cfg = run_training.build_config(flags, gpu_visible=False)
    spec, family = model_specs.get_spec(model_type)
    model_specs.check_loss_settings(family, cfg.loss)        # raises on a setting no loss takes
    assert family.__name__ == "training.family_" + model_specs.family_of(model_type)


def test_a_misspelled_loss_setting_is_an_error_naming_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss setting\(s\) gama: the losses of training.family_gan take "
                                         r"C_lambda, D_lambda, cascading, delta_type, epsilon, gamma, global_step"):
        model_specs.check_loss_settings(family_gan, dict(gamma=10.0, gama=1.0))
    with pytest.raises(ValueError, match="beat"):
        model_specs.check_loss_settings(family_vae, dict(beat=4.0))
    with pytest.raises(ValueError, match="unknown model type 'nonesuch'; known: beta_vae, factor_vae"):
        model_specs.get_spec("nonesuch")


def test_bound_losses_get_only_their_own_settings():
    from training import loss

    seen = {}
    bound = model_specs.bind_loss("training.loss.vp_loss", dict(C_lambda=2.0, gamma=10.0, beta=3.0))
    with tf.Graph().as_default(), tf.Session().as_default():
        logits, target = tf.constant([[0.0, 10.0]]), tf.constant([[0.0, 1.0]])
        seen["bound"] = bound(logits, target).eval()
        seen["direct"] = loss.vp_loss(logits, target, C_lambda=2.0).eval()
    np.testing.assert_allclose(seen["bound"], seen["direct"])


def _toy_dataset(data_dir):
    from training.tfrecord_export import TFRecordExporter

    rng = np.random.RandomState(0)
    images = np.zeros([32, 1, 16, 16], np.uint8)
    for i in range(len(images)):
        y, x = rng.randint(0, 11, size=2)
        images[i, 0, y:y + 5, x:x + 5] = 255
    with TFRecordExporter(os.path.join(data_dir, "toy"), len(images), progress=False) as tfr:
        tfr.add_images(images)


def test_a_family_registered_through_a_spec_trains_without_a_loop_edit(tmp_path, monkeypatch):
    monkeypatch.setitem(model_specs.MODEL_SPECS, "toy_ae", EasyDict(family="tests.family_toy",
                                                                   loss="tests.family_toy.toy_loss"))
    assert model_specs.family_of("toy_ae") == "toy"
    data_dir, run_dir = str(tmp_path / "data"), str(tmp_path / "run")
    os.makedirs(data_dir)
    os.makedirs(run_dir)
    _toy_dataset(data_dir)
    cfg = EasyDict(model_type="toy_ae", loss=EasyDict(weight=2.0), code_size=2, learning_rate=0.05, seed=1,
                   run_dir=run_dir, tf_config={"intra_op_parallelism_threads": 1, "inter_op_parallelism_threads": 1},
                   dataset=EasyDict(data_dir=data_dir, tfrecord_dir="toy", resolution=None, shuffle_mb=0, prefetch_mb=0),
                   data_format="NHWC", impl="ref", num_gpus=1, minibatch_size=8, minibatch_gpu=8, minibatch_repeats=1,
                   total_kimg=0.08, kimg_per_tick=0.04, image_snapshot_ticks=1, network_snapshot_ticks=1,
                   n_samples_per=2, grid_reals=8, mirror_augment=False, resume=None, metrics=[])
    result = training_loop(cfg)
    first = os.path.join(run_dir, "network-snapshot-000000.040.pkl")
    assert os.path.isfile(first) and result["final_pkl"] == os.path.join(run_dir, "network-final.pkl")
    assert os.path.isfile(os.path.join(run_dir, "fakes_init.png")) and os.path.isfile(os.path.join(run_dir, "reals.png"))
    weights = {}
    for path in (first, result["final_pkl"]):
        with tf.Graph().as_default(), tflib.create_session().as_default():
            snapshot = snapshots.load_snapshot(path)
            assert (list(snapshot.networks), snapshot.spec, snapshot.family, snapshot.generator) == (
                ["Enc", "Dec"], "toy_ae", "toy", "Dec")
            assert snapshot.config["loss"] == dict(weight=2.0)
            assert snapshots.split_networks(snapshot).Gs is snapshot.networks["Dec"]
            weights[path] = tflib.run(snapshot.networks["Enc"].trainables["weight"])
    assert not np.array_equal(weights[first], weights[result["final_pkl"]])
    cfg.loss = EasyDict(wieght=2.0)
    with pytest.raises(ValueError, match=r"wieght: the losses of tests.family_toy take weight"):
        training_loop(cfg)
