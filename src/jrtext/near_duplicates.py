"""Near-duplicates: syndicated copies of one text that differ by a by-line or boilerplate.

Method (documented in docs/sources.md): each document's text is lower-cased and split into
words (``\\w+``); its set of word 5-gram shingles is summarised by a MinHash signature of
128 values (universal hashes ``(a·x + b) mod (2^31 - 1)`` over the shingles' CRC-32, fixed
seed). Pairs are found by locality-sensitive hashing (32 bands of 4 values: pairs above
about 0.5 Jaccard almost always meet in a band) and kept when their estimated Jaccard
similarity of shingle sets, the share of equal signature values, is at least the threshold
(0.8 by default). The later document of a pair is flagged as a near-duplicate of the
earlier: earlier ingested, then earlier published, then shorter (a syndicated copy adds a
by-line or a credit line, it rarely loses text), then id — documents written in one batch
share a timestamp, so the tie-breaks decide there. Signatures are stored per content, so
an unchanged document is never hashed again.
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import duckdb
import numpy as np

SHINGLE_WORDS = 5
N_PERMUTATIONS = 128
N_BANDS = 32
ROWS_PER_BAND = N_PERMUTATIONS // N_BANDS
MERSENNE_PRIME = (1 << 31) - 1
SEED = 20_240_601
METHOD = f"minhash-{N_PERMUTATIONS} word-{SHINGLE_WORDS}-shingles lsh-{N_BANDS}x{ROWS_PER_BAND}"
_WORDS = re.compile(r"\w+")

_rng = np.random.default_rng(SEED)
# a, b, x < p = 2^31 - 1 keep a·x + b below 2^63: exact in uint64, and a·x wraps p many
# times, so the hash does not follow the order of x (it would with a small a and a large p)
_A = _rng.integers(1, MERSENNE_PRIME, N_PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, MERSENNE_PRIME, N_PERMUTATIONS, dtype=np.uint64)


def shingles(text: str) -> set[int]:
    words = _WORDS.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return {zlib.crc32(" ".join(words).encode())} if words else set()
    return {
        zlib.crc32(" ".join(words[i : i + SHINGLE_WORDS]).encode())
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> list[int]:
    """The MinHash signature: per permutation, the least hash over the shingles."""
    hashed = np.fromiter(shingles(text), dtype=np.uint64) % np.uint64(MERSENNE_PRIME)
    if hashed.size == 0:
        return [int(MERSENNE_PRIME)] * N_PERMUTATIONS
    out = np.empty(N_PERMUTATIONS, dtype=np.uint64)
    for start in range(0, hashed.size, 4096):  # bounded memory on long speeches
        block = hashed[start : start + 4096]
        values = (np.outer(block, _A) + _B) % MERSENNE_PRIME
        mins = values.min(axis=0)
        out = mins if start == 0 else np.minimum(out, mins)
    return [int(v) for v in out]


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two documents' shingle sets."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    doc_id: str
    duplicate_of: str
    similarity: float


def find(
    signatures: dict[str, list[int]], order: dict[str, tuple], threshold: float
) -> list[NearDuplicate]:
    """Pairs at or above ``threshold``; ``order`` ranks which one is the original."""
    buckets: dict[tuple[int, bytes], list[str]] = defaultdict(list)
    for doc_id, values in signatures.items():
        sig = np.asarray(values, dtype=np.uint64)
        for band in range(N_BANDS):
            key = sig[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND].tobytes()
            buckets[(band, key)].append(doc_id)
    pairs: set[tuple[str, str]] = set()
    for members in buckets.values():
        if len(members) > 1:
            pairs.update(tuple(sorted(p)) for p in combinations(members, 2))
    found = []
    for a, b in sorted(pairs):
        score = similarity(signatures[a], signatures[b])
        if score >= threshold:
            first, later = sorted((a, b), key=lambda d: order[d])
            found.append(NearDuplicate(later, first, round(score, 4)))
    return found


def hash_new_documents(con: duckdb.DuckDBPyConnection) -> int:
    """Store signatures of documents that have none for their text; return how many.

    A run calls it after each stored chunk, while the NLP of later chunks goes on, so that
    little hashing is left for ``refresh`` after the NLP."""
    stale = con.execute(
        "SELECT d.doc_id, d.content_sha256, d.text FROM documents d"
        " LEFT JOIN document_signatures s"
        " ON s.doc_id = d.doc_id AND s.content_sha256 = d.content_sha256"
        " WHERE s.doc_id IS NULL"
    ).fetchall()
    if not stale:
        return 0
    fresh = [(doc_id, sha, signature(text)) for doc_id, sha, text in stale]
    con.execute("BEGIN TRANSACTION")
    try:
        con.executemany("DELETE FROM document_signatures WHERE doc_id = ?", [[f[0]] for f in fresh])
        con.executemany("INSERT INTO document_signatures VALUES (?, ?, ?)", fresh)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(fresh)


def refresh(con: duckdb.DuckDBPyConnection, threshold: float) -> int:
    """Hash new or changed documents, then rewrite ``near_duplicates``; return pairs flagged."""
    hash_new_documents(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM document_signatures WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
        )
        rows = con.execute(
            "SELECT s.doc_id, s.signature, d.ingested_at,"
            " coalesce(d.published, DATE '9999-12-31'), d.n_chars"
            " FROM document_signatures s JOIN documents d USING (doc_id)"
        ).fetchall()
        signatures = {r[0]: r[1] for r in rows}
        order = {r[0]: (r[2], r[3], r[4], r[0]) for r in rows}
        flagged = find(signatures, order, threshold)
        con.execute("DELETE FROM near_duplicates")
        if flagged:
            con.executemany(
                "INSERT INTO near_duplicates VALUES (?, ?, ?, ?)",
                [[f.doc_id, f.duplicate_of, f.similarity, METHOD] for f in flagged],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(flagged)
