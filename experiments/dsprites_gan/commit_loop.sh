#!/bin/bash
# Commit the GAN experiment's records as run.py writes them (it writes results/<model>.json after every scored
# point and the traversal PNG at the end): every INTERVAL seconds build.py remakes curves.csv / curves.png /
# summary.md from the records and a commit takes exactly results/ (staged in a private index on top of HEAD, so
# edits in progress elsewhere in the checkout are not committed). Run it from the repository root while run.py
# writes its records here (run.py --out <this checkout>/experiments/dsprites_gan/results); stop it before
# committing by hand.
#   experiments/dsprites_gan/commit_loop.sh [600]
set -u
INTERVAL=${1:-600}
PY=${PYTHON:-.venv/py3.11/bin/python}
RESULTS=experiments/dsprites_gan/results
[ -f experiments/dsprites_gan/build.py ] || { echo "commit_loop.sh: run it from the repository root" >&2; exit 2; }
while true; do
  if ls $RESULTS/*.json > /dev/null 2>&1 && $PY experiments/dsprites_gan/build.py > /dev/null; then
    idx=$(mktemp -u)
    exec 9> "$(git rev-parse --git-common-dir)/results-commit.lock"
    flock 9      # another results loop commits on the same branch: one read-tree .. commit at a time
    if GIT_INDEX_FILE=$idx git read-tree HEAD && GIT_INDEX_FILE=$idx git add $RESULTS \
        && ! GIT_INDEX_FILE=$idx git diff --cached --quiet; then
      GIT_INDEX_FILE=$idx git commit -q -m "dsprites_gan: records and curves so far (run.py + build.py)" \
        && git reset -q -- $RESULTS && echo "$(date -u +%FT%TZ) committed $RESULTS"
    fi
    rm -f "$idx"
    flock -u 9
  else
    echo "$(date -u +%FT%TZ) no record yet, or build.py failed; nothing committed this round" >&2
  fi
  sleep "$INTERVAL"
done
