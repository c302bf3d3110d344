"""Signature.in_pades_pdf: the party's CMS is a PAdES signature embedded in SignedDocument.pades_pdf
(its «Сведения о подписи» row offers that PDF instead of a lone .cms, docs/signing.md §2). Existing
rows: a detached CMS whose message digest is not the document's and whose signature value sits in
the document's PDF (/Contents holds the CMS in hex)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from asn1crypto import cms as acms

    Signature = apps.get_model("signing", "Signature")
    SignedDocument = apps.get_model("signing", "SignedDocument")
    doc_ids = (Signature.objects.filter(signed_document__isnull=False, signed_document__pades_pdf__isnull=False)
               .values_list("signed_document_id", flat=True).distinct())
    for doc_id in doc_ids:
        pdf = bytes(SignedDocument.objects.only("pades_pdf").get(pk=doc_id).pades_pdf or b"")
        for sig in Signature.objects.filter(signed_document_id=doc_id).only("pk", "cms", "document_sha256"):
            try:
                sd = acms.ContentInfo.load(bytes(sig.cms))["content"]
                if sd["encap_content_info"]["content"].native is not None:
                    continue  # attached: a CMS of its own
                si = sd["signer_infos"][0]
                digest = next((a["values"][0].native for a in si["signed_attrs"]
                               if a["type"].native == "message_digest"), None)
                value = si["signature"].native
            except Exception:  # noqa: S112 - an unreadable CMS stays as it was
                continue
            if digest is not None and digest.hex() == sig.document_sha256:
                continue
            hex_value = value.hex().encode()
            if hex_value in pdf or hex_value.upper() in pdf:
                Signature.objects.filter(pk=sig.pk).update(in_pades_pdf=True)


class Migration(migrations.Migration):
    dependencies = [("signing", "0004_client_side_signing")]

    operations = [
        migrations.AddField(model_name="signature", name="in_pades_pdf", field=models.BooleanField(default=False)),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
