"""The repository is self-contained: no file cites design notes or data outside it."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE = ("shared/spec", "original_code.md", "../shared")


def _tracked_text_files():
    try:
        names = subprocess.check_output(["git", "ls-files"], cwd=ROOT).decode().split("\n")
    except (OSError, subprocess.CalledProcessError):      # not a git checkout: walk the tree
        names = [os.path.relpath(os.path.join(d, f), ROOT) for d, _, fs in os.walk(ROOT)
                 if ".venv" not in d and ".git" not in d for f in fs]
    return [n for n in names if n.endswith((".py", ".md", ".sh", ".cu", ".txt", ".cfg", ".ini")) or n == "Makefile"]


def test_no_reference_outside_the_repository():
    offenders = []
    for name in _tracked_text_files():
        path = os.path.join(ROOT, name)
        if not os.path.isfile(path) or name == "tests/test_repository.py":
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if any(s in line for s in OUTSIDE):
                    offenders.append("%s:%d: %s" % (name, number, line.strip()))
    assert not offenders, "\n".join(offenders)


def test_docs_that_the_readme_links_exist():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    for doc in ("docs/decisions.md", "docs/formats.md"):
        assert doc in readme and os.path.isfile(os.path.join(ROOT, doc)), doc


def test_packages_import_no_top_level_script():
    """dnnlib/, training/, metrics/ and sweeps/ are libraries: none imports a command-line script of the repository root."""
    import ast

    scripts = {os.path.splitext(n)[0] for n in os.listdir(ROOT) if n.endswith(".py")}
    offenders = []
    for package in ("dnnlib", "training", "metrics", "sweeps"):
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read(), path)
                for node in ast.walk(tree):
                    modules = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                               [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                               else [])
                    offenders += ["%s:%d imports %s" % (os.path.relpath(path, ROOT), node.lineno, m)
                                  for m in modules if m.split(".")[0] in scripts]
    assert scripts >= {"run_metrics", "run_training", "dataset_tool"}
    assert not offenders, offenders
