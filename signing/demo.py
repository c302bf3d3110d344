"""Demo data for signing: the test PKI and its key files (`manage.py seed_demo` runs this first),
plus the "sign a test document" page helpers."""

from django.utils import timezone

from . import pki, services
from .models import SignedDocument


def seed(*, stdout) -> None:
    base = pki.ensure_pki(stdout=stdout)
    manifest = pki.demo_manifest()
    stdout.write(f"  Test PKI: {base} (root «{manifest['root']}», intermediate «{manifest['intermediate']}»)")
    stdout.write(f"  Demo key files (in {base}; manifest demo-keys.json):")
    for k in manifest["keys"]:
        stdout.write(
            f"    {k['file']:<50} {k['password']:<9} {k['purpose']:<4} {k['person']:<28} "
            f"IIN {k['iin']} {('BIN ' + k['bin']) if k['bin'] else '':<16} {k['role']:<30} {k['what_for']}"
        )


def demo_signed(signing_request, signature) -> None:
    """on_complete of the demo document: nothing to do besides the stored signature."""


def demo_document_start(*, organization, user, return_url: str):
    now = timezone.now()
    number = f"DEMO-{now:%Y%m%d-%H%M%S}"
    title_ru = f"Тестовый документ {number}"
    title_kk = f"Сынақ құжаты {number}"
    pdf = services.pdf_render(template_name="signing/pdf/demo_document.html", context={
        "title": title_ru, "organization_name": organization.name_ru, "organization_bin": organization.bin,
        "created": now, "number": number,
    })
    doc = services.signed_document_create(
        subject=organization, document=pdf, filename=f"{number}.pdf", title_ru=title_ru, title_kk=title_kk,
        parties=[{"organization": organization, "allowed_roles": ["head", "may_sign"]}],
    )
    return services.signing_request_create(
        subject=organization, document=pdf, filename=f"{number}.pdf", title_ru=title_ru, title_kk=title_kk,
        organization=organization, allowed_roles={"head", "may_sign"}, on_complete="signing:demo_signed",
        return_url=return_url, signer_user=user, signed_document=doc,
    )


def demo_documents(*, organization):
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Prefetch

    from .models import SigningRequest
    from .selectors import signature_table

    ct = ContentType.objects.get_for_model(organization)
    docs = (SignedDocument.objects.filter(subject_type=ct, subject_id=str(organization.pk))
            .defer("document", "pades_pdf", "issued_pdf")
            .prefetch_related("parties__signature", "parties__organization",
                              Prefetch("requests", queryset=SigningRequest.objects.only("pk", "public_id", "status",
                                                                                         "signed_document")))
            .order_by("-created_at")[:10])
    out = []
    for d in docs:
        rows = signature_table(d)
        requests = sorted(d.requests.all(), key=lambda r: r.pk, reverse=True)
        out.append({"doc": d, "rows": rows, "fully_signed": all(r["status"] == "signed" for r in rows),
                    "request": requests[0] if requests else None})
    return out
