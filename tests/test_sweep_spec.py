"""sweeps/spec.py, sweeps/table.py and run_sweep.py without Ray or training: sweep files, trial keys, the tables.

Everything is JSON (dicts or .json files) so that it runs under every interpreter; the YAML tests skip without
PyYAML. The key tests run ``run_training.py --print-flags`` (about 0.2 s a trial)."""

import csv
import hashlib
import json
import os
import platform
import subprocess
import sys

import pytest

import run_sweep
import run_training
import sweeps
from dnnlib import EasyDict, cli
from sweeps import spec, table

REPO = spec.REPO_ROOT
SWEEP_PATH = "s.json"        # the path expand_trials names in its messages


def sweep(*trials, **settings):
    """A sweep dict: ``settings`` at the top, the given trials (default: one trial 'a' without flags)."""
    return dict(settings, trials=list(trials) or [dict(name="a")])


def expand(*trials, **settings):
    return spec.expand_trials(sweep(*trials, **settings), SWEEP_PATH)


def sweep_error(data):
    """The message of the SweepFileError that expand_trials raises for ``data``, checked to mean exit 2."""
    with pytest.raises(spec.SweepFileError) as info:
        spec.expand_trials(data, SWEEP_PATH)
    assert isinstance(info.value, cli.UsageError) and cli.exit_code(info.value) == 2
    return str(info.value)


def load_error(path):
    with pytest.raises(spec.SweepFileError) as info:
        spec.load_sweep_file(str(path))
    assert cli.exit_code(info.value) == 2
    return str(info.value)


def write_json(path, data):
    path.write_text(json.dumps(data))
    return str(path)


def fake_trial(name, key="k" * spec.KEY_LENGTH, train=None, metrics=(), **extra):
    """A trial as table.py sees it (no subprocess): name, key, train flags, metric groups."""
    return EasyDict(name=name, key=key, train=dict(train or {}),
                    metrics=[dict(metrics=list(m)) for m in metrics], **extra)


def ok_result(trial, **metrics):
    return dict(name=trial.name, key=trial.key, status="ok", error=None, attempts=1, metrics=metrics)


# --- expand_trials ------------------------------------------------------------------------------------------------

def test_grid_is_a_cartesian_product_in_file_order():
    """One trial per grid combination, first axis slowest, named by str.format over the trial's flags."""
    trials = expand(dict(name="b{beta:g}-s{seed}", train=dict(beta=10), grid=dict(beta=[1, 0.5], seed=[0, 1])),
                    dict(name="plain-{model_type}"), train=dict(model_type="beta_vae"))
    assert [t.name for t in trials] == ["b1-s0", "b1-s1", "b0.5-s0", "b0.5-s1", "plain-beta_vae"]
    assert trials[2].train == dict(model_type="beta_vae", beta=0.5, seed=0)
    assert trials[4].train == dict(model_type="beta_vae")


def test_trial_settings_override_the_sweeps():
    """A trial's train flags win over the sweep's; both spellings are stored with underscores."""
    trials = expand(dict(name="a", train={"seed": 5, "learning-rate": 0.01}), dict(name="b"),
                    train={"model_type": "vae", "seed": 1, "cpu-threads": 1})
    assert trials[0].train == dict(model_type="vae", seed=5, cpu_threads=1, learning_rate=0.01)
    assert trials[1].train == dict(model_type="vae", seed=1, cpu_threads=1)


def test_strings_expand_home_and_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("VPDIS_SWEEP_TEST", "/data/x")
    monkeypatch.setenv("HOME", str(tmp_path))
    [trial] = expand(dict(name="a", train=dict(data_dir="$VPDIS_SWEEP_TEST/ds", dataset="~/d", seed=3)))
    assert trial.train == dict(data_dir="/data/x/ds", dataset=os.path.join(str(tmp_path), "d"), seed=3)


def test_overrides_apply_to_every_trial():
    """``overrides`` (run_sweep.py --data-dir) reach every trial and beat the sweep's own train value."""
    trials = spec.expand_trials(sweep(dict(name="a"), dict(name="b{seed}", grid=dict(seed=[0, 1])),
                                      train=dict(data_dir="/file/data", dataset="dsprites")),
                                SWEEP_PATH, dict(data_dir="/cli/data"))
    assert [t.name for t in trials] == ["a", "b0", "b1"]
    assert all(t.train["data_dir"] == "/cli/data" and t.train["dataset"] == "dsprites" for t in trials)


