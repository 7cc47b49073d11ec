"""Synthetic generators: known maps from a latent code to the dSprites factors, drawn by the renderer.

They stand where a trained generator would (``Gs.run``-compatible, no TensorFlow), so the VP metric, pair
folders, traversal grids and the ground-truth metrics can be checked on generators whose disentanglement is
known by construction. Address one by name anywhere a network pickle is accepted:

    --network_pkl synthetic:<family>[-<strength>][@<resolution>]     e.g. synthetic:rotation-30@32

Code: z ~ U(-2, 2)^K (the VP-GAN prior). Factors (5): shape 3, scale 6, orientation 39 (class 39 of dSprites
repeats class 0 and is left out), posX 32, posY 32. In the perfect generator dimension k drives factor k
alone: each factor's *drive* t_k in [-2, 2] is cut into equal bins, one per class (``quantise``). Families
(``FAMILIES``) change the map from z to the drives t:

    perfect           t = z (K = 5)
    rotation-<deg>    (t_posX, t_posY) = R(deg) (z3, z4) / (|cos| + |sin|): a linear mix of two dims (0 = perfect)
    warp-<s>          t_posX = (z3 + s * 2 sin(pi z4 / 2)) / (1 + s): z4 also bends posX, non-linearly
    context-<s>       for the fraction s of codes with the largest z0, z1 moves posX and z3 scale (swapped roles)
    redundant         K = 6: t_posX = (z3 + z5) / 2, two dims drive one factor
    dead-<n>          K = 5 + n: n extra dims change no pixel
    undriven          K = 4: posY is drawn per image, independent of z (hash of the code); z drives the rest
    noise-<sigma>     perfect, plus Gaussian pixel noise of std sigma (pixel range [0, 1]), per image

Every random choice is a hash of its input (the code, or the factor classes), so one code gives one image and
a fixed seed gives the same pairs and metric values. Images: the 64x64 render, or with ``@32`` its 2x2 box
average rounded to uint8 levels (what dataset_tool stores as the 32x32 level), grey, in [-1, 1].

For the ground-truth metrics, ``codes_for_factors`` picks a code for given factor classes (the inverse map;
where several codes fit, a hash-seeded point of the factor's bin, and a hash-seeded prior draw for dimensions
that drive nothing) and ``ground_truth_data`` is a data object whose observations are the factor classes
themselves; the pair is scored as (data, representation) without any image.
"""

import hashlib
import math
import re

import numpy as np

from dnnlib.util import EasyDict
from training import dsprites
from training.ground_truth import GroundTruthData

PREFIX = "synthetic:"
SPAN = 2.0                                      # the prior is U(-SPAN, SPAN)
FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (3, 6, 39, 32, 32)
SHAPE, SCALE, ORIENT, POS_X, POS_Y = range(5)
RESOLUTIONS = (64, 32)

_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix64(x):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic): a well-spread hash."""
    x = (x ^ (x >> np.uint64(30))) * _M2
    x = (x ^ (x >> np.uint64(27))) * _M3
    return x ^ (x >> np.uint64(31))


def _row_keys(rows, salt):
    """One uint64 key per row of an int or float32 array [N, D] (its exact bits), mixed with ``salt``."""
    rows = np.ascontiguousarray(rows)
    words = rows.astype(np.float32).view(np.uint32) if rows.dtype.kind == "f" else rows.astype(np.int64)
    key = np.full(rows.shape[0], np.uint64(salt), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(rows.shape[1]):
            key = _mix64(key * _M1 + words[:, k].astype(np.uint64))
    return key


def hash_uniform(keys, num):
    """float64 [N, num] in [0, 1), a deterministic function of the uint64 keys [N]."""
    with np.errstate(over="ignore"):
        x = _mix64(keys[:, None] * _M1 + np.arange(1, num + 1, dtype=np.uint64)[None, :] * _M2)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def quantise(t, size):
    """Drives t in [-2, 2] -> classes int64 in [0, size): equal bins, the top edge in the last bin."""
    return np.clip(np.floor((np.asarray(t, np.float64) + SPAN) / (2 * SPAN) * size), 0, size - 1).astype(np.int64)


def dequantise(classes, size, u):
    """Classes -> a drive inside each class's bin, at fraction u in [0, 1) of the bin."""
    return -SPAN + 2 * SPAN * (np.asarray(classes, np.float64) + u) / size


# ----------------------------------------------------------------------------------------------------------
# Families: z [N, K] -> drives t [N, 5] and back. ``inverse(t, u)`` gets the drives of the wanted classes and
# hash-uniforms u [N, K] for any choice it has to make.


class Perfect(object):
    num_latent_dims = 5

    def __init__(self, strength=None):
        self.strength = strength

    def drives(self, z):
        return z[:, :5].astype(np.float64)

    def inverse(self, t, u):
        return t.copy()


