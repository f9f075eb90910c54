# Customer pickers (issue 13): full pinyin of name and short name, matched at any position.

from django.db import migrations, models


def fill(apps, schema_editor):
    from huikuan.common.identifiers import pinyin_full

    Customer = apps.get_model("customers", "Customer")
    batch = []
    for c in Customer.objects.only("pk", "name", "short_name").iterator(chunk_size=2000):
        c.name_pinyin = " ".join(p for p in (pinyin_full(c.name), pinyin_full(c.short_name)) if p)[:400]
        batch.append(c)
        if len(batch) == 2000:
            Customer.objects.bulk_update(batch, ["name_pinyin"])
            batch = []
    Customer.objects.bulk_update(batch, ["name_pinyin"])


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_customer_sync_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='customer',
            name='name_pinyin',
            field=models.CharField(blank=True, editable=False, max_length=400),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
