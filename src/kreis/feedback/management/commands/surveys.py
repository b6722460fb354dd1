"""``kreis surveys list|send-invitations|remind|analyse|report``: surveys from the command line.

Every subcommand calls the feedback services and queries the pages use. Writes act as a user —
``--user USERNAME``, else the survey's owner — with that user's rights (managing surveys:
marketing, sales managers, administrators) and, for the invitations, the parties of the target
group that user may see. ``--base-url`` is the address Kreis is reached at, for the personal
links in the mails (the web page takes it from the request).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from kreis.core.models import User
from kreis.feedback import analysis, queries, reports, services
from kreis.feedback.models import Survey


class Command(BaseCommand):
    help = "Surveys: list, send invitations, remind, analyse, write the report as PDF."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the surveys with phase, questions and answers")
        listing.add_argument("--user", help="only the surveys this user may see")
        listing.add_argument("--json", action="store_true")
        for name, text in (
            ("send-invitations", "invite the target group not yet invited (online surveys)"),
            ("remind", "remind those invited who have not answered, once each"),
        ):
            command = sub.add_parser(name, help=text)
            command.add_argument("survey", type=int, help="the survey's number (id)")
            command.add_argument("--user", help="act as this user (default: the survey's owner)")
            command.add_argument(
                "--base-url",
                required=True,
                help="where Kreis is reached, e.g. https://crm.example.com/",
            )
        analyse = sub.add_parser("analyse", help="CSAT, NPS, loyalty and every question's figures")
        analyse.add_argument("survey", type=int)
        analyse.add_argument("--json", action="store_true", help="all figures as JSON")
        report = sub.add_parser("report", help="write the report (documentation phase) as PDF")
        report.add_argument("survey", type=int)
        report.add_argument("--output", required=True, help="the PDF file to write")
        report.add_argument("--language", choices=("de", "en"), default="")
        report.add_argument("--user", help="act as this user (default: the survey's owner)")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            if action == "list":
                self._list(opts)
                return
            survey = Survey.objects.filter(pk=opts["survey"]).select_related("owner").first()
            if survey is None:
                raise CommandError(f"no survey #{opts['survey']}")
            getattr(self, "_" + action.replace("-", "_"))(survey, opts)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except PermissionDenied:
            raise CommandError("this user may not manage the survey") from None

    def _user(self, opts, survey: Survey | None = None) -> User:
        name = opts.get("user")
        if name:
            user = User.objects.filter(username=name, is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {name!r}")
            return user
        if survey is not None and survey.owner is not None and survey.owner.is_active:
            return survey.owner
        raise CommandError("the survey has no active owner: give --user")

    def _list(self, opts) -> None:
        if opts["user"]:
            surveys = queries.survey_list_for_user(user=self._user(opts))
        else:
            admin = User(username="system", role="admin", is_active=True)  # every survey
            surveys = queries.survey_list_for_user(user=admin)
        rows = [
            {
                "id": s.pk,
                "name": s.name,
                "phase": s.phase,
                "method": s.method,
                "questions": s.n_questions or 0,
                "responses": s.n_responses or 0,
                "owner": s.owner.username if s.owner else "",
                "created_at": s.created_at,
            }
            for s in surveys.order_by("pk")
        ]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(
                f"#{row['id']:<5} {row['phase']:<13} {row['method']:<8} "
                f"{row['questions']:>3} questions {row['responses']:>6} answers  {row['name']}"
            )
        self.stdout.write(f"{len(rows)} survey(s)")

    def _send_invitations(self, survey: Survey, opts) -> None:
        user = self._user(opts, survey)
        self.stdout.write(f"Inviting the target group of “{survey.name}” as {user.username} …")

        def progress(seen: int) -> None:
            self.stdout.write(f"  {seen:,} parties gone through …")

        result = services.survey_invite(
            actor=user, survey=survey, base_url=opts["base_url"], progress=progress
        )
        self.stdout.write(
            f"{result.invited:,} invited, {result.already_invited:,} invited before, "
            f"{result.without_email:,} without an e-mail address"
        )

    def _remind(self, survey: Survey, opts) -> None:
        user = self._user(opts, survey)
        count = services.survey_remind(actor=user, survey=survey, base_url=opts["base_url"])
        self.stdout.write(f"{count:,} reminder(s) sent")

    def _analyse(self, survey: Survey, opts) -> None:
        data = analysis.survey_analysis(survey)
        if opts["json"]:
            self.stdout.write(json.dumps(data, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False))
            return
        overall = data["overall"]

        def number(value, suffix: str = "") -> str:
            return "–" if value is None else f"{value:.1f}{suffix}"

        low, high = overall["nps_ci"]
        lines = [
            f"{survey.name} ({survey.phase}): {data['responses']} answer(s)",
            f"NPS      {number(overall['nps'])}  (95 % CI {number(low)} … {number(high)}; "
            f"promoters {overall['promoters']}, passives {overall['passives']}, "
            f"detractors {overall['detractors']})",
            f"CSAT     {number(overall['csat'], ' %')}  (n = {overall['csat_n']})",
            f"Loyalty  {number(overall.get('loyalty'))}",
            "",
        ]
        by_id = {q.pk: q for q in survey.questions.all()}
        for q in data["questions"]:
            if "csat" in q:
                figure = f"CSAT {number(q['csat'], ' %')}, mean {number(q['mean'])}"
            elif "nps" in q:
                figure = f"NPS {number(q['nps'])} (n = {q['n']})"
            elif "delighted" in q:
                figure = ", ".join(
                    f"{k} {number(q.get(k), ' %')}"
                    for k in ("delighted", "satisfied", "dissatisfied")
                )
            elif q["counts"]:
                options = by_id[q["id"]].options("en")
                figure = ", ".join(
                    f"{options[int(k)] if int(k) < len(options) else k}: {v}"
                    for k, v in q["counts"].items()
                )
            else:
                figure = "free text"
            lines.append(f"- {q['text_en'][:70]}: {figure}")
        self.stdout.write("\n".join(lines))

    def _report(self, survey: Survey, opts) -> None:
        user = self._user(opts, survey)
        report = reports.report_create(actor=user, survey=survey, language=opts["language"])
        path = Path(opts["output"])
        try:
            path.write_bytes(bytes(report.pdf))
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        self.stdout.write(f"report #{report.pk} archived with the survey and written to {path}")
