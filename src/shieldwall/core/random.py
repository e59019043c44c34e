"""Random streams (docs/formats.md §3).

One ``SeedSequence(seed)`` per study; replication *i* uses ``SeedSequence(seed, spawn_key=(i,))``
and each subsystem draws from its own child stream, keyed by a stable name, so adding a radar
does not change the missiles' draws.
"""

from __future__ import annotations

import zlib

import numpy as np


def replication_seed_sequence(seed: int, replication: int = 0) -> np.random.SeedSequence:
    """The seed sequence of replication ``replication`` of a study seeded with ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def component_rng(parent: np.random.SeedSequence, name: str) -> np.random.Generator:
    """A generator for the named component, independent of which other components exist.

    The stream key is a CRC32 of the name appended to the parent's spawn key, so the stream of
    ``"threats"`` is the same whether or not a ``"radar:ew1"`` stream is also drawn.
    """
    key = zlib.crc32(name.encode("utf-8"))
    child = np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, key))
    return np.random.Generator(np.random.PCG64(child))
