"""The code a pickled ``Network`` carries: its build module's source and the sources of the project modules that
module uses, and how that code is executed again when the pickle is loaded.

A network pickle written by this project holds, besides its build module's source, ``module_sources``: the source
of every project module the build module imports, directly or through another (``training.layers``,
``training.networks_stylegan2``, the ops in ``dnnlib.tflib.ops``). On load those run as private copies, and
the build module's imports of them are answered with the copies, so a snapshot computes what it computed when
it was written whatever the live files say now. What stays live is the runtime every pickle needs: ``dnnlib``
itself (``util``, ``tflib``'s ``Network``, ``tfutil``, ``compat``, ``custom_ops``), numpy and TensorFlow. The
CUDA kernels (``*.cu``) are read from the live tree when a GPU compiles them; their results are tested against
the reference implementations, which are part of the frozen copies. Pickles written before ``module_sources``
existed import the live modules.

Build sources of NVIDIA's TF StyleGAN / StyleGAN2 do ``import tensorflow as tf`` and call the TF1 API
(``source_api`` "tf1"): they run with ``tensorflow`` bound to this runtime's TF1 API (``tf.compat.v1`` on TF 2).

Security: this executes the code stored in a pickle. Only load pickles you produced or whose sha256 you trust.
"""

import ast
import builtins
import hashlib
import importlib
import inspect
import os
import sys
import types
from collections import OrderedDict

from dnnlib.tflib.compat import tf

SOURCE_APIS = ("vpdis", "tf1")     # how a build source imports TensorFlow: dnnlib.tflib.compat, or "tensorflow"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Module objects made from pickled code: sys.modules name -> (build source, source API, module sources), and the
# module made for each distinct code digest, so loading many snapshots of one run executes their code once.
_MODULE_CODE = {}
_DIGEST_TO_MODULE = {}


def is_frozen_dependency(name):
    """True for a project module that pickles carry a copy of: under the repository, not a package's
    ``__init__``, and not the dnnlib runtime (dnnlib's ops are carried)."""
    if name == "dnnlib" or (name.startswith("dnnlib.") and not name.startswith("dnnlib.tflib.ops.")):
        return False
    path = getattr(sys.modules.get(name), "__file__", None) or ""
    return (os.path.abspath(path).startswith(ROOT + os.sep) and os.path.basename(path) != "__init__.py"
            and path.endswith(".py"))


def _imported_names(source):
    """Absolute module names a source imports: ``import a.b`` -> a.b; ``from a import b`` -> a and a.b."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += ["%s.%s" % (node.module, alias.name) for alias in node.names]
    return names


def project_dependencies(source, known=None):
    """[(module name, source)] of the project modules ``source`` uses, directly or not, in discovery order.
    ``known``: {name: source} to take sources from instead of the live files (a frozen module's own bundle)."""
    found = OrderedDict()
    pending = [source]
    while pending:
        for name in _imported_names(pending.pop()):
            if name in found:
                continue
            if known is not None and name in known:
                found[name] = known[name]
            elif known is None and is_frozen_dependency(name):
                found[name] = inspect.getsource(sys.modules[name])
            else:
                continue
            pending.append(found[name])
    return list(found.items())


def _tf1_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name == "tensorflow" or name.startswith("tensorflow.")):
        if name != "tensorflow":
            raise ImportError("a pickled network's source imports %s; only 'import tensorflow' (its TF1 API) can be "
                              "provided to old pickles on this runtime" % name)
        return tf
    return builtins.__import__(name, globals, locals, fromlist, level)


class _PackageView(types.ModuleType):
    """What ``import a.b`` / ``from a import b`` return when a.b is frozen: a.b is the copy, the rest is live."""

    def __init__(self, prefix, lookup):
        super(_PackageView, self).__init__(prefix)
        self._prefix, self._lookup = prefix, lookup

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        found = self._lookup(self._prefix + "." + attr)
        if found is not None:
            return found
        try:
            return getattr(importlib.import_module(self._prefix), attr)
        except AttributeError:
            return importlib.import_module(self._prefix + "." + attr)