class Rotation(Perfect):
    def __init__(self, strength):
        self.strength = float(strength)
        a = math.radians(self.strength)
        self.cos, self.sin = math.cos(a), math.sin(a)
        self.norm = abs(self.cos) + abs(self.sin)     # keeps the rotated square inside [-2, 2]^2

    def drives(self, z):
        t = z.astype(np.float64)
        x, y = t[:, POS_X].copy(), t[:, POS_Y].copy()
        t[:, POS_X] = (self.cos * x - self.sin * y) / self.norm
        t[:, POS_Y] = (self.sin * x + self.cos * y) / self.norm
        return t

    def inverse(self, t, u):
        z = t.copy()
        x, y = t[:, POS_X] * self.norm, t[:, POS_Y] * self.norm
        z[:, POS_X] = self.cos * x + self.sin * y
        z[:, POS_Y] = -self.sin * x + self.cos * y
        return z


class Warp(Perfect):
    def _bend(self, z4):
        return 2.0 * np.sin(0.5 * np.pi * z4)

    def drives(self, z):
        t = z.astype(np.float64)
        t[:, POS_X] = (t[:, POS_X] + self.strength * self._bend(t[:, POS_Y])) / (1.0 + self.strength)
        return t

    def inverse(self, t, u):
        z = t.copy()
        z[:, POS_X] = t[:, POS_X] * (1.0 + self.strength) - self.strength * self._bend(t[:, POS_Y])
        return z


class Context(Perfect):
    def _swapped(self, z0):
        return z0 > SPAN - 2 * SPAN * self.strength

    def drives(self, z):
        t = z.astype(np.float64)
        swap = self._swapped(t[:, SHAPE])
        t[swap, SCALE], t[swap, POS_X] = z[swap, POS_X], z[swap, SCALE]
        return t

    def inverse(self, t, u):
        z = t.copy()
        swap = self._swapped(t[:, SHAPE])
        z[swap, SCALE], z[swap, POS_X] = t[swap, POS_X], t[swap, SCALE]
        return z


class Redundant(Perfect):
    num_latent_dims = 6

    def drives(self, z):
        t = z[:, :5].astype(np.float64)
        t[:, POS_X] = 0.5 * (z[:, POS_X] + z[:, 5])
        return t

    def inverse(self, t, u):
        z = np.concatenate([t, np.zeros((t.shape[0], 1))], axis=1)
        lo, hi = np.maximum(-SPAN, 2 * t[:, POS_X] - SPAN), np.minimum(SPAN, 2 * t[:, POS_X] + SPAN)
        z[:, POS_X] = lo + (hi - lo) * u[:, POS_X]
        z[:, 5] = 2 * t[:, POS_X] - z[:, POS_X]
        return z


class Dead(Perfect):
    def __init__(self, strength):
        self.strength = int(strength)
        if self.strength < 1 or self.strength != float(strength):
            raise ValueError("dead-<n> needs a whole number n >= 1 of dead dimensions, got %r" % (strength,))
        self.num_latent_dims = 5 + self.strength

    def inverse(self, t, u):
        return np.concatenate([t, -SPAN + 2 * SPAN * u[:, 5:]], axis=1)


class Undriven(Perfect):
    num_latent_dims = 4
    undriven = POS_Y

    def drives(self, z):
        t = np.zeros((z.shape[0], 5))
        t[:, :4] = z[:, :4]
        t[:, POS_Y] = dequantise(0, 1, hash_uniform(_row_keys(z, 0x5EED), 1)[:, 0])   # uniform, from the code
        return t

    def inverse(self, t, u):
        return t[:, :4].copy()


class Noise(Perfect):
    def __init__(self, strength):
        self.strength = float(strength)
        if not self.strength > 0:
            raise ValueError("noise-<sigma> needs sigma > 0, got %r" % (strength,))


# name -> (family class, needs a strength)
FAMILIES = {
    "perfect": (Perfect, False),
    "rotation": (Rotation, True),
    "warp": (Warp, True),
    "context": (Context, True),
    "redundant": (Redundant, False),
    "dead": (Dead, True),
    "undriven": (Undriven, False),
    "noise": (Noise, True),
}
_NAME_RE = re.compile(r"^([a-z]+)(?:-([0-9.]+))?(?:@([0-9]+))?$")


def parse_name(name):
    """'rotation-30@32' -> (family, strength or None, resolution). ValueError naming the valid forms."""
    text = name[len(PREFIX):] if name.startswith(PREFIX) else name
    match = _NAME_RE.match(text)
    usage = ("synthetic generator names: synthetic:<family>[-<strength>][@<resolution>] with family one of %s "
             "and resolution %s, e.g. synthetic:rotation-30@32" % (", ".join(sorted(FAMILIES)),
                                                                    " or ".join(map(str, RESOLUTIONS))))
    if not match or match.group(1) not in FAMILIES:
        raise ValueError("unknown synthetic generator %r; %s" % (name, usage))
    family, strength, resolution = match.group(1), match.group(2), int(match.group(3) or 64)
    needs = FAMILIES[family][1]
    if needs and strength is None:
        raise ValueError("synthetic generator %r needs a strength (%s-<number>); %s" % (name, family, usage))
    if not needs and strength is not None:
        raise ValueError("synthetic generator %r takes no strength; %s" % (name, usage))
    if resolution not in RESOLUTIONS:
        raise ValueError("synthetic generator %r: resolution %d is not supported; %s" % (name, resolution, usage))
    return family, (float(strength) if strength is not None else None), resolution


