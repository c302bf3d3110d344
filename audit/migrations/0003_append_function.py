# Issue #17: the chain append in one round trip on PostgreSQL (audit.chain.APPEND_FUNCTION).

from django.db import migrations


def install(apps, schema_editor):
    from audit.chain import install_append_function

    install_append_function(schema_editor)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_chain_append(text, text, bigint, bytea)")


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_existing_history")]

    operations = [migrations.RunPython(install, drop)]
