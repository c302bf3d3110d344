from django.db import migrations


def seed(apps, schema_editor):
    from applications.subsidy_data import seed_subsidy_lists

    seed_subsidy_lists(apps.get_model("applications", "DocumentType"), apps.get_model("applications", "ConsentType"))


class Migration(migrations.Migration):
    dependencies = [("applications", "0008_subsidy")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