def test_overrides_beat_a_trials_own_flags():
    [trial] = spec.expand_trials(sweep(dict(name="a", train=dict(data_dir="/trial/data"))), SWEEP_PATH,
                                 dict(data_dir="/cli/data"))
    assert trial.train["data_dir"] == "/cli/data"


def test_metrics_replace_or_add_to_the_sweeps():
    """No entry: the sweep's groups; ``metrics``: instead of them; ``add_metrics``: after them."""
    base = dict(metrics=["vp_fast"], vp_repeats=3)
    trials = expand(dict(name="inherit"), dict(name="replace", metrics=[{"metrics": "mig, dci", "gt-points": 500}]),
                    dict(name="add", add_metrics=[dict(metrics=["sap"])]), dict(name="none", metrics=[]),
                    metrics=[base])
    assert [t.metrics for t in trials] == [
        [base], [dict(metrics=["mig", "dci"], gt_points=500)], [base, dict(metrics=["sap"])], []]


def test_resources_and_retries_defaults_and_overrides():
    [default] = expand()
    assert default.resources == dict(cpus=1, gpus=0) and default.retries == 2
    trials = expand(dict(name="a"), dict(name="b", resources=dict(cpus=4), retries=5), dict(name="c", retries=0),
                    resources=dict(gpus=1), retries=1)
    assert [t.resources for t in trials] == [dict(cpus=1, gpus=1), dict(cpus=4, gpus=1), dict(cpus=1, gpus=1)]
    assert [t.retries for t in trials] == [1, 5, 0]


def test_a_trial_larger_than_every_node_is_refused_on_a_local_ray_and_warned_about_on_a_cluster(capsys):
    """Ray queues a task that no node can hold for ever (run_sweep.py sat at 'queued 1' with --local-workers 1 and
    a 2-CPU trial): a local Ray's size is fixed by the flags, so that is a usage error; a cluster may gain a node."""
    from sweeps import ray_runner

    small, wide, gpu = expand(dict(name="small"), dict(name="wide", resources=dict(cpus=2)),
                              dict(name="gpu", resources=dict(gpus=1)))
    nodes = [dict(cpus=1.0, gpus=0.0), dict(cpus=2.0, gpus=0.0)]
    assert [t.name for t in ray_runner.unplaceable([small, wide, gpu], nodes)] == ["gpu"]
    assert [t.name for t in ray_runner.unplaceable([small, wide], nodes[:1])] == ["wide"]
    assert ray_runner.unplaceable([small, wide, gpu], [dict(cpus=2.0, gpus=1.0)]) == []
    assert [t.name for t in ray_runner.unplaceable([small], [])] == ["small"]      # no live node at all
    with pytest.raises(cli.UsageError) as info:
        run_sweep.check_placeable(EasyDict(address=None), [small, wide], nodes[:1])
    assert cli.exit_code(info.value) == 2
    assert str(info.value) == ("the local Ray has cpus 1, gpus 0, too few for wide (cpus 2, gpus 0): raise "
                               "--local-workers / --local-gpus, or lower the sweep file's resources")
    run_sweep.check_placeable(EasyDict(address=None), [small, wide], nodes)      # fits: nothing said
    assert capsys.readouterr().err == ""
    run_sweep.check_placeable(EasyDict(address="127.0.0.1:6379"), [wide, gpu], nodes)
    err = capsys.readouterr().err
    assert err.startswith("warning: no node of the cluster can hold gpu (cpus 1, gpus 1) (the most any node has: "
                          "cpus 2, gpus 0)") and "wide" not in err
    cluster = [dict(cpus=64.0, gpus=0.0), dict(cpus=8.0, gpus=4.0)]     # the most of each, from different nodes
    run_sweep.check_placeable(EasyDict(address="h:1"), expand(dict(name="big", resources=dict(cpus=16, gpus=1))),
                              cluster)
    assert "(the most any node has: cpus 64, gpus 4)" in capsys.readouterr().err


def test_python_resolution(monkeypatch):
    """None: this interpreter; a path relative to the repository; a command on PATH; a trial's beats the sweep's."""
    rel = os.path.relpath(sys.executable, REPO)
    [default] = expand()
    assert default.python is None and default.python_path == sys.executable
    trials = expand(dict(name="a"), dict(name="b", python=sys.executable), python=rel)
    assert trials[0].python == rel and trials[0].python_path == os.path.join(REPO, rel)
    assert os.path.samefile(trials[0].python_path, sys.executable)
    assert trials[1].python == sys.executable and trials[1].python_path == sys.executable
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    assert os.path.samefile(spec.resolve_python(os.path.basename(sys.executable)), sys.executable)


