"""Hand-written findings may quote only figures that committed result files hold.

``unquoted_figures`` lists the decimal figures of a README section that no value of the given files spells (at
0-4 decimals or 1-4 significant digits), so a stale or mistyped figure fails a test. A figure that happens to
spell another committed value passes: the check catches drift, not misattribution.
"""

import json
import re

FIGURE = re.compile(r"(?<![\w.])(-?)(\d+\.\d+)")


def numbers_in(path):
    """Every number in a CSV, markdown table or JSON file (floats; other cells skipped)."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        found = []

        def walk(node):
            if isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
            elif isinstance(node, (int, float)) and not isinstance(node, bool):
                found.append(float(node))
        walk(json.loads(text))
        return found
    return [float(sign + digits) for sign, digits in FIGURE.findall(text)]


def spellings(values):
    """The ways a README may print each value: fixed 0-4 decimals or 1-4 significant digits."""
    out = set()
    for v in values:
        out.update("%.*f" % (d, v) for d in range(5))
        out.update("%.*g" % (d, v) for d in range(1, 5))
    return out


def unquoted_figures(text, sources, extra_values):
    """The decimal figures of ``text`` that no value of ``sources`` (file paths) or ``extra_values`` spells.

    In order of appearance. A minus counts only where it is a sign: in "65.0-70.6" it is a range (the regex
    starts no match after a digit).
    """
    known = spellings([v for path in sources for v in numbers_in(path)] + list(extra_values))
    figures = ("".join(m.groups()) for m in FIGURE.finditer(text))
    return [figure for figure in figures if figure not in known]


def section(path, begin, end=None):
    """The text of ``path`` from the first ``begin`` up to the next ``end`` after it (None: to the end)."""
    with open(path) as f:
        text = f.read()
    assert begin in text and (end is None or end in text), "%s: section %r .. %r not found" % (path, begin, end)
    start = text.index(begin)
    return text[start:] if end is None else text[start:text.index(end, start)]