class _FrozenModules(object):
    """The private copies of one pickle's module sources, made on first import."""

    def __init__(self, digest, sources, source_api):
        self.digest, self.sources, self.source_api, self.modules = digest, OrderedDict(sources), source_api, {}

    def lookup(self, name):
        """The frozen module ``name``, a view of a package holding frozen modules, or None."""
        if name in self.sources:
            return self.module(name)
        if any(n.startswith(name + ".") for n in self.sources):
            return _PackageView(name, self.lookup)
        return None

    def module(self, name):
        if name not in self.modules:
            module = types.ModuleType("_vpdis_frozen_%s.%s" % (self.digest, name))
            # The live path, so the ops find their .cu kernels; the code itself is compiled from the copy.
            module.__file__ = os.path.join(ROOT, *name.split(".")) + ".py"
            module.__dict__["__builtins__"] = self.builtins()
            sys.modules[module.__name__] = module
            self.modules[name] = module
            exec(compile(self.sources[name], "<pickled %s>" % name, "exec"), module.__dict__)  # pylint: disable=exec-used
            _MODULE_CODE[module.__name__] = (self.sources[name], self.source_api, list(self.sources.items()))
        return self.modules[name]

    def import_(self, name, globals=None, locals=None, fromlist=(), level=0):
        found = None
        if level == 0 and fromlist:                 # from a.b import c: a.b itself, or a view holding a frozen a.b.c
            found = self.lookup(name)
        elif level == 0 and (name in self.sources or any(n.startswith(name + ".") for n in self.sources)):
            found = self.lookup(name.split(".")[0])     # import a.b binds the package a
        if found is not None:
            return found
        if self.source_api == "tf1":
            return _tf1_import(name, globals, locals, fromlist, level)
        return builtins.__import__(name, globals, locals, fromlist, level)

    def builtins(self):
        return dict(builtins.__dict__, __import__=self.import_)


def module_from_source(source, source_api="vpdis", module_sources=None):
    """The module made by executing a build source, its project imports answered from ``module_sources``
    ([(name, source)]; None: import the live modules). One module per distinct code, cached."""
    if source_api not in SOURCE_APIS:
        raise ValueError("unsupported network pickle: source_api %r (known: %s)" % (source_api, ", ".join(SOURCE_APIS)))
    bundle = list(module_sources) if module_sources is not None else None
    text = "\0".join([source_api, source] + ["%s\0%s" % kv for kv in (bundle or [])] + ["live" if bundle is None else ""])
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    module = _DIGEST_TO_MODULE.get(digest)
    if module is None:
        name = "_vpdis_net_module_" + digest
        module = types.ModuleType(name)
        module.__file__ = "<pickled network source %s>" % digest
        if bundle is not None:
            module.__dict__["__builtins__"] = _FrozenModules(digest, bundle, source_api).builtins()
        elif source_api == "tf1":
            module.__dict__["__builtins__"] = dict(builtins.__dict__, __import__=_tf1_import)
        sys.modules[name] = module  # so functions defined there can be pickled / found by name
        exec(compile(source, module.__file__, "exec"), module.__dict__)  # pylint: disable=exec-used
        _MODULE_CODE[name] = (source, source_api, bundle)
        _DIGEST_TO_MODULE[digest] = module
    return module


def code_of_module(module):
    """(build source, source API, module sources) to pickle for a build function defined in ``module``: what it
    was made from if it came from a pickle, else the live file and the live project modules it uses."""
    if module.__name__ in _MODULE_CODE:
        source, source_api, bundle = _MODULE_CODE[module.__name__]
        if bundle is not None:       # only the part of the bundle this module uses
            bundle = project_dependencies(source, dict(bundle))
        return source, source_api, bundle
    source = inspect.getsource(module)
    return source, "vpdis", project_dependencies(source)
