"""Playbook step outcomes and task/case notes become stored texts rendered in the reader's language;
step statuses get labels.

Old values were sentences in the language of whoever ran the playbook or the daily job; those the system
wrote are read back as codes where they fit, anything else (a person's note, an error message) stays as it was.
"""

from django.db import migrations, models

import huikuan.common.texts

OUTCOMES = {
    "collections.playbook.held": {},
    "collections.playbook.orders_rejected": {"n": "int"},
    "collections.playbook.case_opened": {"n": "int"},
    "collections.playbook.notified": {"n": "int"},
}


def forwards(apps, schema_editor):
    import huikuan.collections.playbooks  # noqa: F401 - registers the codes
    from huikuan.collections.texts import old_note
    from huikuan.common import texts

    Step = apps.get_model("collections", "PlaybookStep")
    for s in Step.objects.exclude(old_detail="").only("pk", "old_detail").iterator():
        value = texts.recognise(s.old_detail, OUTCOMES) or s.old_detail
        Step.objects.filter(pk=s.pk).update(detail=texts.dump(value))
    for name in ("Task", "Case"):
        model = apps.get_model("collections", name)
        for row in model.objects.only("pk", "old_note").iterator():
            model.objects.filter(pk=row.pk).update(note=texts.dump(old_note(row.old_note) or ""))


def backwards(apps, schema_editor):
    from django.utils import translation

    from huikuan.common import texts

    Step = apps.get_model("collections", "PlaybookStep")
    with translation.override("zh-hans"):
        for s in Step.objects.exclude(detail=None).only("pk", "detail").iterator():
            Step.objects.filter(pk=s.pk).update(old_detail=texts.render(s.detail)[:500])
        for name, size in (("Task", 500), ("Case", 1000)):
            model = apps.get_model("collections", name)
            for row in model.objects.only("pk", "note").iterator():
                model.objects.filter(pk=row.pk).update(old_note=texts.render(row.note)[:size])


class Migration(migrations.Migration):
    dependencies = [("collections", "0003_cap_kind_label")]

    operations = [
        migrations.AlterField(
            model_name="playbookstep", name="status",
            field=models.CharField(choices=[("done", "Done"), ("skipped", "Skipped"), ("failed", "Failed")], max_length=10),
        ),
        migrations.RenameField("playbookstep", "detail", "old_detail"),
        migrations.AddField(
            model_name="playbookstep", name="detail",
            field=huikuan.common.texts.StoredTextField(blank=True, null=True),
        ),
        migrations.RenameField("task", "note", "old_note"),
        migrations.AddField(
            model_name="task", name="note",
            field=huikuan.common.texts.StoredTextField(blank=True, default=str, verbose_name="note"),
        ),
        migrations.RenameField("case", "note", "old_note"),
        migrations.AddField(
            model_name="case", name="note",
            field=huikuan.common.texts.StoredTextField(blank=True, default=str, verbose_name="note"),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("playbookstep", "old_detail"),
        migrations.RemoveField("task", "old_note"),
        migrations.RemoveField("case", "old_note"),
    ]
