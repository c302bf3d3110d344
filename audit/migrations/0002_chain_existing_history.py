# Issue #17: chains the history rows written before the chain existed (in created_at order, one
# chain per object and the global head), then installs the PostgreSQL triggers that refuse
# UPDATE and DELETE on history rows (SQLite: skipped — docs/history.md).

from django.db import migrations
from django.utils import timezone

# (app, history model, owner field, owner label, extra chained fields): homeportal.history.HistoryEntry subclasses.
CHAINED = [
    ("appeals", "AppealHistory", "appeal", "appeals.appeal", ()),
    ("applications", "ApplicationHistory", "application", "applications.application", ("decision_document_id",)),
]
TABLES = ["appeals_appealhistory", "applications_applicationhistory"]


def chain_existing(apps, schema_editor):
    from audit.chain import entry_hash, link
    from audit.models import GENESIS
    from homeportal.history import CHAIN_FIELDS, SIGNATURE_DIGEST_FIELDS, chain_content, signature_digest

    Signature = apps.get_model("signing", "Signature")
    ChainHead = apps.get_model("audit", "ChainHead")
    rows = []
    for app_label, name, owner, owner_label, extra in CHAINED:
        model = apps.get_model(app_label, name)
        columns = ("pk", f"{owner}__public_id", "signature_id", *CHAIN_FIELDS, *extra)
        for values in model.objects.filter(chain_seq__isnull=True).values(*columns).iterator():
            rows.append((values["created_at"], app_label, values["pk"], model, owner, owner_label, extra, values))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    head, last = GENESIS, {}
    for seq, (_, _, pk, model, owner, owner_label, extra, values) in enumerate(rows, 1):
        sig = None
        if values["signature_id"]:
            sig = Signature.objects.filter(pk=values["signature_id"]).values(*SIGNATURE_DIGEST_FIELDS).first()
        key = f"{owner_label}:{values[f'{owner}__public_id']}"
        content = chain_content(object_key=key, values=values, signature=signature_digest(sig) if sig else None,
                                extra={e: values[e] for e in extra})
        prev = last.get(key, GENESIS)
        hash_ = entry_hash(prev, content)
        model.objects.filter(pk=pk).update(chain_seq=seq, prev_hash=prev, hash=hash_)
        last[key] = hash_
        head = link(head, hash_)
    ChainHead.objects.update_or_create(pk=1, defaults={"seq": len(rows), "head": head, "updated_at": timezone.now()})


def install_triggers(apps, schema_editor):
    from audit.chain import install_triggers

    install_triggers(schema_editor, TABLES)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in [*TABLES, "audit_anchor", "audit_purgedentry"]:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_immutable ON "{table}"')
    schema_editor.execute('DROP TRIGGER IF EXISTS audit_forward ON "audit_chainhead"')


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("appeals", "0007_history_chain"),
        ("applications", "0011_history_chain"),
        ("signing", "0003_signature_trust_evidence_and_reports"),
    ]

    operations = [
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