@pytest.mark.parametrize("python, message", [
    ("no/such/python", "python no/such/python: no such interpreter"),
    ("no_such_python_vpdis", "python no_such_python_vpdis: not found on PATH"),
])


def test_a_missing_python_is_a_sweep_file_error(python, message):
    assert message in sweep_error(sweep(python=python))


# Each: (sweep dict, what the message says, entry included). Every message starts with the file's path.
SWEEP_ERRORS = {
    "top-level key": (sweep(trails=[]), "s.json: unknown key(s) trails; valid: name,"),
    "trial key": (sweep(dict(name="a"), dict(name="b", trian={})), "s.json: trials[1]: unknown key(s) trian"),
    "trial not a mapping": (sweep("a"), "s.json: trials[0] must be a mapping"),
    "resource key": (sweep(resources=dict(cpu=1)), "s.json: resources: unknown key(s) cpu; valid: cpus, gpus"),
    "trial resource key": (sweep(dict(name="a", resources=dict(memory=4))), "s.json: trials[0]: resources: unknown key(s) memory"),
    "metric group key": (sweep(metrics=[dict(metrics=["vp"], vp_repeat=3)]), "s.json: metrics[0]: unknown key(s) vp_repeat"),
    "grid duplicate": (sweep(dict(name="b", grid=dict(seed=[0, 1]))),
                       "s.json: trials[0]: trial name 'b' is also made by s.json: trials[0]; put the grid's flags in the name"),
    "duplicate across trials": (sweep(dict(name="a"), dict(name="a")), "s.json: trials[1]: trial name 'a' is also made by s.json: trials[0]"),
    "slash in name": (sweep(dict(name="x/y")), "s.json: trials[0]: trial name 'x/y' must be a plain folder name"),
    "slash from a flag": (sweep(dict(name="{dataset}", train=dict(dataset="a/b"))), "trial name 'a/b' must be a plain"),
    "hidden name": (sweep(dict(name=".a")), "s.json: trials[0]: trial name '.a' must be a plain folder name"),
    "no name": (sweep(dict(train=dict(seed=1))), "s.json: trials[0]: every trial needs a 'name'"),
    "name not formattable": (sweep(dict(name="b{beta}")), "s.json: trials[0]: name 'b{beta}' cannot be formatted"),
    "owned result_dir": (sweep(train=dict(result_dir="x")), "s.json: train: result_dir is set by run_sweep.py"),
    "owned resume": (sweep(dict(name="a", train=dict(resume="latest"))), "s.json: trials[0]: train: resume is set by run_sweep.py"),
    "owned dry-run": (sweep(dict(name="a", train={"dry-run": True})), "s.json: trials[0]: train: dry_run is set by"),
    "list outside grid": (sweep(dict(name="a", train=dict(seed=[0, 1]))),
                          "s.json: trials[0]: train: seed must be a single value, got [0, 1] (use 'grid' for several)"),
    "train not a mapping": (sweep(train=["seed"]), "s.json: train must be a mapping of flag: value"),
    "empty grid axis": (sweep(dict(name="a{seed}", grid=dict(seed=[]))), "s.json: trials[0]: grid seed must be a non-empty list"),
    "grid not a mapping": (sweep(dict(name="a", grid=[1])), "s.json: trials[0]: grid must be a mapping"),
    "empty trials": (dict(trials=[]), "s.json: 'trials' must be a non-empty list"),
    "no trials": (dict(name="x"), "s.json: 'trials' must be a non-empty list"),
    "unknown metric": (sweep(metrics=[dict(metrics=["vp_fastest"])]), "s.json: metrics[0]: unknown metric(s) vp_fastest"),
    "no metric named": (sweep(metrics=[dict(vp_repeats=1)]), "s.json: metrics[0]: 'metrics' must be a list of metric names"),
    "metric in two groups": (sweep(metrics=[dict(metrics=["mig"]), dict(metrics=["dci", "mig"])]),
                             "s.json: metrics: metric(s) mig appear in two groups"),
    "added metric twice": (sweep(dict(name="a", add_metrics=[dict(metrics=["vp_fast"])]), metrics=[dict(metrics=["vp_fast"])]),
                           "s.json: trials[0]: metrics + add_metrics: metric(s) vp_fast appear in two groups"),
    "negative cpus": (sweep(resources=dict(cpus=-1)), "s.json: resources: cpus must be a number >= 0, got -1"),
    "gpus not a number": (sweep(dict(name="a", resources=dict(gpus="one"))), "s.json: trials[0]: resources: gpus must be a number"),
    "negative retries": (sweep(retries=-1), "s.json: retries must be an integer >= 0, got -1"),
    "fractional retries": (sweep(dict(name="a", retries=1.5)), "s.json: trials[0]: retries must be an integer >= 0, got 1.5"),
    "boolean retries": (sweep(retries=True), "s.json: retries must be an integer >= 0, got True"),
    "metrics and add_metrics": (sweep(dict(name="a", metrics=[], add_metrics=[])),
                                "s.json: trials[0]: give 'metrics' (replaces the sweep's) or 'add_metrics' (adds), not both"),
}


