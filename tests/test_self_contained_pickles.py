"""A network pickle carries the project code its build module uses: loaded in a process where the live
``training.layers``, ``training.networks_*`` and ``dnnlib.tflib.ops.*`` cannot be imported, it gives the outputs it
gave when written, bit for bit. A pickle without those sources (as written before) needs the live modules."""

import os
import pickle
import subprocess
import sys

import numpy as np

from dnnlib import tflib
from dnnlib.tflib import network_source
from dnnlib.tflib.compat import tf
from tests.background_runs import REPO, env
from tests.nets_for_tests import PicklesAsNetwork

BLOCKED = ["training.layers", "training.networks_stylegan2", "training.networks_vp", "training.networks_vae",
           "training.networks_info_gan", "dnnlib.tflib.ops.fused_bias_act", "dnnlib.tflib.ops.upfirdn_2d"]

# Loads the pickle with every module of BLOCKED unimportable and writes each network's outputs.
READER = r'''
import sys, pickle
import numpy as np
blocked = set(sys.argv[3].split(","))

class Block(object):
    def find_spec(self, name, path=None, target=None):
        if name in blocked:
            raise ImportError("%s is blocked: the pickle must carry its own copy" % name)
        return None

sys.meta_path.insert(0, Block())
from dnnlib import tflib
from dnnlib.tflib.compat import tf
inputs = dict(np.load(sys.argv[2]))
with tf.Graph().as_default(), tflib.create_session().as_default():
    with open(sys.argv[1], "rb") as f:
        nets = pickle.load(f)
    outputs = {}
    outputs["G"] = nets["G"].run(inputs["latents"], inputs["labels"], randomize_noise=False)
    outputs["D"] = nets["D"].run(inputs["images"], inputs["labels"])
    outputs["I"] = nets["I"].run(inputs["images"], inputs["images2"])
    outputs["E"] = nets["E"].run(inputs["vae_images"])
assert not blocked & set(sys.modules), sorted(blocked & set(sys.modules))
np.savez(sys.argv[4], **outputs)
'''


def _networks():
    tiny = dict(resolution=8, fmap_base=32, fmap_min=4, impl="ref", data_format="NHWC")
    return dict(
        G=tflib.Network("G", func_name="training.networks_vp.G_main_vp", module_list="[C_global-2, Conv-up-1, "
                        "C_global-3, Noise-1, Conv-id-1]", **tiny),
        D=tflib.Network("D", func_name="training.networks_stylegan2.D_stylegan2", **tiny),
        I=tflib.Network("I", func_name="training.networks_vp.recognizer", num_outputs=5, **tiny),
        E=tflib.Network("E", func_name="training.networks_vae.vae_encoder", resolution=64, latent_size=3))


def _inputs():
    rng = np.random.RandomState(0)
    return dict(latents=rng.uniform(-2, 2, [3, 5]).astype(np.float32), labels=np.zeros([3, 0], np.float32),
                images=rng.uniform(-1, 1, [3, 8, 8, 3]).astype(np.float32),
                images2=rng.uniform(-1, 1, [3, 8, 8, 3]).astype(np.float32),
                vae_images=rng.uniform(-1, 1, [3, 64, 64, 1]).astype(np.float32))


def _read_blocked(tmp_path, pkl_path):
    script, inputs_path, out = tmp_path / "reader.py", tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    script.write_text(READER)
    np.savez(str(inputs_path), **_inputs())
    proc = subprocess.run([sys.executable, str(script), str(pkl_path), str(inputs_path), ",".join(BLOCKED), str(out)],
                          cwd=REPO, env=dict(env(), PYTHONPATH=REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    return proc, (dict(np.load(str(out))) if proc.returncode == 0 else None)


def test_a_pickle_gives_the_same_outputs_without_the_live_modules(tmp_path):
    inputs = _inputs()
    with tf.Graph().as_default(), tflib.create_session().as_default():
        nets = _networks()
        want = dict(G=nets["G"].run(inputs["latents"], inputs["labels"], randomize_noise=False),
                    D=nets["D"].run(inputs["images"], inputs["labels"]),
                    I=nets["I"].run(inputs["images"], inputs["images2"]), E=nets["E"].run(inputs["vae_images"]))
        carried = {k: [name for name, _ in net.__getstate__()["module_sources"]] for k, net in nets.items()}
        path = tmp_path / "nets.pkl"
        path.write_bytes(pickle.dumps(nets))
    assert set(carried["G"]) == {"training.layers", "training.networks_stylegan2", "dnnlib.tflib.ops.fused_bias_act",
                                 "dnnlib.tflib.ops.upfirdn_2d"}
    assert carried["E"] == []             # the VAE networks use nothing of the project's but compat
    proc, have = _read_blocked(tmp_path, path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in want:
        assert np.array_equal(have[name], want[name]), name


def test_a_pickle_without_module_sources_needs_the_live_modules(tmp_path):
    with tf.Graph().as_default(), tflib.create_session().as_default():
        nets = _networks()
        states = {k: net.__getstate__() for k, net in nets.items()}
    for state in states.values():
        state["module_sources"] = None     # as pickles were written before
    old = {k: PicklesAsNetwork(state) for k, state in states.items()}
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(old))
    proc, _ = _read_blocked(tmp_path, path)
    assert proc.returncode != 0 and "is blocked: the pickle must carry its own copy" in proc.stderr


def test_a_loaded_pickle_pickles_again_with_the_same_code():
    with tf.Graph().as_default(), tflib.create_session().as_default():
        G = _networks()["G"]
        state = G.__getstate__()
        again = pickle.loads(pickle.dumps(G)).__getstate__()
    assert again["build_module_src"] == state["build_module_src"]
    assert again["module_sources"] == state["module_sources"]


def test_dependencies_are_found_transitively_and_skip_the_runtime():
    deps = dict(network_source.project_dependencies("from training.networks_vp import recognizer\n"))
    assert set(deps) == {"training.networks_vp", "training.layers", "training.networks_stylegan2",
                         "dnnlib.tflib.ops.fused_bias_act", "dnnlib.tflib.ops.upfirdn_2d"}
    with open(os.path.join(REPO, "training", "layers.py")) as f:
        assert deps["training.layers"] == f.read()
    assert not network_source.is_frozen_dependency("dnnlib.tflib.network")
    assert not network_source.is_frozen_dependency("numpy")
