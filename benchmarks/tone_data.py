"""Build the tone reader's labelled set from writers' items and other people's labels.

    .venv/bin/python benchmarks/tone_data.py freeze     # assign splits, record the test hash
    .venv/bin/python benchmarks/tone_data.py batches    # blind batches for the labellers
    .venv/bin/python benchmarks/tone_data.py build      # merge labels into items.jsonl
    .venv/bin/python benchmarks/tone_data.py check      # the frozen test split is unchanged
    .venv/bin/python benchmarks/tone_data.py agreement  # labeller-labeller, writer-labeller

Files under ``data/tone/``:
- ``raw/writer_*.jsonl``: items as their writers wrote them (``intended`` = the tags the
  writer meant; kept for the writer-labeller agreement figure, never used as a label);
- ``splits.json``: the split of every item id, assigned once by a hash of the id
  (60% train, 20% dev, 20% test) and never changed; ``test_sha256`` is the hash of the
  test items' id, context and text, recorded before anything was tuned;
- ``labelling/batch_*.jsonl``: what a labeller sees (id, context, text; shuffled);
- ``labels/<labeller>.jsonl``: their answers (``{"id", "tags"}``);
- ``items.jsonl``: the merged set the trainer and the judgement command read: one
  row per item with ``tags`` from its labeller (never its writer), ``labeller``,
  ``writer``, ``register``, ``style`` and ``split``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "data" / "tone"
SPLITS = ROOT / "splits.json"
ITEMS = ROOT / "items.jsonl"
# Which labeller labels which writer's items: never the writer.
ASSIGNMENT = {
    "writer_a": "labeller_1",
    "writer_b": "labeller_2",
    "writer_c": "labeller_3",
    "writer_d": "labeller_5",
    "writer_e": "labeller_6",
    "writer_f": "labeller_7",
    "writer_g": "labeller_8",
    "writer_h": "labeller_9",
    "writer_i": "labeller_10",
    "writer_j": "labeller_11",
    "writer_k": "labeller_12",
    "writer_l": "labeller_13",
}
SECOND = "labeller_4"  # a second, independent opinion on a sample of round 1, for agreement
SECOND_SAMPLE = 240
# Round 2 (writers d and e, with a primary move): each labeller also labels a sample of
# the other writer's items, for agreement.
CROSS = {
    "labeller_5": "writer_e",
    "labeller_6": "writer_d",
    "labeller_7": "writer_g",  # round 3: writer_g's labeller started first, alone
    "labeller_9": "writer_i",
    "labeller_12": "writer_j",  # round 5
}
CROSS_SAMPLE = 60
# Round 6 (writer_l): a labeller who labels only a sample, for the agreement figure.
AGREEMENT_ONLY = {"labeller_14": "writer_l"}
# Each round's test split is frozen (hashed) on its own, before anything is fitted on it.
ROUNDS = {
    "test_sha256": ("writer_a", "writer_b", "writer_c"),
    "test_sha256_round2": ("writer_d", "writer_e"),
    "test_sha256_round3": ("writer_f", "writer_g"),
    "test_sha256_round4": ("writer_h", "writer_i"),
    "test_sha256_round5": ("writer_j",),
    "test_sha256_round5k": ("writer_k",),
    "test_sha256_round6": ("writer_l",),
}
WRITER_ITEMS = {
    "writer_a": 500, "writer_b": 500, "writer_c": 500, "writer_d": 400, "writer_e": 400,
    "writer_f": 400, "writer_g": 400, "writer_h": 390, "writer_i": 390,
    "writer_j": 400, "writer_k": 400, "writer_l": 500,
}  # fmt: skip
PRIMARY_FROM = (
    "writer_d",
    "writer_e",
    "writer_f",
    "writer_g",
    "writer_h",
    "writer_i",
    "writer_j",
    "writer_k",
    "writer_l",
)  # batches asking the primary move
# Round 3 (customer-service turns): also what the turn does for the problem and which way
# an upset customer's anger would go (LABELLING_GUIDE.md, last section).
# Round 4: contrastive sets (three replies to one customer line that share their topic words
# and differ in what they do); a set's items share a ``group`` and so a split.
DOES_FROM = ("writer_f", "writer_g", "writer_h", "writer_i", "writer_k")  # k: its service turns


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def raw_items() -> list[dict]:
    rows: list[dict] = []
    for path in sorted((ROOT / "raw").glob("writer_*.jsonl")):
        rows.extend(read_jsonl(path))
    return rows


def split_of(item_id: str) -> str:
    bucket = int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def test_hash(rows: list[dict], splits: dict[str, str], writers: tuple[str, ...]) -> str:
    test = sorted(
        (r["id"], r["context"], r["text"])
        for r in rows
        if splits.get(r["id"]) == "test" and r["writer"] in writers
    )
    return hashlib.sha256(json.dumps(test).encode()).hexdigest()


def freeze() -> int:
    """Assign a split to every new item; record the hash of a round's test split the
    first time all its items are in (an existing hash is never rewritten)."""
    rows = raw_items()
    old = json.loads(SPLITS.read_text()) if SPLITS.exists() else {"splits": {}}
    splits: dict[str, str] = dict(old["splits"])
    for r in rows:
        splits.setdefault(r["id"], split_of(r.get("group", r["id"])))
    out = {k: v for k, v in old.items() if k != "splits"}
    have = Counter(r["writer"] for r in rows)
    for key, writers in ROUNDS.items():
        if key in out or any(have[w] < WRITER_ITEMS[w] for w in writers):
            continue
        out[key] = test_hash(rows, splits, writers)
    out["splits"] = dict(sorted(splits.items()))
    SPLITS.write_text(json.dumps(out, indent=0))
    print(Counter(splits.values()), {k: v for k, v in out.items() if k != "splits"})
    return 0


def check() -> int:
    frozen = json.loads(SPLITS.read_text())
    rows = raw_items()
    status = 0
    for key, writers in ROUNDS.items():
        if key not in frozen:
            continue
        digest = test_hash(rows, frozen["splits"], writers)
        if digest != frozen[key]:
            print(f"the frozen test split changed ({key}): {digest} != {frozen[key]}")
            status = 1
        else:
            print(f"test split unchanged ({key}):", digest)
    return status


def _blind(rows: list[dict], primary: bool, does: bool = False) -> list[dict]:
    keys = ("id", "context", "text")
    ask = "tags+primary+does+direction" if does else "tags+primary" if primary else None
    return [{**{k: r[k] for k in keys}, **({"ask": ask} if ask else {})} for r in rows]


def batches() -> int:
    """Write each labeller's blind batch once its writer has finished (a batch is never
    rewritten: its labeller may already be at work on it)."""
    rows = raw_items()
    for writer, labeller in ASSIGNMENT.items():
        path = ROOT / "labelling" / f"batch_{labeller}.jsonl"
        mine = [r for r in rows if r["writer"] == writer]
        if path.exists() or len(mine) < WRITER_ITEMS[writer]:
            print(labeller, "kept" if path.exists() else f"waiting ({len(mine)} items)")
            continue
        if labeller in CROSS:
            other = [r for r in rows if r["writer"] == CROSS[labeller]]
            if len(other) < WRITER_ITEMS[CROSS[labeller]]:
                print(labeller, f"waiting for {CROSS[labeller]}")
                continue
            mine = mine + random.Random(f"cross-{labeller}").sample(other, CROSS_SAMPLE)
        random.Random(f"{writer}-{labeller}").shuffle(mine)
        write_jsonl(path, _blind(mine, writer in PRIMARY_FROM, writer in DOES_FROM))
        print(labeller, len(mine))
    for labeller, writer in AGREEMENT_ONLY.items():  # a second opinion, never a label
        path = ROOT / "labelling" / f"batch_{labeller}.jsonl"
        theirs = [r for r in rows if r["writer"] == writer]
        if path.exists() or len(theirs) < WRITER_ITEMS[writer]:
            continue
        sample = random.Random(f"agree-{labeller}").sample(theirs, CROSS_SAMPLE)
        write_jsonl(path, _blind(sample, writer in PRIMARY_FROM))
        print(labeller, len(sample))
    second = ROOT / "labelling" / f"batch_{SECOND}.jsonl"
    round1 = [r for r in rows if r["writer"] in ROUNDS["test_sha256"]]
    if second.exists() or len(round1) < 1500:
        return 0
    sample = random.Random(SECOND).sample(round1, SECOND_SAMPLE)
    write_jsonl(second, _blind(sample, False))
    print(SECOND, len(sample))
    return 0


def build() -> int:
    splits = json.loads(SPLITS.read_text())["splits"]
    labels: dict[str, tuple[str, dict]] = {}
    owner = {labeller: writer for writer, labeller in ASSIGNMENT.items()}
    raw = raw_items()
    writer_of = {r["id"]: r["writer"] for r in raw}
    for labeller in ASSIGNMENT.values():
        path = ROOT / "labels" / f"{labeller}.jsonl"
        if path.exists():
            for row in read_jsonl(path):
                if writer_of.get(row["id"]) != owner[labeller]:
                    continue  # a cross-check of another writer's item: agreement only
                labels[row["id"]] = (labeller, row)
    out = []
    for r in raw:
        if r["id"] not in labels:
            continue
        labeller, row = labels[r["id"]]
        assert labeller != r["writer"]
        extra = {k: row[k] for k in ("primary", "direction") if row.get(k)}
        if "does" in row:
            extra["does"] = sorted(set(row["does"]))
        out.append(
            {
                "id": r["id"],
                "context": r["context"],
                "text": r["text"],
                "tags": sorted(set(row["tags"])),
                **extra,
                "intended": r.get("intended", []),
                "writer": r["writer"],
                "labeller": labeller,
                "register": r.get("register", ""),
                "style": r.get("style", ""),
                "split": splits[r["id"]],
            }
        )
    write_jsonl(ITEMS, out)
    print(f"{len(out)} labelled items:", dict(Counter(r["split"] for r in out)))
    return 0


def agreement() -> int:
    """Per tag: Cohen's kappa between the second labeller and the first, and between
    each item's writer (what they meant) and its labeller."""
    from calmline.evaluate.agreement import cohen_kappa

    items = {r["id"]: r for r in read_jsonl(ITEMS)}
    second = {r["id"]: set(r["tags"]) for r in read_jsonl(ROOT / "labels" / f"{SECOND}.jsonl")}
    both = [i for i in second if i in items]

    def kappa(pairs: list[tuple[bool, bool]]) -> float:
        yn = [("yes" if a else "no", "yes" if b else "no") for a, b in pairs]
        return cohen_kappa(yn, weighted=False, levels=("no", "yes")) or 0.0

    print(f"{'tag':14s} {'labeller-labeller':>18s} {'writer-labeller':>16s}   (kappa)")
    for tag in sorted({t for r in items.values() for t in r["tags"]}):
        k2 = kappa([(tag in items[i]["tags"], tag in second[i]) for i in both])
        kw = kappa([(tag in r["tags"], tag in r["intended"]) for r in items.values()])
        print(f"{tag:14s} {k2:18.2f} {kw:16.2f}")
    print(f"({len(both)} items with two labellers; {len(items)} with writer and labeller)")
    cross_agreement(items, kappa)
    return 0