class SyntheticGenerator(object):
    """A generator with the interface of a vpdis ``Gs`` network (``run``, ``static_kwargs``, ``clone``).

    run(codes float [N, K], labels ignored, ...) -> float32 [N, 1, R, R] (NCHW) or [N, R, R, 1] in [-1, 1].
    """

    def __init__(self, name, data_format="NCHW"):
        family, strength, resolution = parse_name(name)
        cls, needs = FAMILIES[family]
        self.family = cls(strength) if needs else cls()
        self.family_name, self.strength, self.resolution = family, strength, resolution
        self.name = PREFIX + (name[len(PREFIX):] if name.startswith(PREFIX) else name)
        self.num_latent_dims = self.family.num_latent_dims
        self.static_kwargs = EasyDict(latent_size=self.num_latent_dims, label_size=0, latent_type="uniform",
                                      data_format=data_format, impl="auto", resolution=resolution)
        shape = [None, 1, resolution, resolution] if data_format == "NCHW" else [None, resolution, resolution, 1]
        self.output_shapes = [shape]
        self.input_shapes = [[None, self.num_latent_dims], [None, 0]]

    def clone(self, name=None, data_format=None, impl=None):
        return SyntheticGenerator(self.name, data_format=data_format or self.static_kwargs.data_format)

    # -- codes -> factors -> images --------------------------------------------------------------------

    def _check_codes(self, codes):
        codes = np.asarray(codes, dtype=np.float32)
        if codes.ndim != 2 or codes.shape[1] != self.num_latent_dims:
            raise ValueError("%s takes codes [N, %d], got shape %s" % (self.name, self.num_latent_dims, codes.shape))
        return codes

    def factors_of_codes(self, codes):
        """codes [N, K] -> factor classes int64 [N, 5] (shape, scale, orientation 0-38, posX, posY)."""
        t = self.family.drives(self._check_codes(codes))
        return np.stack([quantise(t[:, k], size) for k, size in enumerate(FACTOR_SIZES)], axis=1)

    def images_of_factors(self, factors, codes=None):
        """Factor classes [N, 5] -> uint8 [N, R, R] grey levels 0..255 (noise-free)."""
        full = np.zeros((factors.shape[0], 6), dtype=np.int64)
        full[:, 1:] = factors
        images = dsprites.render(full)
        if self.resolution == 64:
            return images * np.uint8(255)
        box = images.reshape(-1, 32, 2, 32, 2).sum(axis=(2, 4), dtype=np.int64)     # 0..4 pixels on
        return np.rint(box * (255.0 / 4.0)).astype(np.uint8)

    def run(self, codes, labels=None, randomize_noise=False, minibatch_size=None, **_unused):
        """Images float32 in [-1, 1] for codes [N, K] (``labels``, ``randomize_noise``: accepted, unused:
        every random choice is a hash of the code)."""
        codes = self._check_codes(codes)
        images = self.images_of_factors(self.factors_of_codes(codes)).astype(np.float32) / 255.0
        if isinstance(self.family, Noise):
            seeds = _row_keys(codes, 0x0015E) >> np.uint64(33)          # 31-bit seeds
            for k, seed in enumerate(seeds):
                images[k] += self.family.strength * np.random.RandomState(int(seed)).standard_normal(
                    images.shape[1:]).astype(np.float32)
            np.clip(images, 0.0, 1.0, out=images)
        images = images * 2.0 - 1.0
        return images[:, None] if self.static_kwargs.data_format == "NCHW" else images[:, :, :, None]

    # -- factors -> codes (the ground-truth metrics) ----------------------------------------------------

    def codes_for_factors(self, factors):
        """Factor classes int [N, 5] -> a code float64 [N, K] whose image shows them (the factors this
        generator does not drive are ignored). Deterministic: the choices are hashes of the classes."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != 5:
            raise ValueError("expected factor classes [N, 5] (%s), got %s" % (", ".join(FACTOR_NAMES), factors.shape))
        salt = int(hashlib.sha256(self.name.encode("utf-8")).hexdigest()[:15], 16)
        u = hash_uniform(_row_keys(factors, salt), 5 + self.num_latent_dims)
        t = np.stack([dequantise(factors[:, k], size, u[:, k]) for k, size in enumerate(FACTOR_SIZES)], axis=1)
        return self.family.inverse(t, u[:, 5:])

    def ground_truth_data(self):
        return FactorObservations()

    def representation(self, observations):
        """The representation function for ``ground_truth_data()``: factor classes -> codes."""
        return self.codes_for_factors(np.rint(np.asarray(observations)).astype(np.int64))


class FactorObservations(GroundTruthData):
    """Ground-truth data whose observations are the factor classes (float32 [N, 5]) themselves."""

    factor_sizes = FACTOR_SIZES
    factor_names = FACTOR_NAMES
    observation_shape = (5,)

    def sample_observations_from_factors(self, factors, random_state):
        return self._check_factors(factors).astype(np.float32)


def is_synthetic(path):
    return isinstance(path, str) and path.startswith(PREFIX)
