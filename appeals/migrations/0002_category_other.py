"""«Иное» (other) is always offered among the appeal categories."""

from django.db import migrations


def create_other(apps, schema_editor):
    AppealCategory = apps.get_model("appeals", "AppealCategory")
    AppealCategory.objects.get_or_create(
        code="other",
        defaults={"name_ru": "Иное", "name_kk": "Басқа", "is_other": True, "asks_values": False,
                  "asks_justification": False, "sort_order": 10000},
    )


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_initial")]

    operations = [migrations.RunPython(create_other, migrations.RunPython.noop)]
