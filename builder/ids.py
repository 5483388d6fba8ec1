"""Content ids, content digests and derived seeds: every sha256 the toolkit computes over values.

Ids and seeds must be stable across processes and machines (Python's hash() is salted per
process), so they all come from sha256 here. The hashes a manifest records of files and
templates (sha256_file, sha256_text) live with the rest of the lineage in builder.store.lineage.
"""

from __future__ import annotations

import hashlib
import json


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def content_id(value, length: int = 16) -> str:
    """Hex id of a text (hashed as is) or of a JSON-able value (hashed as its JSON), cut to `length`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _sha256(text).hex()[:length]


def ids_digest(ids: list[str]) -> str:
    """Digest of an ordered id list (a plan's problem ids): a changed, added or moved id changes it."""
    return _sha256("\n".join(ids)).hex()


def rows_digest(rows: list[dict]) -> str:
    """Digest of rows as written (key order ignored): equal digests mean equal content."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def derive_seed(*parts) -> int:
    """A seed from named parts (run seed, tree id, round, kind, k), in [0, 2**63)."""
    return seed_of_text(repr(parts))


def seed_of_text(text: str, bits: int = 63) -> int:
    """A seed in [0, 2**bits) from a text; derive_seed is this over the parts' repr."""
    digest = _sha256(text)
    return int.from_bytes(digest[: 8 if bits > 32 else 4], "big") % (2**bits)


def unit_fraction(text: str) -> float:
    """A number in [0, 1) fixed by the text alone (hash-based splits)."""
    return int.from_bytes(_sha256(text)[:4], "big") / 2**32


# The slot of `psr init-data eft`'s task draw: above any iteration number `psr problems add` uses.
EFT_DRAW_SLOT = 999


def draw_seed(seed: int, slot: int) -> int:
    """Seed of one draw from a task generator: `seed * 1000 + slot`.

    Slots: the iteration for `psr problems add`, EFT_DRAW_SLOT for `psr init-data eft`, the chunk
    index inside a task plugin that draws in chunks. Arithmetic rather than a hash so draws stay
    what they were (the measured demo figures come from them); distinct slots below 1000 never
    collide for one seed.
    """
    return seed * 1000 + slot
