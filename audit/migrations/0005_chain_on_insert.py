# Issue #17: history rows chained by their INSERT (PostgreSQL): a BEFORE INSERT trigger on each
# history table runs audit_chain_append with the canonical content the row carries in
# chain_content (then NULL), so an append costs no round trip of its own (bench/history_chain.py).

from django.db import migrations

TABLES = {"appeals_appealhistory": "appeal_id", "applications_applicationhistory": "application_id"}


def install(apps, schema_editor):
    from audit.chain import install_insert_triggers

    install_insert_triggers(schema_editor, TABLES)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_chain ON "{table}"')


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_chain_signatures"),
        ("appeals", "0009_history_chain_content"),
        ("applications", "0013_history_chain_content"),
    ]

    operations = [migrations.RunPython(install, drop)]
