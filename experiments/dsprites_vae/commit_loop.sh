#!/bin/bash
# Commit the study's results as they appear: every INTERVAL seconds, collect.py turns finished trials into model
# JSONs, build.py remakes the tables and the READMEs' study blocks, and a commit takes exactly those (the results
# folder and the two README blocks, staged in a private index on top of HEAD): edits in progress elsewhere in the
# checkout, or in the READMEs' prose, are not committed. Run it from the repository root, outside the sweep's
# worktree, while the sweep runs; stop it before committing by hand.
#   experiments/dsprites_vae/commit_loop.sh ~/vpdis-work/dsprites_vae/study ~/vpdis-work/dsprites_vae/datasets [300]
set -u
STUDY=${1:?usage: commit_loop.sh STUDY_DIR DATA_DIR [INTERVAL_S]}
DATA=${2:?usage: commit_loop.sh STUDY_DIR DATA_DIR [INTERVAL_S]}
INTERVAL=${3:-300}
PY=${PYTHON:-.venv/py3.11/bin/python}
READMES="README.md experiments/dsprites_vae/README.md"
[ -f experiments/dsprites_vae/build.py ] || { echo "commit_loop.sh: run it from the repository root" >&2; exit 2; }
while true; do
  if $PY experiments/dsprites_vae/collect.py --study "$STUDY" --data-dir "$DATA" && $PY experiments/dsprites_vae/build.py; then
    idx=$(mktemp -u)
    exec 9> "$(git rev-parse --git-common-dir)/results-commit.lock"
    flock 9      # another results loop commits on the same branch: one read-tree .. commit at a time
    GIT_INDEX_FILE=$idx git read-tree HEAD && GIT_INDEX_FILE=$idx git add experiments/dsprites_vae/results
    ok=$?
    for f in $READMES; do      # HEAD's README with the freshly built block, not the working copy's prose
      git show "HEAD:$f" > "$idx.readme" \
        && $PY -c "import sys; sys.path.insert(0, 'experiments/dsprites_vae'); import build; build.write_readme_block('$idx.readme', build.readme_block('$f'))" \
        && blob=$(git hash-object -w "$idx.readme") \
        && GIT_INDEX_FILE=$idx git update-index --cacheinfo "100644,$blob,$f" || ok=1
    done
    if [ $ok = 0 ] && ! GIT_INDEX_FILE=$idx git diff --cached --quiet; then
      names=$(GIT_INDEX_FILE=$idx git diff --cached --name-only --diff-filter=A -- experiments/dsprites_vae/results/models \
              | xargs -r -n1 basename | sed 's/\.json$//' | tr '\n' ' ')
      what=${names:+results ${names}committed}      # no new model: only the tables or README blocks changed
      GIT_INDEX_FILE=$idx git commit -q -m "dsprites_vae study: ${what:-tables rebuilt} (collect.py + build.py)" \
        && git reset -q -- experiments/dsprites_vae/results $READMES \
        && echo "$(date -u +%FT%TZ) committed: ${what:-tables rebuilt}"
    fi
    rm -f "$idx" "$idx.readme"
    flock -u 9
  else
    echo "$(date -u +%FT%TZ) collect.py or build.py failed; nothing committed this round" >&2
  fi
  sleep "$INTERVAL"
done
