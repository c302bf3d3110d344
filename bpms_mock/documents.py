"""Documents the mock attaches to events: small PDFs rendered with WeasyPrint (a minimal
hand-made PDF if WeasyPrint cannot be loaded), base64-encoded for the JSON API."""

from __future__ import annotations

import html
import logging

from bpms_bridge.contract import document_wire

logger = logging.getLogger("bpms_mock")

_weasy = None


def _render_weasy(title: str, lines: list[str]) -> bytes:
    global _weasy
    if _weasy is None:
        from weasyprint import HTML  # heavy import: only when a document is made
        from weasyprint.text.fonts import FontConfiguration

        # One font configuration per process: WeasyPrint builds a new one per document otherwise,
        # whose native memory is never given back (~0.3 MB a document; signing/pdf.py does the same).
        _weasy = HTML, FontConfiguration()
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    doc = (
        "<html><head><meta charset='utf-8'><style>"
        "@page{size:A4;margin:20mm} body{font-family:'DejaVu Sans',sans-serif;font-size:11pt}"
        "h1{font-size:14pt} .stamp{margin-top:18mm;border:2px solid #1d4f91;color:#1d4f91;padding:4mm;width:80mm}"
        "</style></head><body>"
        f"<p>АО «Казахстанская жилищная компания»</p><h1>{html.escape(title)}</h1>{body}"
        "<div class='stamp'>BPMS Simbase (имитация)<br>Документ сформирован в системе КЖК</div>"
        "</body></html>"
    )
    html_class, font_config = _weasy
    return html_class(string=doc).write_pdf(font_config=font_config)


def _minimal_pdf(title: str, lines: list[str]) -> bytes:
    """A valid one-page PDF with ASCII text (used only when WeasyPrint is unavailable)."""
    text = [title, *lines]
    safe = [t.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for t in text]
    stream = "BT /F1 12 Tf 50 780 Td 16 TL " + " ".join(f"({s}) '" for s in safe) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def pdf(title: str, lines: list[str], *, fast: bool = False) -> bytes:
    if not fast:
        try:
            return _render_weasy(title, lines)
        except Exception:  # noqa: BLE001 — any rendering trouble: fall back to the minimal PDF
            logger.exception("WeasyPrint failed; using the minimal PDF")
    return _minimal_pdf(title, lines)


def attachment(name: str, data: bytes, content_type: str = "application/pdf") -> dict:
    return document_wire(name, data, content_type)
