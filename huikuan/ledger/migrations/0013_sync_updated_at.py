# updated_at on documents and credits for API sync (issue 18); existing rows start at their created_at.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_employee_number_manager'),
        ('ledger', '0012_plans_keep_the_past'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='credit',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name='receivabledocument',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.RunSQL(
            "UPDATE ledger_receivabledocument SET updated_at = created_at",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL("UPDATE ledger_credit SET updated_at = created_at", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='credit',
            index=models.Index(fields=['company', 'updated_at', 'id'], name='credit_company_updated'),
        ),
        migrations.AddIndex(
            model_name='receivabledocument',
            index=models.Index(fields=['company', 'updated_at', 'id'], name='document_company_updated'),
        ),
    ]
