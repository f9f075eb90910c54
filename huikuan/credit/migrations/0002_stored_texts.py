"""Hold reasons, order decisions, check reasons and notifications become stored texts (a code with
parameters rendered in the reader's language, or the words a user typed).

Old rows hold sentences in the language of whoever wrote them; the ones the system wrote (the overdue
hold rule, a dunning notice number, check reasons, decision notifications) are read back as codes
where they fit, anything else stays as it was typed.
"""

from django.db import migrations

import huikuan.common.texts


def forwards(apps, schema_editor):
    from huikuan.common import texts
    from huikuan.credit import texts as credit_texts

    Profile = apps.get_model("credit", "CreditProfile")
    for p in Profile.objects.exclude(old_hold_reason="").only("pk", "old_hold_reason", "hold_source").iterator():
        value = credit_texts.hold_reason(p.old_hold_reason, p.hold_source)
        Profile.objects.filter(pk=p.pk).update(hold_reason=texts.dump(value))
    Order = apps.get_model("credit", "SalesOrder")
    for o in Order.objects.only("pk", "old_decision_note", "check_reasons").iterator():
        reasons = []
        for r in o.check_reasons or []:
            if isinstance(r, dict) and "message" in r and "text" not in r:
                message = credit_texts.check_reason(r)["message"]
                if isinstance(message, texts.Text):
                    r = {"severity": r.get("severity", ""), "code": r.get("code", ""), "text": message.as_data()}
            reasons.append(r)
        Order.objects.filter(pk=o.pk).update(decision_note=o.old_decision_note or None, check_reasons=reasons)
    Notification = apps.get_model("credit", "Notification")
    for n in Notification.objects.only("pk", "old_message").iterator():
        value = texts.recognise(n.old_message, credit_texts.NOTIFICATIONS) or n.old_message
        Notification.objects.filter(pk=n.pk).update(message=texts.dump(value))


def backwards(apps, schema_editor):
    from django.utils import translation

    from huikuan.common import texts

    Profile = apps.get_model("credit", "CreditProfile")
    Order = apps.get_model("credit", "SalesOrder")
    Notification = apps.get_model("credit", "Notification")
    with translation.override("zh-hans"):
        for p in Profile.objects.exclude(hold_reason=None).only("pk", "hold_reason").iterator():
            Profile.objects.filter(pk=p.pk).update(old_hold_reason=texts.render(p.hold_reason)[:300])
        for o in Order.objects.exclude(decision_note=None).only("pk", "decision_note").iterator():
            Order.objects.filter(pk=o.pk).update(old_decision_note=texts.render(o.decision_note)[:300])
        for n in Notification.objects.only("pk", "message").iterator():
            Notification.objects.filter(pk=n.pk).update(old_message=texts.render(n.message)[:500])


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_initial")]

    operations = [
        migrations.RenameField("creditprofile", "hold_reason", "old_hold_reason"),
        migrations.AddField(
            model_name="creditprofile", name="hold_reason",
            field=huikuan.common.texts.StoredTextField(blank=True, null=True, verbose_name="hold reason"),
        ),
        migrations.RenameField("salesorder", "decision_note", "old_decision_note"),
        migrations.AddField(
            model_name="salesorder", name="decision_note",
            field=huikuan.common.texts.StoredTextField(blank=True, null=True, verbose_name="decision"),
        ),
        migrations.RenameField("notification", "message", "old_message"),
        migrations.AddField(
            model_name="notification", name="message",
            field=huikuan.common.texts.StoredTextField(default="", verbose_name="message"),
            preserve_default=False,
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("creditprofile", "old_hold_reason"),
        migrations.RemoveField("salesorder", "old_decision_note"),
        migrations.RemoveField("notification", "old_message"),
    ]
