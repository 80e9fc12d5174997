"""Merge two independent labelling passes and their reconciliation into stand-off label files.

    python scripts/labels/build.py --worklist W.jsonl --pass-a A.tsv --pass-b B.tsv \\
        --reconciled R.tsv --out corpus/labels/NAME.jsonl

Pass and reconciliation files hold ``id<TAB>position<TAB>holder`` lines for the worklist's ids
(``worklist.py``). Where the passes agree their label stands; elsewhere the reconciled one.
Prints the agreement of the two passes (raw and Cohen's kappa) as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.metrics import cohen_kappa_score


def read_pass(path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            key, position, holder = line.split("\t")[:3]
            out[key] = (position, holder)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worklist", type=Path, required=True)
    parser.add_argument("--pass-a", type=Path, required=True)
    parser.add_argument("--pass-b", type=Path, required=True)
    parser.add_argument("--reconciled", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [json.loads(x) for x in args.worklist.read_text(encoding="utf-8").splitlines() if x]
    a, b = read_pass(args.pass_a), read_pass(args.pass_b)
    reconciled = read_pass(args.reconciled) if args.reconciled else {}
    out = []
    for row in rows:
        key = row["id"]
        agreed = a[key] == b[key]
        position, holder = a[key] if agreed else reconciled[key]
        out.append(
            {
                "doc": row["doc"],
                "start": row["start"],
                "end": row["end"],
                "sha256": row["sha256"],
                "position": position,
                "holder": holder,
                "origin": "real",
                "agreed": agreed,
            }
        )
    out.sort(key=lambda r: (r["doc"], r["start"]))
    args.out.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    keys = [r["id"] for r in rows]
    stats = {
        "n": len(keys),
        "position_agreement": sum(a[k][0] == b[k][0] for k in keys) / len(keys),
        "position_kappa": cohen_kappa_score([a[k][0] for k in keys], [b[k][0] for k in keys]),
        "full_agreement": sum(a[k] == b[k] for k in keys) / len(keys),
    }
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
