"""The README's quick commands run as written, in order, in a clean copy of the project.

A fenced block preceded by the line ``<!-- readme-test -->`` is run: each command (``\\`` continuations
joined, ``#`` comments dropped) with ``python`` replaced by this interpreter, from the copy's root, so the
relative paths of the README (datasets/, results/00000-...) resolve as they would for a new user.
"""

import os
import shlex
import shutil
import subprocess
import sys

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "<!-- readme-test -->"


def marked_commands(text):
    """Commands of the fenced blocks that follow MARKER, in README order."""
    commands, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == MARKER:
            i += 1
            while not lines[i].startswith("```"):
                i += 1
            i += 1
            pending = ""
            while not lines[i].startswith("```"):
                line = lines[i].split(" #")[0].rstrip() if not lines[i].lstrip().startswith("#") else ""
                if line.endswith("\\"):
                    pending += line[:-1].strip() + " "
                elif line.strip() or pending:
                    commands.append((pending + line.strip()).strip())
                    pending = ""
                i += 1
        i += 1
    return [c for c in commands if c]


def test_marked_commands_parser():
    text = "\n".join([MARKER, "```", "# comment", "python a.py --x 1  # trailing", "python b.py \\", "    --y 2",
                      "```", "```", "python not_marked.py", "```"])
    assert marked_commands(text) == ["python a.py --x 1", "python b.py --y 2"]


@pytest.mark.slow
def test_readme_quick_commands_run_as_written(tmp_path):
    with open(os.path.join(ROOT, "README.md")) as f:
        commands = marked_commands(f.read())
    assert len(commands) >= 5, "the README lost its marked quick commands"
    copy = str(tmp_path / "vpdis")
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".git", ".venv", "results", "datasets", "__pycache__", ".pytest_cache", "_cudacache", "*.so"))
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "python", "only python commands are marked quick: %r" % command
        proc = subprocess.run([sys.executable] + argv[1:], cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True)
        assert proc.returncode == 0, "README command failed: %s\n%s" % (command, proc.stdout[-3000:])
    assert os.path.exists(os.path.join(copy, "results", "pairs", "labels.npy"))
