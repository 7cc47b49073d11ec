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


def test_snapshots_between_whole_kimg_do_not_collide(tmp_path):
    """Ticks of 0.5 kimg: 1.0 and 1.5 kimg get their own files (they once shared network-snapshot-000001.pkl)."""
    run = str(tmp_path)
    for nimg in (500, 1000, 1500, 12000):
        snapshots.save_snapshot(run, nimg / 1000.0, ("G", "D", "Gs-%d" % nimg), state=dict(cur_nimg=nimg))
    assert sorted(n for n in os.listdir(run) if n.endswith(".pkl")) == [
        "network-snapshot-000000.500.pkl", "network-snapshot-000001.500.pkl", "network-snapshot-000001.pkl",
        "network-snapshot-000012.pkl"]
    assert [k for k, _ in snapshots.list_snapshots(run)] == [0.5, 1, 1.5, 12]
    kimg, pkl, state = snapshots.latest_snapshot(run)
    assert kimg == 12 and snapshots.load_state(state)["cur_nimg"] == 12000
    for kimg, path in snapshots.list_snapshots(run):
        assert snapshots.load_state(snapshots.snapshot_paths(run, kimg)[1])["cur_nimg"] == int(round(kimg * 1000))
    assert [snapshots.kimg_label(n) for n in (0, 999, 1000, 1001, 25000000)] == [
        "000000", "000000.999", "000001", "000001.001", "025000"]
    assert snapshots.parse_snapshot_kimg("network-snapshot-000003.250.pkl") == 3.25
    assert snapshots.parse_snapshot_kimg("/x/network-snapshot-000003.pkl") == 3
    for bad in ("network-snapshot-3.pkl", "network-snapshot-000003.25.pkl", "network-final.pkl"):
        assert snapshots.parse_snapshot_kimg(bad) is None


def test_bad_pickles_are_clear_errors(tmp_path):
    truncated = tmp_path / "t.pkl"
    truncated.write_bytes(pickle.dumps(("a", "b", "c"))[:-3])
    with pytest.raises(ValueError, match="cannot read network pickle"):
        snapshots.load_snapshot(str(truncated))
    other = tmp_path / "o.pkl"
    other.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match="not a vpdis network pickle"):
        snapshots.load_snapshot(str(other))
    with pytest.raises(IOError):
        snapshots.load_snapshot(str(tmp_path / "missing.pkl"))
