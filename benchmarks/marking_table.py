"""Machine vs rater per transcript and point on a labelled folder.

    .venv/bin/python benchmarks/marking_table.py TRANSCRIPTS_DIR LABELS.jsonl

Each cell is gold/machine (M met, p partly, . not met); ``*`` marks the machine kinder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from calmline.embed import load_embedder
from calmline.evaluate.concepts import concept_scorer
from calmline.evaluate.labelled import mark, prepare, read_labels
from calmline.evaluate.rubric import load_rubrics
from calmline.tone.reader import load_tone_reader

SHORT = {"met": "M", "partly": "p", "not_met": "."}
RANK = {"not_met": 0, "partly": 1, "met": 2}


def main() -> None:
    folder, labels = Path(sys.argv[1]), read_labels(Path(sys.argv[2]))
    files = sorted({f for f, _ in labels})
    prepared = prepare(folder, files, concept_scorer(load_embedder()), load_tone_reader())
    rubrics = load_rubrics()
    got = mark(prepared, rubrics)
    points = [(p.id[:4], p.source) for r in rubrics for p in r.points]
    print("file  " + " ".join(f"{short:>5s}" for short, _ in points))
    for f in files:
        cells = []
        for _, source in points:
            gold, machine = labels.get((f, source)), got.get((f, source))
            kinder = bool(gold and machine and RANK[machine] > RANK[gold])
            cell = f"{SHORT.get(gold or '', '?')}/{SHORT.get(machine or '', '?')}"
            cells.append(cell.rjust(5) + ("*" if kinder else " "))
        print(f[:5], " ".join(cells))


if __name__ == "__main__":
    main()
