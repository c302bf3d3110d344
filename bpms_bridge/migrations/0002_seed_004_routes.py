from django.db import migrations


def seed(apps, schema_editor):
    from bpms_bridge.routes_data import seed_routes

    seed_routes(apps.get_model("bpms_bridge", "ReviewRoute"), apps.get_model("bpms_bridge", "ReviewRouteStep"))


class Migration(migrations.Migration):
    dependencies = [("bpms_bridge", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