@pytest.mark.parametrize("data, message", list(SWEEP_ERRORS.values()), ids=list(SWEEP_ERRORS))
def test_sweep_file_errors_name_the_entry(data, message):
    assert message in sweep_error(data)


@pytest.mark.parametrize("flag", ["resume", "result_dir", "dry-run"])
def test_a_grid_over_a_flag_the_sweep_owns_is_refused(flag):
    assert "is set by run_sweep.py" in sweep_error(sweep(dict(name="a-{%s}" % flag.replace("-", "_"),
                                                              grid={flag: ["x", "y"]})))


@pytest.mark.parametrize("names", [5, [1]])
def test_metric_names_that_are_not_strings_are_a_sweep_file_error(names):
    assert "s.json: metrics[0]" in sweep_error(sweep(metrics=[dict(metrics=names)]))


def test_a_name_with_an_attribute_lookup_is_a_sweep_file_error():
    assert "cannot be formatted" in sweep_error(sweep(dict(name="{dataset.x}", train=dict(dataset="d"))))


# --- sweep files ---------------------------------------------------------------------------------------------------

def test_json_sweep_file_round_trip(tmp_path):
    data = sweep(dict(name="s{seed}", grid=dict(seed=[0, 1])), train=dict(model_type="vae"))
    path = write_json(tmp_path / "s.json", data)
    assert spec.load_sweep_file(path) == data
    assert [t.name for t in spec.expand_trials(spec.load_sweep_file(path), path)] == ["s0", "s1"]


@pytest.mark.parametrize("text, message", [
    ('{"trials": [', "cannot be parsed"), ('[{"name": "a"}]', "must hold a mapping with a 'trials' list"),
])


def test_bad_json_files(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert "sweep file %s %s" % (path, message) in load_error(path)


def test_a_missing_sweep_file(tmp_path):
    path = tmp_path / "missing.json"
    assert "sweep file %s does not exist" % path in load_error(path)


def test_yaml_sweep_file_equals_its_json(tmp_path):
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this interpreter")
    data = sweep(dict(name="b{beta:g}", grid=dict(beta=[1, 4])), train=dict(model_type="beta_vae"),
                 metrics=[dict(metrics=["vp_fast"], vp_repeats=1)])
    for suffix in (".yaml", ".yml"):
        path = tmp_path / ("s" + suffix)
        path.write_text(yaml.safe_dump(data))
        assert spec.load_sweep_file(str(path)) == data


def test_unparsable_yaml(tmp_path):
    pytest.importorskip("yaml", reason="PyYAML is not installed in this interpreter")
    path = tmp_path / "bad.yaml"
    path.write_text("trials: [\n  - name: a\n")
    assert "sweep file %s cannot be parsed" % path in load_error(path)


def test_a_yaml_file_without_pyyaml_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)    # import yaml -> ImportError, as without PyYAML
    path = tmp_path / "s.yaml"
    path.write_text("trials: [{name: a}]\n")
    message = load_error(path)
    assert "fix its syntax" not in message and "yaml" in message.lower()


# --- command lines --------------------------------------------------------------------------------------------------

def test_training_argv_and_run_training_reads_it_back():
    """Booleans as true/false, which run_training.py's parser turns back into booleans."""
    flags = dict(seed=3, mirror_augment=True, cascading=False, beta=0.5, dataset="dsprites")
    argv = spec.training_argv(flags)
    assert argv == ["--seed", "3", "--mirror_augment", "true", "--cascading", "false", "--beta", "0.5",
                    "--dataset", "dsprites"]
    resolved = run_training.resolve_flags(argv)
    assert {k: resolved[k] for k in flags} == flags


def test_a_null_flag_value_is_a_sweep_file_error():
    with pytest.raises(spec.SweepFileError, match="resolution is null; leave it out"):
        spec.expand_trials(sweep(dict(name="a", train=dict(resolution=None))), SWEEP_PATH)


