"""`huikuan import KIND FILE [--map "列名=field"]… [--ignore "列名"]… [--profile NAME] [--preset P]
[--terms "月结45天=create"]… [--due-dates file|terms] [--date-order mdy|dmy] [--create-customers]
[--company CODE] [--user NAME] [--commit] [--dry-run]`

Columns are matched to fields automatically (known Chinese/English names); ``--map`` gives a column
to a field (by code such as ``total`` or by label such as 金额), ``--ignore`` leaves a column out.
``--profile NAME`` reuses a saved mapping, or, together with ``--map``/``--ignore``, saves this one
under NAME. Terms spellings the install does not have are listed; ``--terms "TEXT=create"`` creates
them (their meaning is printed first), ``--terms "TEXT=CODE"`` uses existing terms.

Dates written year last (1/26/2013, 26.01.2013) are read in the order the file's own dates show (a
value above 12 in the first or second place); when every such date could be read both ways
(1/2/2013), ``--date-order mdy`` (month first, US) or ``--date-order dmy`` (day first) says which.
``--create-customers`` (history and documents) creates the customers whose codes the company does not
have, from the row's code and name, in the same all-or-nothing transaction.

Without --commit (or with --dry-run) the file is only checked: every bad row is printed with its
line, column, value and reason, and nothing is written. With --commit the whole file is written in
one transaction, or nothing if any row is refused. Exit status 1 when the file has problems.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from huikuan.accounts.commands import one_company
from huikuan.accounts.models import User
from huikuan.common import texts
from huikuan.common.errors import DomainError
from huikuan.imports.kinds import KINDS, PRESETS
from huikuan.imports.models import JobStatus
from huikuan.imports.parsing import choice_key
from huikuan.imports.services import commit_job, create_job, preview_job

ORDER_WORDS = {"mdy": "month first (month/day/year)", "dmy": "day first (day/month/year)"}


class Command(BaseCommand):
    help = "Import customers, contacts, documents, payments, opening balances or fapiao from CSV/XLSX/XLS."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file")
        parser.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                            help="map a column of the file to a field (code or label); repeatable")
        parser.add_argument("--ignore", action="append", default=[], metavar="COLUMN",
                            help="leave a column of the file unmapped; repeatable")
        parser.add_argument("--profile", default="",
                            help="use this saved column mapping; with --map/--ignore, save the mapping under this name")
        parser.add_argument("--terms", action="append", default=[], metavar="TEXT=create|CODE",
                            help="what unknown payment terms in the file mean: create them, or use existing terms; repeatable")
        parser.add_argument("--due-dates", choices=["file", "terms"], default=None,
                            help="when the file's due dates disagree with the terms: keep the file's or use the terms' schedule")
        parser.add_argument("--date-order", choices=["mdy", "dmy"], default=None,
                            help="how year-last dates such as 1/2/2013 read: mdy = month first (US), dmy = day first; "
                                 "needed only when no date of the file shows it")
        parser.add_argument("--create-customers", action="store_true",
                            help="history and documents: create the customers the file names and the company does "
                                 "not have yet (from the code and name columns)")
        parser.add_argument("--preset", default="", choices=["", *PRESETS], help="column names of a typical export")
        parser.add_argument("--company", default="", help="company code (default: the only one)")
        parser.add_argument("--user", default="", help="who imports (default: the first active administrator)")
        parser.add_argument("--commit", action="store_true", help="write the rows (all or nothing)")
        parser.add_argument("--dry-run", action="store_true", help="only check the file (the default)")
        parser.add_argument("--language", default="", help="zh-hans or en for messages")

    def handle(self, *args, kind, file, profile, preset, company, user, commit, dry_run, language, **opts):
        overrides = [self._pair(m, "--map") for m in opts["map"]]
        terms = dict(self._pair(t, "--terms") for t in opts["terms"])
        if language:
            translation.activate(language)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        comp = self._company(company)
        actor = self._user(user, comp)
        try:
            with open(path, "rb") as fh:
                job = create_job(company=comp, actor=actor, kind=kind, file_name=path.name,
                                 chunks=iter(lambda: fh.read(1024 * 1024), b""), size=path.stat().st_size,
                                 profile_name=profile, preset=preset, overrides=overrides, ignore=opts["ignore"],
                                 save_profile_as=profile if (overrides or opts["ignore"]) else "")
            if opts["create_customers"] and not KINDS[kind].creates_customers:
                raise CommandError("--create-customers applies to: "
                                   + ", ".join(code for code, k in KINDS.items() if k.creates_customers))
            options = {"terms": {choice_key(k): v for k, v in terms.items()},
                       **({"due_dates": opts["due_dates"]} if opts["due_dates"] else {}),
                       **({"date_order": opts["date_order"]} if opts["date_order"] else {}),
                       **({"create_customers": True} if opts["create_customers"] else {})}
            if any(options.values()):
                job.options = options
                job.save(update_fields=["options"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self._mapping_text(job))
        if commit and not dry_run:
            job = self._with_progress(job, actor)
        else:
            job = preview_job(job=job, actor=actor)
        self._report(job, committed=commit and not dry_run)
        if job.status not in (JobStatus.READY, JobStatus.DONE):
            raise CommandError("the file was not imported" if commit else "the file has problems")

    @staticmethod
    def _pair(text, option):
        left, sep, right = text.rpartition("=")
        if not sep or not left.strip() or not right.strip():
            raise CommandError(f"{option} takes LEFT=RIGHT, got {text!r}")
        return left.strip(), right.strip()

    def _company(self, code):
        return one_company(code)

    def _user(self, username, company):
        qs = User.objects.filter(is_active=True)
        if username:
            found = qs.filter(username=username).first()
        else:
            found = qs.filter(role="admin", companies=company).order_by("pk").first()
        if found is None:
            raise CommandError("name an active user with --user NAME")
        return found

    def _mapping_text(self, job):
        lines = ["Columns:"]
        for f in KINDS[job.kind].fields:
            header = job.mapping.get(f.name)
            if header or f.required:
                sample = " | ".join(job.samples.get(header, [])) if header else ""
                lines.append(f"  {f.label} [{f.name}]{' *' if f.required else ''} ← {header or '(missing)'}"
                             + (f"   e.g. {sample}" if sample else ""))
        unmapped = [h for h in job.headers if h and h not in job.mapping.values()]
        if unmapped:
            lines.append("  not imported: " + "、".join(unmapped))
        return "\n".join(lines)

    def _with_progress(self, job, actor):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as bar:
            task = bar.add_task("checking", total=None)

            def progress(phase, done, total):
                bar.update(task, description=phase, completed=done, total=total or None)

            return commit_job(job_id=job.pk, actor=actor, on_progress=progress)

    def _report(self, job, *, committed):
        for label, items in (("", job.errors), ("warning: ", job.warnings)):
            for p in items:
                where = f"line {p['line']}" if p["line"] else "file"
                col = f" [{p['column']}]" if p["column"] else ""
                val = f" “{p['value']}”" if p["value"] else ""
                self.stdout.write(f"{label}{where}{col}{val}: {texts.render(p['reason'])}")
        for u in job.unknown_terms:
            meaning = f"would be created as {u['code']}: {u['meaning']}" if u["code"] else "cannot be read; map it to a code"
            self.stdout.write(f"unknown terms “{u['text']}” ({u['rows']} rows) — {meaning}; "
                              f"--terms \"{u['text']}=create\" or --terms \"{u['text']}=CODE\"")
        dates = (job.findings or {}).get("dates") or {}
        if dates.get("order"):
            how = "as chosen (--date-order)" if dates.get("chosen") else (
                f"as the file shows (line {dates['line']} [{dates.get('column', '')}]: {dates['value']})" if dates.get("line") else "")
            self.stdout.write(f"dates written year last read {ORDER_WORDS[dates['order']]} {how}".rstrip())
        summary = (f"{job.total_rows} rows, {job.error_rows} with problems, {job.warning_rows} with warnings; "
                   f"{job.created_count} new, {job.updated_count} changed, {job.unchanged_count} unchanged")
        new_customers = (job.findings or {}).get("new_customers") or 0
        if new_customers:
            summary += f"; {new_customers} new customer{'s' if new_customers != 1 else ''}"
        self.stdout.write(summary)
        if job.status == JobStatus.DONE:
            self.stdout.write(self.style.SUCCESS("imported"))
        elif job.status == JobStatus.READY:
            self.stdout.write("checked: no problems" + ("" if committed else " (nothing written; use --commit)"))
        else:
            self.stdout.write(self.style.ERROR("nothing was imported"))
