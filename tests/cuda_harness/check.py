#!/usr/bin/env python3
"""Check the CUDA harness's outputs against independent numpy references (numpy only, no TensorFlow).

Usage: check.py OUT_DIR [--require-device]

OUT_DIR holds manifest.txt and case_*.bin written by harness.cu. Each case file holds float32 arrays in this
order -- FusedBiasAct: x, b, ref, y_host, [y_device]; UpFirDn2D: x, k, y_host, [y_device] -- with sizes given
by the manifest line. Prints PASS/FAIL per case (host path and device path) and exits non-zero on any
mismatch (or, with --require-device, when a case has no device output).

The references below are written from the op contracts, not from the kernel code.
"""

import os
import sys

import numpy as np

SELU_SCALE = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
ACT_NAMES = {1: "linear", 2: "relu", 3: "lrelu", 4: "tanh", 5: "sigmoid", 6: "elu", 7: "selu", 8: "softplus",
             9: "swish"}


# --------------------------------------------------------------------------------------------------------
# References (float64).


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # overflow-free logistic


def fba_reference(x, b, ref, shape, axis, act, grad, alpha, gain):
    """y for FusedBiasAct from the op contract, in float64."""
    x = x.astype(np.float64).reshape(shape)
    if grad == 0:
        h = x
        if b.size:
            bshape = [1] * len(shape)
            bshape[axis] = -1
            h = x + b.astype(np.float64).reshape(bshape)
        if act == 1:
            y = h
        elif act == 2:
            y = np.maximum(h, 0.0)
        elif act == 3:
            y = np.where(h > 0, h, alpha * h)
        elif act == 4:
            y = np.tanh(h)
        elif act == 5:
            y = _sigmoid(h)
        elif act == 6:
            y = np.where(h >= 0, h, alpha * np.expm1(np.minimum(h, 0.0)))
        elif act == 7:
            y = SELU_SCALE * np.where(h >= 0, h, SELU_ALPHA * np.expm1(np.minimum(h, 0.0)))
        elif act == 8:
            y = np.logaddexp(0.0, h)
        elif act == 9:
            y = h * _sigmoid(h)
        else:
            raise ValueError(act)
        return (y * gain).reshape(-1)

    dy = x
    r = ref.astype(np.float64).reshape(shape)
    if act == 9:  # ref = pre-activation h
        s = _sigmoid(r)
        if grad == 1:
            m = gain * (s + r * s * (1.0 - s))
        else:
            m = gain * s * (1.0 - s) * (2.0 + r * (1.0 - 2.0 * s))
        return (dy * m).reshape(-1)

    a = r / gain  # ref = forward output, gain included
    if grad == 1:
        table = {
            1: lambda: np.ones_like(a),
            2: lambda: (a > 0).astype(np.float64),
            3: lambda: np.where(a > 0, 1.0, alpha),
            4: lambda: 1.0 - a * a,
            5: lambda: a * (1.0 - a),
            6: lambda: np.where(a >= 0, 1.0, a + alpha),
            7: lambda: np.where(a >= 0, SELU_SCALE, a + SELU_SCALE * SELU_ALPHA),
            8: lambda: 1.0 - np.exp(-a),
        }
        return (dy * gain * table[act]()).reshape(-1)
    table = {
        1: lambda: np.zeros_like(a),
        2: lambda: np.zeros_like(a),
        3: lambda: np.zeros_like(a),
        4: lambda: -2.0 * a,
        5: lambda: 1.0 - 2.0 * a,
        6: lambda: (a < 0).astype(np.float64),
        7: lambda: (a < 0).astype(np.float64),
        8: lambda: np.exp(-a),
    }
    return (dy * table[act]()).reshape(-1)


def ufd_reference(x, k, c):
    """UpFirDn2D by construction: zero-insert, pad/crop, correlate with the flipped kernel, subsample."""
    x = x.astype(np.float64).reshape(c["major"], c["inH"], c["inW"], c["minor"])
    k = k.astype(np.float64).reshape(c["kH"], c["kW"])
    n, ih, iw, m = x.shape
    u = np.zeros((n, ih * c["upy"], iw * c["upx"], m))
    u[:, :: c["upy"], :: c["upx"], :] = x
    u = np.pad(u, [(0, 0), (max(c["pady0"], 0), max(c["pady1"], 0)), (max(c["padx0"], 0), max(c["padx1"], 0)),
                   (0, 0)])
    u = u[:, max(-c["pady0"], 0): u.shape[1] - max(-c["pady1"], 0), max(-c["padx0"], 0): u.shape[2] - max(-c["padx1"], 0)]
    kh, kw = k.shape
    oh = (u.shape[1] - kh) // c["downy"] + 1
    ow = (u.shape[2] - kw) // c["downx"] + 1
    assert (oh, ow) == (c["outH"], c["outW"]), "output size mismatch: harness %s, numpy %s" % (
        (c["outH"], c["outW"]), (oh, ow))
    kf = k[::-1, ::-1]
    y = np.zeros((n, oh, ow, m))
    for ky in range(kh):
        for kx in range(kw):
            y += kf[ky, kx] * u[:, ky: ky + (oh - 1) * c["downy"] + 1: c["downy"],
                                kx: kx + (ow - 1) * c["downx"] + 1: c["downx"], :]
    return y.reshape(-1)


# --------------------------------------------------------------------------------------------------------
# Case parsing and comparison.


