"""run_metrics.py: metric names, GT metrics on a VAE pickle's encoder, clear errors."""

import json
import pickle

import pytest

import run_metrics
from dnnlib import tflib
from dnnlib.tflib.compat import tf


def test_metric_names():
    assert run_metrics.parse_metric_names("vp, mig,dci") == ["vp", "mig", "dci"]
    with pytest.raises(ValueError, match="unknown metric"):
        run_metrics.parse_metric_names("vp,inception_score")


def test_gt_sample_sizes():
    fv = "metrics.factor_vae_score.compute_factor_vae_score"
    assert run_metrics.gt_sample_sizes(fv, None) == {}
    assert run_metrics.gt_sample_sizes(fv, 1000) == dict(num_train=1000, num_eval=500, num_variance_estimate=1000)
    assert run_metrics.gt_sample_sizes("metrics.mig.compute_mig", 1001) == dict(num_train=1001)
    assert run_metrics.gt_sample_sizes("metrics.dci.compute_dci", 300) == dict(num_train=300, num_test=150)
    with pytest.raises(ValueError, match="--gt-points"):
        run_metrics.gt_sample_sizes(fv, 1)


@pytest.fixture(scope="module")
def vae_pkl(tmp_path_factory):
    """An untrained (E, Dec, Dec) VAE pickle: enough to exercise the plumbing."""
    path = tmp_path_factory.mktemp("vae") / "network-final.pkl"
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        E = tflib.Network("E", func_name="training.networks_vae.vae_encoder", latent_size=4)
        Dec = tflib.Network("Dec", func_name="training.networks_vae.vae_decoder", latent_size=4)
        path.write_bytes(pickle.dumps((E, Dec, Dec), protocol=4))
    return str(path)


def test_mig_of_a_vae_pickle_writes_results(vae_pkl, tmp_path, capsys):
    assert run_metrics.main(["--network_pkl", vae_pkl, "--metrics", "mig", "--result-dir", str(tmp_path)]) == 0
    with open(str(tmp_path / "metric-mig.json")) as f:
        result = json.load(f)
    assert result["metric"] == "mig" and 0.0 <= result["value"] <= 1.0
    assert "discrete_mig" in result["details"]
    assert (tmp_path / "metric-mig.txt").read_text().startswith("network-final.pkl mig")
    # fewer points: a different sample, still a valid score
    assert run_metrics.main(["--network_pkl", vae_pkl, "--metrics", "mig", "--gt-points", "300",
                             "--result-dir", str(tmp_path / "small")]) == 0
    with open(str(tmp_path / "small" / "metric-mig.json")) as f:
        assert 0.0 <= json.load(f)["value"] <= 1.0


def test_gt_metric_on_a_generator_only_pickle_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "gan.pkl"
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph).as_default():
        G = tflib.Network("G", func_name="training.networks_vp.G_main_vp", module_list="[Conv-up-1, C_global-2]",
                          num_channels=1, resolution=8, fmap_base=16, data_format="NHWC", impl="ref")
        path.write_bytes(pickle.dumps((G, G, G), protocol=4))
    assert run_metrics.main(["--network_pkl", str(path), "--metrics", "mig", "--result-dir", str(tmp_path)]) == 2
    assert "needs a VAE pickle" in capsys.readouterr().err
    assert run_metrics.main(["--run_dir", str(tmp_path / "nothing"), "--metrics", "mig"]) == 2
    assert "no network-final.pkl" in capsys.readouterr().err
