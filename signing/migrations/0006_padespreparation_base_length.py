from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("signing", "0005_signature_in_pades_pdf")]

    operations = [
        migrations.AddField(model_name="padespreparation", name="base_length", field=models.BigIntegerField(default=0)),
    ]
