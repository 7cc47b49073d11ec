"""Snapshot files: atomic writes, state/pickle pairing, newest-snapshot lookup, bad pickles."""

import os
import pickle

import pytest

from training import snapshots


def test_state_is_paired_with_its_own_pickle(tmp_path):
    run = str(tmp_path)
    snapshots.save_snapshot(run, 0, ("G", "D", "I", "Gs-a"), state=dict(cur_nimg=200))
    kimg, pkl, state = snapshots.latest_snapshot(run)
    assert (kimg, os.path.basename(pkl)) == (0, "network-snapshot-000000.pkl")
    assert snapshots.load_state(state)["cur_nimg"] == 200
    # A second snapshot under the same name (ticks < 1 kimg) replaces both files consistently.
    snapshots.save_snapshot(run, 0, ("G", "D", "I", "Gs-b"), state=dict(cur_nimg=400))
    assert snapshots.load_state(snapshots.latest_snapshot(run)[2])["cur_nimg"] == 400
    # A kill between the state write and the pickle write leaves a newer state beside an older
    # pickle: the pair is refused, so resuming never mixes them.
    old_pkl = open(pkl, "rb").read()
    snapshots.save_snapshot(run, 0, ("G", "D", "I", "Gs-c"), state=dict(cur_nimg=600))
    with open(pkl, "wb") as f:
        f.write(old_pkl)
    assert snapshots.latest_snapshot(run)[2] is None
    assert not [n for n in os.listdir(run) if ".tmp" in n]


def test_newest_snapshot_and_names(tmp_path):
    run = str(tmp_path)
    assert snapshots.latest_snapshot(run) is None
    for kimg in (1, 12, 3):
        snapshots.save_snapshot(run, kimg, ("G", "D", "Gs"), state=dict(cur_nimg=kimg * 1000))
    (tmp_path / "network-snapshot-99.pkl").write_bytes(b"not a snapshot name")
    assert [k for k, _ in snapshots.list_snapshots(run)] == [1, 3, 12]
    assert snapshots.latest_snapshot(run)[0] == 12


def test_bad_pickles_are_clear_errors(tmp_path):
    truncated = tmp_path / "t.pkl"
    truncated.write_bytes(pickle.dumps(("a", "b", "c"))[:-3])
    with pytest.raises(ValueError, match="cannot read network pickle"):
        snapshots.load_networks(str(truncated))
    other = tmp_path / "o.pkl"
    other.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match="not a vpdis network pickle"):
        snapshots.load_networks(str(other))
    with pytest.raises(IOError):
        snapshots.load_networks(str(tmp_path / "missing.pkl"))
