from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0005_audit_event_verb_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="business_date",
            field=models.DateField(blank=True, null=True),
        ),
    ]
