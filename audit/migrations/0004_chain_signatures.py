# Issue #17: signature records (signing.Signature) on the hash chain. Installs the append function
# for chains named by text (a signature's `chain_object`) next to the bigint one, with the head
# written once per append; chains the signatures stored before (in the order they were created, after
# every history row already chained, each in the chain of what it signed); then installs the
# trigger that refuses UPDATE and DELETE on them (SQLite: skipped — docs/history.md).

from django.db import migrations
from django.utils import timezone


def install_function(apps, schema_editor):
    from audit.chain import install_append_function

    install_append_function(schema_editor)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_chain_append(text, text, text, bytea)")


def chain_existing(apps, schema_editor):
    from audit.chain import entry_hash, link
    from audit.models import GENESIS
    from homeportal.history import SIGNATURE_RECORD_FIELDS, signature_record_content

    Signature = apps.get_model("signing", "Signature")
    ChainHead = apps.get_model("audit", "ChainHead")
    head_row = ChainHead.objects.filter(pk=1).first()
    seq, head = (head_row.seq, head_row.head) if head_row else (0, GENESIS)
    last = {}
    rows = (Signature.objects.filter(chain_seq__isnull=True).order_by("pk")
            .values("pk", "signed_document__public_id", "signing_request__public_id", *SIGNATURE_RECORD_FIELDS))
    for values in rows.iterator():
        if values["signed_document__public_id"]:
            key = f"signing.signeddocument:{values['signed_document__public_id']}"
        elif values["signing_request__public_id"]:
            key = f"signing.signingrequest:{values['signing_request__public_id']}"
        else:
            key = f"signing.signature:{values['public_id']}"
        seq += 1
        prev = last.get(key, GENESIS)
        hash_ = entry_hash(prev, signature_record_content(object_key=key, values=values))
        Signature.objects.filter(pk=values["pk"]).update(chain_object=key, chain_seq=seq, prev_hash=prev, hash=hash_)
        last[key] = hash_
        head = link(head, hash_)
    if last:
        ChainHead.objects.update_or_create(pk=1, defaults={"seq": seq, "head": head, "updated_at": timezone.now()})


def install_trigger(apps, schema_editor):
    from audit.chain import install_signature_trigger

    install_signature_trigger(schema_editor)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP TRIGGER IF EXISTS audit_immutable ON "signing_signature"')


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_function"),
        ("signing", "0007_signature_chain"),
    ]

    operations = [
        migrations.RunPython(install_function, drop_function),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(install_trigger, drop_trigger),
    ]