def test_metric_argv_and_run_metrics_reads_it_back():
    import run_metrics

    group = dict(metrics=["vp_fast", "mig"], vp_repeats=3, seed=1, gt_points=None)
    argv = spec.metric_argv(group)
    assert argv == ["--metrics", "vp_fast,mig", "--seed", "1", "--vp_repeats", "3"]
    args = run_metrics.build_parser().parse_args(["--network_pkl", "x.pkl"] + argv)
    assert (args.metrics, args.seed, args.vp_repeats, args.gt_points) == ("vp_fast,mig", 1, 3, None)


def test_every_metric_option_is_a_run_metrics_flag():
    import run_metrics

    dests = set(a.dest for a in run_metrics.build_parser()._actions)
    assert set(spec.METRIC_OPTIONS) <= dests


# --- run_training.py --print-flags and the keys -------------------------------------------------------------------

def test_print_flags_resolves_defaults_preset_and_flags_without_tensorflow():
    """Defaults, then the preset, then the flags given; JSON on stdout; TensorFlow never imported."""
    code = ("import json, sys, run_training\n"
            "rc = run_training.main(['--preset', 'quickstart_vae', '--seed', '3', '--minibatch-size', '32', "
            "'--beta', '4', '--print-flags'])\n"
            "print(json.dumps(dict(rc=rc, tf=[m for m in sys.modules if m.split('.')[0] == 'tensorflow'])))\n")
    out = subprocess.check_output([sys.executable, "-c", code], cwd=REPO).decode("utf-8").strip().splitlines()
    printed, state = json.loads(out[-2]), json.loads(out[-1])
    assert state == dict(rc=0, tf=[])
    assert printed["python"] == platform.python_version() and printed["executable"] == sys.executable
    flags = printed["flags"]
    assert "dry_run" not in flags and "print_flags" not in flags
    expected = dict(preset="quickstart_vae", model_type="vp_vae", learning_rate=1e-3,  # preset over VAE_DEFAULTS
                    shuffle_mb=run_training.VAE_DEFAULTS["shuffle_mb"], fmap_base=run_training.DEFAULTS["fmap_base"],
                    seed=3, minibatch_size=32, beta=4.0, result_dir="results", data_dir=None)
    assert {k: flags[k] for k in expected} == expected
    assert set(flags) == set(run_training.DEFAULTS) | {"preset"}


def test_keys_follow_the_resolved_settings():
    """Same settings -> same key; a training flag, a preset, a metric group or the interpreter string change it;
    data_dir (a flag or --data-dir) does not; an unknown flag or a bad value -> trial.error and no key."""
    groups = [dict(metrics=["vp_fast"], vp_repeats=3)]
    train = dict(model_type="vae", seed=1)
    data = sweep(dict(name="a", train=train), dict(name="same", train=train),
                 dict(name="seed", train=dict(train, seed=2)),
                 dict(name="preset", train=dict(train, preset="quickstart_vae")),
                 dict(name="data", train=dict(train, data_dir="/elsewhere")),
                 dict(name="metric", train=train, metrics=[dict(groups[0], vp_repeats=1)]),
                 dict(name="python", train=train, python=os.path.relpath(sys.executable, REPO)),
                 dict(name="unknown", train=dict(train, bogus_flag=3)),
                 dict(name="badvalue", train=dict(train, seed="x")),
                 metrics=groups)
    trials = spec.resolve_keys(spec.expand_trials(data, SWEEP_PATH))
    key = {t.name: t.key for t in trials}
    assert len(key["a"]) == spec.KEY_LENGTH and int(key["a"], 16) >= 0
    assert key["same"] == key["a"] and key["data"] == key["a"]
    changed = [key[n] for n in ("a", "seed", "preset", "metric", "python")]
    assert len(set(changed)) == len(changed)
    a = trials[0]
    assert a.error is None and a.python_version == platform.python_version()
    assert a.flags == {k: v for k, v in run_training.resolve_flags(spec.training_argv(train)).items()
                       if k not in ("dry_run", "print_flags")}
    for name, words in (("unknown", ["trial unknown", "bogus_flag"]), ("badvalue", ["trial badvalue", "--seed", "'x'"])):
        bad = trials[[t.name for t in trials].index(name)]
        assert bad.key is None and bad.flags is None and all(w in bad.error for w in words), bad.error
    with_override = spec.resolve_keys(spec.expand_trials(sweep(dict(name="a", train=train), metrics=groups),
                                                         SWEEP_PATH, dict(data_dir="/cli/data")))
    assert with_override[0].key == key["a"] and with_override[0].flags["data_dir"] == "/cli/data"


