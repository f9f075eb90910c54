"""An import job's failure message becomes a stored text (a code with parameters rendered in the reader's
language) instead of a sentence in the uploader's language. Old sentences are kept as they were written."""

from django.db import migrations

import huikuan.common.texts


def forwards(apps, schema_editor):
    Job = apps.get_model("imports", "ImportJob")
    for pk, old in Job.objects.exclude(old_message="").values_list("pk", "old_message").iterator():
        Job.objects.filter(pk=pk).update(message=old)


def backwards(apps, schema_editor):
    from django.utils import translation

    from huikuan.common import texts

    Job = apps.get_model("imports", "ImportJob")
    with translation.override("zh-hans"):
        for pk, value in Job.objects.exclude(message=None).values_list("pk", "message").iterator():
            Job.objects.filter(pk=pk).update(old_message=texts.render(texts.load(value))[:500])


class Migration(migrations.Migration):
    dependencies = [("imports", "0004_history_kind")]

    operations = [
        migrations.RenameField("importjob", "message", "old_message"),
        migrations.AddField(
            model_name="importjob",
            name="message",
            field=huikuan.common.texts.StoredTextField(blank=True, null=True),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("importjob", "old_message"),
    ]
