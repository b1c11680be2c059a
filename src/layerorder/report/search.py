"""The HTML sections of a ``layerorder search``: the space, the plan and the pruning history, put
before the final comparison's own report (which reads the final runs only)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from layerorder.report.html import escaped_table
from layerorder.search.budget import FULL_SEEDS
from layerorder.search.run import epochs


def write_search_report(result, store: str | Path, path: str | Path) -> Path:
    """The page of a search (``SearchResult``): its space, plan and pruning history, then the
    final comparison's report of the final runs only."""
    from layerorder.report import write_report

    final = result.final
    return write_report(store, path, experiment=str(final.experiment.id),
                        run_ids=[r.id for r in final.runs], analysis=final.analysis,
                        lead=search_sections(result, FULL_SEEDS))[0]


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """The report's own table markup, with every cell escaped here."""
    return escaped_table([escape(h) for h in head], [[escape(c) for c in row] for row in rows])


def search_sections(result, full_seeds: int = 5) -> tuple[tuple[str, str, str], ...]:
    """(id, title, HTML body) for the space, the plan and every round of ``result``."""
    space, plan = result.space, result.plan
    merged = [(c.spec, ", ".join(c.same_as)) for c in space.candidates]
    space_html = (
        f"<p>{len(space.candidates)} candidate orders from <code>{escape(space.base)}</code>;"
        f" {space.merged} spellings merged because they compute the same function (a monotone"
        " activation next to max-pooling, ReLU next to dropout, a no-op stage anywhere it"
        " changes nothing), each merge confirmed by building both spellings from one seed and"
        " running them on the data set's inputs in training and in eval.</p>"
        + _table(("candidate", "same function as"), merged)
    )
    if space.rejected:
        space_html += "<p>Refused by the model:</p>" + _table(
            ("order", "why"), [(spec, why) for spec, why in space.rejected])
    full = len(space.candidates) * full_seeds
    rows = [(f"round {r.index + 1}", str(r.candidates), str(r.epochs), str(len(r.seeds)),
             str(r.keep), f"{r.cost / plan.epochs:.1f}") for r in plan.rounds]
    rows.append(("final (fresh seeds)", str(plan.finalists), str(plan.epochs),
                 f"{plan.final_seeds} to {plan.max_seeds}", "", f"≤ {plan.final_cost():.1f}"))
    plan_html = (
        f"<p>Budget {plan.budget:g} full runs; spent {result.spent:.1f}. Training every"
        f" candidate to the end on {full_seeds} seeds would take {full}.</p>"
        + _table(("stage", "orders", "epochs", "seeds", "keeps", "cost (full runs)"), rows)
    )
    history = ""
    for r in result.rounds:
        ranked = [(str(i), s.order, r.metric.cell(s.mean), str(s.runs),
                   "kept" if s.order in r.kept else "dropped: " + r.evidence(s.order))
                  for i, s in enumerate(r.scores, 1)]
        history += (f"<h3>Round {r.plan.index + 1}: {epochs(r.plan.epochs)}, selection seeds"
                    f" {', '.join(map(str, r.plan.seeds))}</h3>"
                    + _table(("rank", "order", r.metric.mean_title, "seeds", ""), ranked))
    history += (
        "<p>Every row of this history is in the store (table <code>search_steps</code>;"
        " <code>layerorder export --what search</code>). The verdict below reads only the"
        " finalists' runs on fresh seeds"
        f" ({', '.join(str(s) for s in sorted({r.seed for r in result.final.runs}))}), never"
        " the runs that selected them.</p>"
    )
    return (
        ("search-space", "Search: candidate orders", space_html),
        ("search-plan", "Search: plan and budget", plan_html),
        ("search-rounds", "Search: pruning history", history),
    )