def test_resolve_flags_raises_a_usage_error_naming_the_flag():
    [trial] = expand(dict(name="a", train=dict(no_such_flag=1)))
    with pytest.raises(cli.UsageError, match="trial a: run_training.py refused its flags: .*no_such_flag"):
        spec.resolve_flags(trial)


def test_trial_key_hashes_resolved_flags_not_their_order():
    """A flag the file does not set but the preset does (a changed preset) changes the key; the order of the
    flags and the run folder do not."""
    [trial] = expand()
    flags = dict(run_training.DEFAULTS, preset="quickstart_vae")
    key = spec.trial_key(trial, flags, "3.7.16")
    assert spec.trial_key(trial, dict(reversed(list(flags.items()))), "3.7.16") == key
    assert spec.trial_key(trial, dict(flags, result_dir="/other", resume="latest"), "3.7.16") == key
    assert spec.trial_key(trial, dict(flags, learning_rate=0.5), "3.7.16") != key
    assert spec.trial_key(trial, flags, "3.11.7") != key


# --- table.py ------------------------------------------------------------------------------------------------------

def test_trial_dir_names():
    assert table.trial_dir("/out", fake_trial("a", key="abc")) == os.path.join("/out", "trials", "a.abc")
    assert table.trial_dir("/out", fake_trial("a", key=None)) == os.path.join("/out", "trials", "a.unresolved")


def test_result_round_trip_and_what_is_not_a_result(tmp_path):
    out = str(tmp_path)
    trial = fake_trial("a", key="abc")
    assert table.read_result(out, trial) is None                        # never finished
    result = ok_result(trial, vp_fast=12.5)
    table.write_result(out, trial, result)
    assert table.read_result(out, trial) == result
    assert table.read_result(out, fake_trial("a", key=None)) is None     # unresolved
    table.write_result(out, trial, dict(result, key="other"))           # from other settings
    assert table.read_result(out, trial) is None
    with open(os.path.join(table.trial_dir(out, trial), "result.json"), "w") as f:
        f.write('{"key": "abc", "stat')                                 # truncated
    assert table.read_result(out, trial) is None


def test_a_result_that_is_not_an_object_is_no_result(tmp_path):
    trial = fake_trial("a", key="abc")
    os.makedirs(table.trial_dir(str(tmp_path), trial))
    with open(os.path.join(table.trial_dir(str(tmp_path), trial), "result.json"), "w") as f:
        f.write("[1, 2]")
    assert table.read_result(str(tmp_path), trial) is None


def table_trials():
    """Three trials (ok, failed, not run) and their results, for rows() and write_tables()."""
    trials = [fake_trial("t1", key="k1", train=dict(seed=0, model_type="vae"), metrics=[["vp_fast"]]),
              fake_trial("t2", key="k2", train=dict(seed=1, beta=4, module_list="[a|b]"), metrics=[["vp_fast"], ["mig"]]),
              fake_trial("t3", key=None, train=dict(model_type="vae"), metrics=[["sap"]], error="bad flags")]
    results = dict(t1=dict(ok_result(trials[0], vp_fast=12.345678901), attempts=2, node_id="abcdef0123456789",
                           train_seconds_total=61.4, train_seconds=30.0),
                   t2=dict(name="t2", key="k2", status="failed", attempts=1, train_seconds=9.6, metrics={},
                           error="training exited 1\nsee | the log"))
    return trials, results


def test_rows_columns_and_cells():
    """FIXED_COLUMNS, the flags in first-seen order, the metrics (every digit), the error; 'not run' without a
    result."""
    trials, results = table_trials()
    rows = table.rows(trials, results)
    assert rows[0] == list(table.FIXED_COLUMNS) + ["seed", "model_type", "beta", "module_list",
                                                  "vp_fast", "mig", "sap", "error"]
    assert rows[1] == ["t1", "k1", "ok", "2", "abcdef012345", "61", "0", "vae", "", "", "12.345678901", "", "", ""]
    assert rows[2] == ["t2", "k2", "failed", "1", "", "10", "1", "", "4", "[a|b]", "", "", "",
                       "training exited 1 see | the log"]
    assert rows[3] == ["t3", "", "not run", "", "", "", "", "vae", "", "", "", "", "", "bad flags"]


