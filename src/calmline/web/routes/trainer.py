"""Trainer views: scenario packs with their validation status, and each learner's progress."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from calmline.paths import scenarios_dir
from calmline.web.access import visible_condition
from calmline.web.charts import ProgressItem, progress_chart
from calmline.web.db import SessionRow
from calmline.web.routes.deps import DB, TrainerViewer, render, state

router = APIRouter()


@dataclass(frozen=True)
class PackStatus:
    file: str
    id: str
    title: str
    difficulty: str
    validated: bool  # False when the validator could not run
    problems: list[str]


def pack_statuses(directory: Path | None = None) -> list[PackStatus]:
    """Every pack file with its problems; if ``calmline.customer.scenario`` is missing or fails, the
    files are still listed, marked "not validated"."""
    folder = directory or scenarios_dir()
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    try:
        module = importlib.import_module("calmline.customer.scenario")
        validate = module.validate_file
        valid = {s.id: s for s in module.list_scenarios(folder)}
    except Exception:  # the module is another engineer's and may be mid-change: degrade
        return [PackStatus(p.name, p.stem, "", "", False, []) for p in files]
    out = []
    for path in files:
        try:
            problems = [str(p) for p in validate(path)]
            ok = True
        except Exception as exc:  # one bad file must not hide the others
            problems, ok = [f"validator failed: {type(exc).__name__}: {exc}"], False
        pack = valid.get(path.stem)
        out.append(
            PackStatus(
                path.name,
                getattr(pack, "id", path.stem),
                str(getattr(pack, "title", "")),
                str(getattr(pack, "difficulty", "")),
                ok,
                problems,
            )
        )
    return out


@router.get("/scenarios")
def scenarios_page(
    request: Request,
    who: TrainerViewer,
) -> Response:
    return render(request, "scenarios.html", who, packs=pack_statuses())


@router.get("/learners")
def learners_page(
    request: Request,
    who: TrainerViewer,
    db: DB,
) -> Response:
    where = visible_condition(who.user, state(request).settings.assessors_see_all)
    learners = db.scalars(
        select(SessionRow.learner)
        .where(where, SessionRow.learner != "")
        .distinct()
        .order_by(SessionRow.learner)
    ).all()
    return render(request, "learners.html", who, learners=learners)


@router.get("/learners/{name}")
def learner_progress(
    request: Request,
    name: str,
    who: TrainerViewer,
    db: DB,
) -> Response:
    where = visible_condition(who.user, state(request).settings.assessors_see_all)
    rows = db.scalars(
        select(SessionRow)
        .where(where, SessionRow.learner == name)
        .order_by(SessionRow.created_at, SessionRow.id)
    ).all()
    if not rows:
        raise HTTPException(status_code=404, detail="No sessions of that learner that you can see.")
    items = [
        ProgressItem(r.id, f"{r.created_at:%Y-%m-%d} {r.scenario}", r.score, r.final_anger)
        for r in rows
    ]
    return render(
        request, "progress.html", who, learner=name, rows=rows, chart=progress_chart(items)
    )
