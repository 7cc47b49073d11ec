"""Import an experiment's script (experiments/<experiment>/<name>.py) as a module for tests: under a unique
module name, since several experiments have a run.py or build.py."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(experiment, name):
    path = os.path.join(ROOT, "experiments", experiment, name + ".py")
    spec = importlib.util.spec_from_file_location("%s_%s" % (experiment, name), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
