# History rows take the one shape (homeportal.history.HistoryEntry): renamed fields keep their data.

import django.db.models.deletion
import django.utils.timezone
import homeportal.history
from django.conf import settings
from django.db import migrations, models


# Rows that were not stages of the review (seed 002) — every draft save, tab, upload, invitation
# and consent step — are dropped; the two renamed events keep their rows.
NOT_STAGES = ("saved", "tab_completed", "file_uploaded", "file_deleted", "invitation_link", "invited",
              "consent_formed", "consent_signed", "signing_link_sent")
RENAMED = {"document_received": "document_issued", "avr_returned": "document_returned"}


def history_to_stages(apps, schema_editor):
    history = apps.get_model("applications", "ApplicationHistory")
    history.objects.filter(event__in=NOT_STAGES).delete()
    for old, new in RENAMED.items():
        history.objects.filter(event=old).update(event=new)


def consent_signature_links(apps, schema_editor):
    consent, signature = apps.get_model("applications", "ConsentDocument"), apps.get_model("signing", "Signature")
    known = set(signature.objects.values_list("pk", flat=True))
    for row in consent.objects.exclude(legacy_signature_id=None):
        if row.legacy_signature_id in known:
            consent.objects.filter(pk=row.pk).update(signature_id=row.legacy_signature_id)


class Migration(migrations.Migration):

    dependencies = [
        ('applications', '0003_alter_application_bpms_seq'),
        ('signing', '0002_signeddocument_pades_pdf'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='applicationhistory',
            options={'ordering': ['created_at', 'pk'], 'verbose_name': 'Application history entry', 'verbose_name_plural': 'Application history'},
        ),
        migrations.RenameField(
            model_name='applicationhistory',
            old_name='actor_label',
            new_name='actor_name',
        ),
        migrations.RenameField(
            model_name='applicationhistory',
            old_name='at',
            new_name='created_at',
        ),
        migrations.RenameField(
            model_name='applicationhistory',
            old_name='file',
            new_name='document',
        ),
        migrations.RenameField(
            model_name='applicationhistory',
            old_name='to_status',
            new_name='status',
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='actor_name',
            field=models.CharField(blank=True, max_length=500, verbose_name='Who'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='Date'),
        ),
        migrations.AddField(
            model_name='applicationhistory',
            name='decision_document',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='history', to='applications.decisiondocument', verbose_name='Decision document'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='document',
            field=models.FileField(blank=True, max_length=300, upload_to=homeportal.history.history_document_path, verbose_name='Document'),
        ),
        migrations.AddField(
            model_name='applicationhistory',
            name='document_name',
            field=models.CharField(blank=True, max_length=255, verbose_name='Document name'),
        ),
        migrations.AddField(
            model_name='applicationhistory',
            name='document_sha256',
            field=models.CharField(blank=True, max_length=64, verbose_name='Document SHA-256'),
        ),
        migrations.AddField(
            model_name='applicationhistory',
            name='payload',
            field=models.JSONField(blank=True, default=dict, verbose_name='Data'),
        ),
        migrations.AddField(
            model_name='applicationhistory',
            name='signature',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='signing.signature', verbose_name='Signature'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='status',
            field=models.CharField(blank=True, max_length=30, verbose_name='Status'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='actor',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='User'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='event',
            field=models.CharField(choices=[('created', 'Created'), ('status', 'Status changed'), ('signed', 'Application signed'), ('developer_joined', 'Developer joined'), ('document_issued', 'Document received'), ('document_signed', 'Document signed'), ('document_completed', 'Document signed by all parties'), ('document_returned', 'Sent for revision')], max_length=40, verbose_name='Event'),
        ),
        migrations.AlterField(
            model_name='applicationhistory',
            name='from_status',
            field=models.CharField(blank=True, max_length=30, verbose_name='Previous status'),
        ),
        migrations.RunPython(history_to_stages, migrations.RunPython.noop),
        # The consent points at signing's Signature instead of keeping its id as a number.
        migrations.RenameField(model_name='consentdocument', old_name='signature_id', new_name='legacy_signature_id'),
        migrations.AddField(
            model_name='consentdocument',
            name='signature',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='signing.signature', verbose_name='Signature'),
        ),
        migrations.RunPython(consent_signature_links, migrations.RunPython.noop),
        migrations.RemoveField(model_name='consentdocument', name='legacy_signature_id'),
    ]
