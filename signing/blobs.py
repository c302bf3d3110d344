"""The 2 MB PDFs of signing, moved to and from PostgreSQL as binary (docs/signing.md §9).

Django's psycopg backend binds parameters on the client: a bytea value is escaped into the SQL
text (a 2 MB PDF: ~75 ms at load 7) and read back as hex text (~25 ms). These helpers bind it on
the server as a binary parameter and read it in binary format (~13 ms and ~6 ms), on Django's own
connection, so they take part in the caller's transaction. Other databases (the embedded SQLite
demo) go through the ORM.
"""

from __future__ import annotations

from django.db import connection

from homeportal import page_cache


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _cursor():
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)  # server-side binding, unlike Django's ClientCursor


def document_revision(pk: int) -> tuple[str, bytes] | None:
    """(document_sha256, the current revision: pades_pdf, else the document) of a SignedDocument."""
    from .models import SignedDocument

    if not _postgres():
        doc = SignedDocument.objects.only("document_sha256", "document", "pades_pdf").filter(pk=pk).first()
        if doc is None:
            return None
        return doc.document_sha256, bytes(doc.pades_pdf) if doc.pades_pdf else bytes(doc.document)
    table = connection.ops.quote_name(SignedDocument._meta.db_table)
    with _cursor() as cur:
        cur.execute(f"SELECT document_sha256, COALESCE(NULLIF(pades_pdf, ''::bytea), document) FROM {table} "  # noqa: S608
                    "WHERE id = %s", [pk], binary=True)
        row = cur.fetchone()
    return None if row is None else (row[0], bytes(row[1]))


def document_revision_sha256(pk: int, *, lock: bool = False) -> str | None:
    """The SHA-256 (hex) of a SignedDocument's current revision, hashed by PostgreSQL (the value does
    not travel); `lock`: SELECT … FOR UPDATE of the row."""
    import hashlib

    from .models import SignedDocument

    if not _postgres():
        qs = SignedDocument.objects.only("document", "pades_pdf").filter(pk=pk)
        doc = (qs.select_for_update() if lock else qs).first()
        if doc is None:
            return None
        return hashlib.sha256(bytes(doc.pades_pdf) if doc.pades_pdf else bytes(doc.document)).hexdigest()
    table = connection.ops.quote_name(SignedDocument._meta.db_table)
    with _cursor() as cur:
        cur.execute(f"SELECT encode(sha256(COALESCE(NULLIF(pades_pdf, ''::bytea), document)), 'hex') FROM {table} "  # noqa: S608
                    f"WHERE id = %s{' FOR UPDATE' if lock else ''}", [pk])
        row = cur.fetchone()
    return None if row is None else row[0]


def document_store_pades(pk: int, pdf: bytes | None) -> None:
    """Sets a SignedDocument's pades_pdf (None: unchanged) and drops its cached issued PDF."""
    from .models import SignedDocument

    if not _postgres():
        fields = {"issued_pdf": None} if pdf is None else {"issued_pdf": None, "pades_pdf": pdf}
        SignedDocument.objects.filter(pk=pk).update(**fields)
        return
    table = connection.ops.quote_name(SignedDocument._meta.db_table)
    with _cursor() as cur:
        if pdf is None:
            cur.execute(f"UPDATE {table} SET issued_pdf = NULL WHERE id = %s", [pk])  # noqa: S608
        else:
            cur.execute(f"UPDATE {table} SET pades_pdf = %b, issued_pdf = NULL WHERE id = %s", [pdf, pk])  # noqa: S608
    page_cache.wrote(connection, {SignedDocument._meta.db_table})  # psycopg's cursor: past Django's wrappers
