"""``kreis marketing scoring train|score|status``: the predictive lead score.

- ``train``: train on the decided leads, score the open leads, qualify who crossed the MQL
  threshold, here and now; a progress line on stderr follows the steps (redrawn in place on a
  terminal, one line per step elsewhere); then prints the AUC and the top features (or why
  the rule scores apply).
- ``score``: score the open leads with the current model and run the MQL check.
- ``status``: the current model, the newest training and the threshold (``--json``).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from kreis.marketing.models import MarketingSettings
from kreis.marketing.predictive import services
from kreis.marketing.predictive.features import label_of


def register(subparsers) -> None:
    parser = subparsers.add_parser("scoring", help="Predictive lead scoring: train, score, status")
    actions = parser.add_subparsers(dest="scoring_action", required=True)
    actions.add_parser("train", help="Train the model and score the open leads")
    actions.add_parser("score", help="Score the open leads and check the MQL threshold")
    status = actions.add_parser("status", help="The current model and threshold")
    status.add_argument("--json", action="store_true", help="Print JSON")
    parser.set_defaults(run=run)


def _describe(row) -> str:
    if row is None:
        return "no training yet"
    auc = f"AUC {row.auc:.3f} ± {row.auc_std:.3f} ({row.folds} folds)" if row.auc else "no AUC"
    state = "used" if row.usable else "not used"
    return (
        f"{row.trained_at:%Y-%m-%d %H:%M} {state}: {row.samples} decided leads, "
        f"{row.positives} converted; {auc}. {row.message}"
    ).strip()


def _progress_line(stream):
    """The progress callback of ``train``: the step and how far, on ``stream``."""
    terminal = stream.isatty()
    shown: list[str] = []

    def show(step: str, done: int, total: int) -> None:
        entry = {"step": step, "done": done, "total": total}
        line = f"{services.progress_percent(entry):3d} %  {services.progress_text(entry)}"
        if shown and shown[-1] == line:
            return
        shown.append(line)
        if terminal:
            stream.write("\r" + line.ljust(70), ending="")
            stream.flush()
        else:
            stream.write(line)

    return show, terminal


def run(command, options) -> None:
    out = command.stdout
    action = options["scoring_action"]
    if action == "train":
        progress, terminal = _progress_line(command.stderr)
        row = services.train_and_score(progress=progress)
        if terminal:
            command.stderr.write("")
        out.write(_describe(row))
        for item in row.importances[:10]:
            value = f" = {item['value']}" if item.get("value") else ""
            out.write(
                f"  {item['weight']:+.4f} {item['direction']} {label_of(item['feature'])}{value}"
            )
    elif action == "score":
        scored, qualified = services.score_and_qualify()
        if services.current_model() is None:
            out.write("No usable model: the rule scores apply.")
        out.write(f"{scored} open leads scored, {qualified} newly marketing-qualified.")
    else:
        current, latest = services.current_model(), services.latest_training()
        threshold = MarketingSettings.load().mql_threshold
        if options["json"]:
            data = {
                "current": _row(current),
                "latest": _row(latest),
                "rules_apply": current is None,
                "mql_threshold": threshold,
            }
            out.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))
            return
        out.write(f"Current model: {_describe(current)}")
        if latest is not None and latest != current:
            out.write(f"Newest training: {_describe(latest)}")
        if current is None:
            out.write("Too little history or no useful model: the rule scores apply.")
        out.write(f"MQL threshold: {threshold:g}")


def _row(row) -> dict | None:
    if row is None:
        return None
    return {
        "id": row.pk,
        "trained_at": row.trained_at,
        "usable": row.usable,
        "samples": row.samples,
        "positives": row.positives,
        "auc": row.auc,
        "auc_std": row.auc_std,
        "folds": row.folds,
        "message": row.message,
        "features": row.importances,
    }