def test_write_tables_csv_and_markdown(tmp_path):
    """results.csv is rows() (floats read back exactly); results.md has 4 significant digits and escapes '|'."""
    trials, results = table_trials()
    table.write_tables(str(tmp_path), trials, results)
    rows = table.rows(trials, results)
    with open(str(tmp_path / "results.csv"), newline="") as f:
        assert list(csv.reader(f)) == rows
    lines = (tmp_path / "results.md").read_text().splitlines()
    assert lines[0] == "| " + " | ".join(rows[0]) + " |" and lines[1] == "|" + "---|" * len(rows[0])
    assert len(lines) == 2 + len(trials)
    assert float(rows[1][rows[0].index("vp_fast")]) == results["t1"]["metrics"]["vp_fast"]
    assert "| 12.35 |" in lines[2]
    assert "| [a\\|b] |" in lines[3] and lines[3].endswith("| training exited 1 see \\| the log |")
    assert all(line.replace("\\|", "").count("|") == len(rows[0]) + 1 for line in lines)


def test_write_correlation(tmp_path):
    """False (and no files) below two complete trials; else correlation.csv / .md / .png of the complete ones."""
    corr = dict(vp_metric="vp_fast", gt_metrics=["mig"])
    trials = [fake_trial("t%d" % i, key="k%d" % i, metrics=[["vp_fast"], ["mig"]]) for i in range(5)]
    values = [(40.0, 0.1), (60.0, 0.3), (80.0, 0.2)]
    results = {t.name: ok_result(t, vp_fast=vp, mig=mig) for t, (vp, mig) in zip(trials, values)}
    results["t3"] = dict(ok_result(trials[3], vp_fast=90.0, mig=0.5), status="failed")
    results["t4"] = ok_result(trials[4], vp_fast=70.0)                   # no mig
    few = str(tmp_path / "few")
    assert table.write_correlation(few, trials, {n: results[n] for n in ("t0", "t3", "t4")}, corr) is False
    assert not os.path.exists(few)
    out = str(tmp_path / "all")
    assert table.write_correlation(out, trials, results, corr) is True
    assert all(os.path.getsize(os.path.join(out, n)) > 0 for n in ("correlation.csv", "correlation.md", "correlation.png"))
    with open(os.path.join(out, "correlation.csv")) as f:
        assert list(csv.reader(f)) == [["run", "vp_fast", "mig"], ["t0", "40", "0.1"], ["t1", "60", "0.3"],
                                       ["t2", "80", "0.2"]]


# --- run_sweep.py without Ray ------------------------------------------------------------------------------------------

TRAIN = dict(model_type="vae", total_kimg=1)
METRICS = [dict(metrics=["vp_fast"], vp_repeats=1), dict(metrics=["mig"])]


def sweep_file(tmp_path, **settings):
    """A sweep file of two trials s0 and s1 (a grid over seed), the given settings on top."""
    data = dict(dict(name="study", train=TRAIN, metrics=METRICS,
                     trials=[dict(name="s{seed}", grid=dict(seed=[0, 1]))]), **settings)
    return write_json(tmp_path / "sweep.json", data)


def fake_results(path, out, **metrics_of):
    """Write an ok result.json, with the key run_sweep.py will compute, for each trial named in ``metrics_of``."""
    trials = spec.resolve_keys(spec.expand_trials(spec.load_sweep_file(path), path))
    for trial in trials:
        if trial.name in metrics_of:
            table.write_result(out, trial, ok_result(trial, **metrics_of[trial.name]))
    return {t.name: t for t in trials}


@pytest.fixture
def no_ray(monkeypatch):
    """Starting Ray fails the test (sweeps.ray_runner cannot be imported); afterwards Ray is still not imported."""
    had_ray = "ray" in sys.modules
    monkeypatch.delattr(sweeps, "ray_runner", raising=False)
    monkeypatch.setitem(sys.modules, "sweeps.ray_runner", None)
    yield
    assert had_ray or "ray" not in sys.modules


