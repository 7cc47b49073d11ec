"""dnnlib/cli.py: the exit-code convention, one-line messages, and flags in both spellings."""

import errno
import io
import json
import os

import pytest

from dnnlib import cli, util


@pytest.mark.parametrize("exc, code", [
    (cli.UsageError("bad flag"), 2), (ValueError("--num must be positive"), 2), (util.OutputPathError("x"), 2),
    (FileNotFoundError(errno.ENOENT, "No such file", "a.pkl"), 2), (FileExistsError(errno.EEXIST, "exists", "d"), 2),
    (cli.InputError("truncated"), 1), (OSError(errno.ENOSPC, "No space left on device", "out"), 1),
    (PermissionError(errno.EACCES, "Permission denied", "f"), 1), (KeyboardInterrupt(), 130),
    (RuntimeError("a bug"), None), (KeyError("a bug"), None),
])
def test_exit_codes(exc, code):
    assert cli.exit_code(exc) == code


def test_a_dataset_that_is_not_there_is_usage_and_a_broken_one_is_runtime():
    from training.tfrecord_export import DatasetError, DatasetNotFoundError, DatasetUsageError

    assert cli.exit_code(DatasetNotFoundError("no such dataset")) == 2
    assert cli.exit_code(DatasetUsageError("--max_images 0")) == 2
    assert cli.exit_code(DatasetError("corrupt record")) == 1


def test_os_errors_name_the_file_and_the_fix():
    assert cli.describe(OSError(errno.ENOSPC, "No space left on device", "/data/ds")) == (
        "/data/ds: no space left on device; free some space or write elsewhere")
    assert cli.describe(OSError(errno.EROFS, "Read-only file system")) == "read-only file system; choose a writable location"
    assert cli.describe(ValueError("two\n  lines")) == "two lines"


def test_tensorflow_disk_full_errors_count_as_os_errors():
    from dnnlib.tflib.compat import tf

    exc = tf.errors.ResourceExhaustedError(None, None, "/tmp/x.tmp-1-2-3/ds-r06.tfrecords; No space left on device")
    os_error = cli.as_os_error(exc, filename="/tmp/x")
    assert isinstance(os_error, OSError) and os_error.errno == errno.ENOSPC and os_error.filename == "/tmp/x"
    assert cli.exit_code(exc) == 1 and "no space left" in cli.describe(exc)
    assert cli.as_os_error(tf.errors.InvalidArgumentError(None, None, "shapes differ")) is None


def test_report_prints_one_line_and_reraises_bugs():
    err = io.StringIO()
    assert cli.report(cli.InputError("file x is truncated;\n recreate it"), prog="tool", file=err) == 1
    assert err.getvalue() == "tool: error: file x is truncated; recreate it\n"
    with pytest.raises(RuntimeError):
        cli.report(RuntimeError("a bug keeps its traceback"), file=io.StringIO())


def test_numpy_load_problem_never_suggests_unpickling():
    text = cli.numpy_load_problem(ValueError("Cannot load file containing pickled data when allow_pickle=False"))
    assert "allow_pickle" not in text and "could run code" in text


def _parser():
    parser = cli.ArgumentParser(prog="tool")
    parser.add_argument("--model_type", default="gan")
    parser.add_argument("--num-gpus", dest="num_gpus", type=int, default=1)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("create").add_argument("--max_images", type=int)
    return parser


def test_flags_in_both_spellings():
    parser = _parser()
    args = parser.parse_args(["--model-type", "vae", "--num_gpus=2"])
    assert (args.model_type, args.num_gpus) == ("vae", 2)
    assert parser.parse_args(["--model_type", "vp_gan", "--num-gpus", "4"]).num_gpus == 4
    assert parser.parse_args(["create", "--max-images", "5"]).max_images == 5
    help_text = parser.format_help()
    assert "--model_type" in help_text and "--model-type" not in help_text and "--num-gpus" in help_text
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--modeltype", "x"])   # only the two spellings, nothing looser
    assert exc.value.code == 2


def test_every_tool_takes_both_spellings(tmp_path, capsys):
    import run_pair_imgs
    import run_training

    flags = run_training.resolve_flags(["--model-type", "vae", "--total_kimg", "2", "--data_dir", "d"])
    assert (flags.model_type, flags.total_kimg, flags.data_dir) == ("vae", 2.0, "d")
    out = str(tmp_path / "pairs")
    assert run_pair_imgs.main(["--network-pkl", "synthetic:perfect@32", "--n-imgs", "4", "--latent_type", "onedim",
                               "--result_dir", out]) == 0
    assert "--latent_type is deprecated" in capsys.readouterr().err     # the original's flag, with a note
    with open(os.path.join(out, "pairs.json")) as f:
        assert json.load(f)["delta_type"] == "onedim"
    assert run_pair_imgs.main(["--network_pkl", "synthetic:perfect@32", "--n_imgs", "4", "--latent_type", "onedim",
                               "--delta_type", "fulldim", "--result-dir", str(tmp_path / "p2")]) == 2
    assert not os.path.exists(str(tmp_path / "p2"))
