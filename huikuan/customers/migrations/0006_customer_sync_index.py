# API sync (issue 18): customers paged in change order (updated_at, id).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_employee_number_manager'),
        ('customers', '0005_customer_review_notes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['company', 'updated_at', 'id'], name='customer_company_updated'),
        ),
    ]
