"""run_metrics.py: metric names, GT metrics on a VAE pickle's encoder, clear errors."""

import json
import os
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


@pytest.mark.slow    # a tool end to end
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


def test_bad_output_paths_fail_before_any_metric(vae_pkl, tmp_path, capsys, monkeypatch):
    """An output path that cannot be written: exit 2 with one line naming it, before the pickle is even loaded."""
    monkeypatch.setattr(run_metrics, "evaluate_pickle", lambda *a, **k: pytest.fail("evaluated despite a bad output"))
    (tmp_path / "a_file").write_text(u"x")
    (tmp_path / "taken" / "metric-mig.json").mkdir(parents=True)
    pkl_dir = tmp_path / "run"
    (pkl_dir / "metric-dci.txt").mkdir(parents=True)
    (pkl_dir / "network-final.pkl").write_bytes(open(vae_pkl, "rb").read())
    cases = [
        (["--result-dir", str(tmp_path / "a_file")],
         "--result-dir %s is an existing file, but a folder goes there" % (tmp_path / "a_file")),
        (["--result-dir", str(tmp_path / "a_file" / "sub")],
         "--result-dir %s cannot be created: %s is a file, not a folder"
         % (tmp_path / "a_file" / "sub", tmp_path / "a_file")),
        (["--result-dir", str(tmp_path / "taken")],
         "output file of --result-dir %s is an existing folder, but a file goes there; give another path or remove "
         "the folder" % (tmp_path / "taken" / "metric-mig.json")),
    ]
    for extra, message in cases:
        rc = run_metrics.main(["--network_pkl", vae_pkl, "--metrics", "mig"] + extra)
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and err.startswith("error: " + message), err
    rc = run_metrics.main(["--run_dir", str(pkl_dir), "--metrics", "mig,dci"])  # results go next to the pickle
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert err.startswith("error: output file of --result-dir (default: the pickle's folder) %s is an existing folder"
                          % (pkl_dir / "metric-dci.txt")), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "run", "taken"]
    assert sorted(p.name for p in pkl_dir.iterdir()) == ["metric-dci.txt", "network-final.pkl"]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["metric-mig.json"]


def test_every_registered_metric_resolves():
    """Each registry entry names a compute function (and a ground-truth one its metric function) that exists."""
    from dnnlib import util
    from metrics import metric_main

    for name, spec in metric_main.METRICS.items():
        assert callable(util.get_obj_by_name(spec.compute)), name
        assert spec.kind in ("vp", "fid", "gt", "samples") and set(spec.settings) >= {"seed"}, name
        if spec.kind == "gt":
            assert callable(util.get_obj_by_name(spec.func)), name
    assert run_metrics.METRICS is metric_main.METRICS      # the CLI reads the one registry


def toy_metric(name, nets, opts):
    """A metric registered by a test: 42 + the seed, and what it was given."""
    return dict(value=42.0 + opts.seed, line="%s %.1f" % (name, 42.0 + opts.seed), details=dict(kind=nets.kind))


def test_a_registered_metric_runs_through_run_metrics_and_during_training(tmp_path, monkeypatch, capsys):
    """Adding a metric = one registry entry: run_metrics.py and run_training.py --metrics then compute it."""
    import numpy as np

    import run_training
    from dnnlib import EasyDict
    from metrics import metric_main
    from training.tfrecord_export import TFRecordExporter

    monkeypatch.setitem(metric_main.METRICS, "toy", EasyDict(kind="toy", compute="tests.test_run_metrics.toy_metric",
                                                             settings=("seed",)))
    out = str(tmp_path / "scores")
    assert run_metrics.main(["--network_pkl", "synthetic:perfect@32", "--metrics", "toy", "--result-dir", out,
                             "--seed", "1"]) == 0
    with open(str(tmp_path / "scores" / "metric-toy.json")) as f:
        result = json.load(f)
    assert result["value"] == 43.0 and result["settings"] == {"seed": 1} and result["details"] == {"kind": "synthetic"}

    images = np.zeros([16, 1, 16, 16], np.uint8)
    images[:, :, 4:9, 4:9] = 255
    with TFRecordExporter(str(tmp_path / "data" / "toy"), len(images), progress=False) as tfr:
        tfr.add_images(images)
    rc = run_training.main(["--model_type", "vae", "--latent_size", "2", "--data-dir", str(tmp_path / "data"),
                            "--dataset", "toy", "--result-dir", str(tmp_path / "runs"), "--minibatch-size", "8",
                            "--total-kimg", "0.008", "--kimg-per-tick", "0.008", "--snapshot-ticks", "1",
                            "--cpu-threads", "1", "--seed", "5", "--metrics", "toy"])
    assert rc == 0, capsys.readouterr().err[-2000:]
    (run_dir,) = [str(p) for p in (tmp_path / "runs").iterdir()]
    with open(os.path.join(run_dir, "metric-toy.json")) as f:
        result = json.load(f)
    assert result["value"] == 47.0 and result["details"] == {"kind": "vae"}     # the run's --seed reaches the metric
    assert os.path.basename(result["network_pkl"]) == "network-snapshot-000000.008.pkl"