def cross_agreement(items: dict[str, dict], kappa) -> None:
    """Round 2: each labeller's cross-sample of the other writer's items against that
    writer's own labeller, per tag and for the primary move."""
    from calmline.evaluate.agreement import cohen_kappa

    pairs: list[tuple[dict, dict]] = []
    for labeller in CROSS:
        path = ROOT / "labels" / f"{labeller}.jsonl"
        if not path.exists():
            continue
        for row in read_jsonl(path):
            first = items.get(row["id"])
            if first is not None and first["labeller"] != labeller:
                pairs.append((first, row))
    if not pairs:
        return
    print(f"\nround 2 cross-labelled: {len(pairs)} items")
    for tag in ("question", "paraphrase", "empathy", "solution", "ownership"):
        k = kappa([(tag in a["tags"], tag in b["tags"]) for a, b in pairs])
        print(f"{tag:14s} {k:18.2f}")
    moves = sorted(
        {a.get("primary") or "" for a, _ in pairs} | {b.get("primary") or "" for _, b in pairs}
    )
    same = sum(a.get("primary") == b.get("primary") for a, b in pairs)
    kp = cohen_kappa(
        [(a.get("primary") or "", b.get("primary") or "") for a, b in pairs],
        weighted=False,
        levels=tuple(moves),
    )
    print(f"primary move: {same}/{len(pairs)} the same, kappa {kp or 0.0:.2f}")
    round3 = [(a, b) for a, b in pairs if a.get("direction") and b.get("direction")]
    if not round3:
        return
    print(f"\nround 3 cross-labelled: {len(round3)} items (does, direction)")
    for move in ("acts", "promises", "brush_off", "policy_wall", "refusal", "transfer",
                 "reasks", "blames"):  # fmt: skip
        k = kappa([(move in a.get("does", []), move in b.get("does", [])) for a, b in round3])
        print(f"{move:14s} {k:18.2f}")
    kd = cohen_kappa(
        [(a["direction"], b["direction"]) for a, b in round3],
        weighted=False,
        levels=("fall", "hold", "rise"),
    )
    same = sum(a["direction"] == b["direction"] for a, b in round3)
    print(f"direction: {same}/{len(round3)} the same, kappa {kd or 0.0:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("freeze", "batches", "build", "check", "agreement"))
    args = ap.parse_args(argv)
    return {
        "freeze": freeze,
        "batches": batches,
        "build": build,
        "check": check,
        "agreement": agreement,
    }[args.step]()


if __name__ == "__main__":
    sys.exit(main())
