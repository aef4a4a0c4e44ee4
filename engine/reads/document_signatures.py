"""The digital signatures a PDF carries, checked with pyHanko: who signed (the certificate's subject), when (the time
the signer's software reported), whether each signature is cryptographically intact and valid, whether the document
is unchanged since (the signature covers the whole file, or later revisions change nothing that matters), and whether
the signer's certificate chains to a configured root (PHOIHOP_SIGNATURE_TRUST_ROOTS). Nothing is fetched from the
network (no revocation lookups): a city network may be closed, and a check must not hang on it.

pyHanko (with asn1crypto, aiohttp and its certificate validator) is imported on the first PDF, not with the module:
it was a seventh of a server's start-up CPU for a path only document uploads take."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("phoihop.documents")
__all__ = ["SignatureView", "count_signatures", "read_signatures"]


@dataclass(frozen=True, slots=True)
class SignatureView:
    """One signature. ``intact``: the signed bytes match the signature's digest; ``valid``: intact and the signature
    verifies against the signer's key; ``unchanged``: nothing but signature-preserving updates (none, or timestamps and
    validation data) came after it; ``coverage`` "entire_file", "entire_revision" or "partial"; ``trusted``: the
    certificate chains to a configured root (False when none is configured); ``problem``: why it could not be
    checked, if it could not."""

    field_name: str
    signer: str | None
    signer_subject: str | None
    signed_at: datetime | None
    intact: bool
    valid: bool
    unchanged: bool
    coverage: str
    modification_level: str | None
    trusted: bool
    problem: str | None = None


def count_signatures(content: IO[bytes]) -> int:
    """How many signature fields with a signature the PDF has (0 for a PDF pyHanko cannot read)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    content.seek(0)
    try:
        return len(PdfFileReader(content, strict=False).embedded_signatures)
    except Exception:  # any unreadable PDF simply carries no signature we can show
        return 0


def _roots(trust_roots: Path | None) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder

    if trust_roots is None:
        return []
    if trust_roots.is_dir():
        files = sorted(trust_roots.glob("*.pem")) + sorted(trust_roots.glob("*.crt"))
    else:
        files = [trust_roots]
    return list(load_certs_from_pemder([str(f) for f in files]))


def _coverage(level: Any) -> str:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return "entire_file"
    if level == SignatureCoverageLevel.ENTIRE_REVISION:
        return "entire_revision"
    return "partial"


def read_signatures(pdf: bytes, *, trust_roots: Path | None = None) -> list[SignatureView]:
    """Every signature of ``pdf``, in the order of the file; [] for a PDF without any (or one pyHanko cannot read)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # not a PDF pyHanko can read: no signature to show
        log.info("PDF not readable for signatures: %s", exc)
        return []
    context = ValidationContext(trust_roots=_roots(trust_roots), allow_fetching=False)
    views = []
    for signature in embedded:
        name = str(signature.field_name)
        try:
            cert = signature.signer_cert
            subject = cert.subject
            signer = subject.native.get("common_name") or subject.human_friendly
            status = validate_pdf_signature(signature, signer_validation_context=context)
        except Exception as exc:  # a damaged signature is reported, not raised
            views.append(
                SignatureView(name, None, None, None, False, False, False, "partial", None, False, problem=str(exc))
            )
            continue
        level = status.modification_level
        coverage = _coverage(status.coverage)
        unchanged = bool(status.intact) and (
            coverage == "entire_file"
            or (coverage == "entire_revision" and level is not None and level <= ModificationLevel.LTA_UPDATES)
        )
        views.append(
            SignatureView(
                field_name=name,
                signer=str(signer),
                signer_subject=str(subject.human_friendly),
                signed_at=status.signer_reported_dt,
                intact=bool(status.intact),
                valid=bool(status.intact) and bool(status.valid),
                unchanged=unchanged,
                coverage=coverage,
                modification_level=level.name.lower() if level is not None else None,
                trusted=bool(status.trusted),
            )
        )
    return views