def parse_manifest(path):
    cases = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            c = {}
            for tok in line.split():
                key, val = tok.split("=", 1)
                if key in ("op", "file", "dtype"):
                    c[key] = val
                elif key == "shape":
                    c[key] = [int(v) for v in val.split(",")]
                elif key in ("alpha", "gain"):
                    c[key] = float(val)
                else:
                    c[key] = int(val)
            cases.append(c)
    return cases


def compare(y, ref, atol, rtol):
    """(ok, worst normalised error, index): ok iff |y - ref| <= atol + rtol*|ref| everywhere."""
    if y.shape != ref.shape:
        return False, float("inf"), -1
    err = np.abs(y.astype(np.float64) - ref)
    tol = atol + rtol * np.abs(ref)
    ratio = np.where(np.isfinite(err), err / tol, np.inf)
    i = int(np.argmax(ratio)) if ratio.size else 0
    worst = float(ratio[i]) if ratio.size else 0.0
    return bool(np.all(ratio <= 1.0)), worst, i


def check_case(out_dir, c):
    """Returns a list of (label, ok, worst, detail)."""
    raw = np.fromfile(os.path.join(out_dir, c["file"]), dtype=np.float32)
    half = c["dtype"] == "float16"
    results = []
    if c["op"] == "fba":
        n = int(np.prod(c["shape"]))
        nb = c["shape"][c["axis"]] if c["bias"] else 0
        nr = n if c["grad"] > 0 else 0
        sizes = [n, nb, nr, n] + ([n] if c["device"] else [])
        if raw.size != sum(sizes):
            return [("fba#%d" % c["id"], False, float("inf"), "file has %d floats, expected %d" % (raw.size, sum(sizes)))]
        parts = np.split(raw, np.cumsum(sizes)[:-1])
        x, b, r = parts[0], parts[1], parts[2]
        ref = fba_reference(x, b, r, c["shape"], c["axis"], c["act"], c["grad"], c["alpha"], c["gain"])
        # Per-element absolute tolerance grows with the magnitudes involved (large inputs test the clamps).
        mag = (1.0 + np.abs(x.astype(np.float64))) * (1.0 + np.abs(r.astype(np.float64)) if r.size else 1.0)
        atol = (2e-3 if half else 2e-5) * mag
        rtol = 4e-3 if half else 2e-4
        desc = "fused_bias_act %-8s grad=%d %s shape=%s axis=%d bias=%d alpha=%g gain=%g%s" % (
            ACT_NAMES[c["act"]], c["grad"], c["dtype"], "x".join(map(str, c["shape"])), c["axis"], c["bias"],
            c["alpha"], c["gain"], " grid=%d" % c["grid"] if c["grid"] else "")
        outs = [("host", parts[3])] + ([("device", parts[4])] if c["device"] else [])
    else:
        nx = c["major"] * c["inH"] * c["inW"] * c["minor"]
        nk = c["kH"] * c["kW"]
        ny = c["major"] * c["outH"] * c["outW"] * c["minor"]
        sizes = [nx, nk, ny] + ([ny] if c["device"] else [])
        if raw.size != sum(sizes):
            return [("ufd#%d" % c["id"], False, float("inf"), "file has %d floats, expected %d" % (raw.size, sum(sizes)))]
        parts = np.split(raw, np.cumsum(sizes)[:-1])
        x, k = parts[0], parts[1]
        ref = ufd_reference(x, k, c)
        ksum = float(np.abs(k).sum()) * max(1.0, float(np.abs(x).max()))
        atol = (2e-3 if half else 1e-5) * ksum
        rtol = 4e-3 if half else 1e-4
        desc = "upfirdn_2d %s x=[%d,%d,%d,%d] k=%dx%d up=%dx%d down=%dx%d padx=%d,%d pady=%d,%d -> %dx%d%s" % (
            c["dtype"], c["major"], c["inH"], c["inW"], c["minor"], c["kH"], c["kW"], c["upx"], c["upy"], c["downx"],
            c["downy"], c["padx0"], c["padx1"], c["pady0"], c["pady1"], c["outH"], c["outW"],
            " grid=%d" % c["grid"] if c["grid"] else "")
        outs = [("host", parts[2])] + ([("device", parts[3])] if c["device"] else [])
    for label, y in outs:
        ok, worst, i = compare(y, ref, atol, rtol)
        detail = "" if ok else " (worst at %d: got %r, want %r; error/tolerance %.3g)" % (
            i, float(y[i]) if i >= 0 else None, float(ref[i]) if i >= 0 else None, worst)
        results.append(("%s [%s]" % (desc, label), ok, worst, detail))
    return results


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    require_device = "--require-device" in argv
    if len(args) != 1:
        print(__doc__)
        return 2
    out_dir = args[0]
    cases = parse_manifest(os.path.join(out_dir, "manifest.txt"))
    n_fail = n_pass = 0
    worst = {"fba": 0.0, "ufd": 0.0}
    for c in cases:
        if require_device and not c["device"]:
            print("FAIL case %d has no device output (harness ran --host-only?)" % c["id"])
            n_fail += 1
            continue
        for desc, ok, w, detail in check_case(out_dir, c):
            print("%s %s%s" % ("PASS" if ok else "FAIL", desc, detail))
            worst[c["op"]] = max(worst[c["op"]], w)
            if ok:
                n_pass += 1
            else:
                n_fail += 1
    print("check.py: %d passed, %d failed (worst error/tolerance: fused_bias_act %.3g, upfirdn_2d %.3g)"
          % (n_pass, n_fail, worst["fba"], worst["ufd"]))
    if not cases:
        print("FAIL no cases in manifest")
        return 1
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