def test_list_shows_every_trial_its_key_and_state(tmp_path, capsys, no_ray):
    path = sweep_file(tmp_path, trials=[dict(name="s{seed}", grid=dict(seed=[0, 1])),
                                        dict(name="bad", train=dict(bogus_flag=1))])
    out = str(tmp_path / "out")
    trials = fake_results(path, out, s1=dict(vp_fast=50.0, mig=0.2))
    assert run_sweep.main([path, "--out", out, "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for line, name, state in zip(lines, ["s0", "s1", "bad"], ["to run", "done", "bad flags: trial bad"]):
        assert line.split()[:2] == [name, trials[name].key or "-"] and state in line, line
    assert "bogus_flag" in lines[2] and "cpus 1 gpus 0" in lines[0]
    assert not os.path.exists(os.path.join(out, "results.csv"))     # --list writes nothing
    assert run_sweep.main([path, "--out", out, "--list", "--only", "s1"]) == 0
    assert [l.split()[0] for l in capsys.readouterr().out.splitlines()] == ["s1"]


def test_a_sweep_whose_trials_are_all_done_needs_no_ray(tmp_path, capsys, no_ray):
    """Exit 0, results.csv / .md, the correlation and sweep.json from the earlier results alone."""
    path = sweep_file(tmp_path, correlation=dict(vp_metric="vp_fast", gt_metrics=["mig"]))
    out = str(tmp_path / "out")
    trials = fake_results(path, out, s0=dict(vp_fast=40.0, mig=0.1), s1=dict(vp_fast=60.0, mig=0.3))
    assert run_sweep.main([path, "--out", out, "--quiet"]) == 0
    assert "2 of 2 trial(s) ok" in capsys.readouterr().out
    with open(os.path.join(out, "results.csv"), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(table.FIXED_COLUMNS) + ["model_type", "total_kimg", "seed", "vp_fast", "mig", "error"]
    assert [(r[0], r[1], r[2], r[-3], r[-2]) for r in rows[1:]] == [
        ("s0", trials["s0"].key, "ok", "40.0", "0.1"), ("s1", trials["s1"].key, "ok", "60.0", "0.3")]
    assert os.path.isfile(os.path.join(out, "results.md")) and os.path.isfile(os.path.join(out, "correlation.csv"))
    with open(os.path.join(out, "sweep.json")) as f:
        info = json.load(f)
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert (info["sweep_file"], info["sweep_sha256"], info["trials"], info["done_earlier"], info["failed"]) == (
        os.path.abspath(path), sha, 2, ["s0", "s1"], [])


def test_a_trial_with_bad_flags_fails_alone(tmp_path, capsys, no_ray):
    """The others done: exit 1, the bad trial 'failed' with run_training.py's error in the table."""
    path = sweep_file(tmp_path, trials=[dict(name="s{seed}", grid=dict(seed=[0])),
                                        dict(name="bad", train=dict(bogus_flag=1))])
    out = str(tmp_path / "out")
    fake_results(path, out, s0=dict(vp_fast=40.0, mig=0.1))
    assert run_sweep.main([path, "--out", out]) == cli.EXIT_RUNTIME
    captured = capsys.readouterr()
    assert "FAILED bad: trial bad" in captured.err and "failed: bad" in captured.out
    with open(os.path.join(out, "results.csv"), newline="") as f:
        rows = {r[0]: r for r in csv.reader(f)}
    assert rows["s0"][2] == "ok" and rows["bad"][2] == "failed" and "bogus_flag" in rows["bad"][-1]
    with open(os.path.join(out, "sweep.json")) as f:
        assert json.load(f)["failed"] == ["bad"]


@pytest.mark.parametrize("settings, args, message", [
    (dict(trials=[dict(name="a", train=dict(resume="latest"))]), [], "sweep.json: trials[0]: train: resume is set by"),
    (dict(correlation=dict(vp_metric="vp_fast", gt=["mig"])), [], "sweep.json: correlation: unknown key(s) gt"),
    (dict(), ["--only", "s0,nope"], "--only: no trial named nope; --list shows them"),
    (dict(), ["--local-workers", "0"], "--local-workers must be at least 1, got 0"),
])


def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, no_ray, settings, args, message):
    path = sweep_file(tmp_path, **settings)
    out = str(tmp_path / "out")
    assert run_sweep.main([path, "--out", out] + args) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not os.path.exists(out)


def test_missing_or_unparsable_sweep_file_exits_2(tmp_path, capsys, no_ray):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    for path, message in ((bad, "cannot be parsed"), (tmp_path / "missing.json", "does not exist")):
        assert run_sweep.main([str(path), "--out", str(tmp_path / "out")]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("error: sweep file %s %s" % (path, message)) and err.count("\n") == 1, err


@pytest.mark.parametrize("correlation", [dict(gt_metrics=["mig"]), dict(vp_metric="vp_fast", gt_metrics="mig")])
def test_a_bad_correlation_entry_is_a_usage_error(tmp_path, capsys, no_ray, correlation):
    path = sweep_file(tmp_path, correlation=correlation)
    out = str(tmp_path / "out")
    fake_results(path, out, s0=dict(vp_fast=40.0, mig=0.1), s1=dict(vp_fast=60.0, mig=0.3))
    assert run_sweep.main([path, "--out", out]) == cli.EXIT_USAGE
    assert "correlation" in capsys.readouterr().err
