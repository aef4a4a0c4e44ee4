"""Dossiers (hồ sơ) of the national public-service portal: the status vocabulary and the dossier code.

- Statuses 1–10 as the portal (Cổng Dịch vụ công quốc gia) names them. "Quá hạn" (overdue) is not a status but a
  flag computed from the deadline (engine/time/deadlines.py).
- Dossier code (Thông tư 01/2018/TT-VPCP Điều 19): ``<agency code>-YYMMDD-NNNN``, the agency code from the national
  list (``000.00.25.H26``), YYMMDD the receipt day in Hanoi time, NNNN that day's sequence number (wider past 9999).
  A process opts in with the process-level property ``dossierAgencyCode``; the number comes from
  engine/store/dossiers.py inside the start's transaction.
- Lookup secret: every instance with a dossier code gets one at start (``LOOKUP_SECRET_LENGTH`` characters of an
  alphabet without look-alikes: no 0/O, 1/I/L). It is printed on the receipt and asked, with the code, by the public
  lookup (tra cứu hồ sơ, engine/reads/public_dossiers.py); staff and integrators read it in the instance's dossier
  block. Stored as is (the receipt slip must be printable again), compared in constant time.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from phoihop.engine.clock import HANOI_TZ

__all__ = [
    "AGENCY_CODE_PROPERTY",
    "CODE_VARIABLE",
    "DOSSIER_STATUSES",
    "LOOKUP_SECRET_ALPHABET",
    "LOOKUP_SECRET_LENGTH",
    "STATUS_VARIABLE",
    "DossierStatus",
    "check_agency_code",
    "dossier_view",
    "format_dossier_code",
    "new_lookup_secret",
    "normalize_lookup_secret",
    "receipt_day",
    "status_code",
]

AGENCY_CODE_PROPERTY = "dossierAgencyCode"  # process-level camunda:property
CODE_VARIABLE = "dossier_code"  # set by the engine before the first step runs
STATUS_VARIABLE = "dossier_status"  # set by the process's scripts, 1–10
# codes of the national agency list look like 000.00.25.H26 or G22.99; the sequence table holds at most 60 characters
_AGENCY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._]{0,59}")

LOOKUP_SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # noqa: S105 (symbols, not a secret): ~49.5 bits in 10
LOOKUP_SECRET_LENGTH = 10


def new_lookup_secret() -> str:
    """A fresh receipt secret: ``LOOKUP_SECRET_LENGTH`` characters drawn with ``secrets`` from the alphabet above."""
    return "".join(secrets.choice(LOOKUP_SECRET_ALPHABET) for _ in range(LOOKUP_SECRET_LENGTH))


def normalize_lookup_secret(typed: str) -> str:
    """What an applicant typed, as stored: spaces and dashes dropped, upper case (receipts may group the characters)."""
    return "".join(ch for ch in typed if ch not in " -\t").upper()


@dataclass(frozen=True)
class DossierStatus:
    code: int
    name_vi: str
    name_en: str


DOSSIER_STATUSES: Mapping[int, DossierStatus] = MappingProxyType(
    {
        s.code: s
        for s in (
            DossierStatus(1, "Mới đăng ký", "Submitted"),
            DossierStatus(2, "Được tiếp nhận", "Accepted"),
            DossierStatus(3, "Không được tiếp nhận", "Rejected at intake"),
            DossierStatus(4, "Đang xử lý", "In processing"),
            DossierStatus(5, "Yêu cầu bổ sung giấy tờ", "Supplementation requested"),
            DossierStatus(6, "Yêu cầu thực hiện nghĩa vụ tài chính", "Payment requested"),
            DossierStatus(7, "Công dân yêu cầu rút hồ sơ", "Withdrawal requested"),
            DossierStatus(8, "Dừng xử lý", "Stopped"),
            DossierStatus(9, "Đã xử lý xong", "Processed"),
            DossierStatus(10, "Đã trả kết quả", "Result returned"),
        )
    }
)


def check_agency_code(agency_code: str) -> str:
    """``agency_code`` if it can head a dossier code (letters, digits, dots, underscores; at most 60), else
    ValueError."""
    if not isinstance(agency_code, str) or not _AGENCY_CODE.fullmatch(agency_code):
        raise ValueError(
            f"invalid dossier agency code {agency_code!r}: expected letters, digits, '.' or '_' "
            "(at most 60), as 000.00.25.H26"
        )
    return agency_code


def format_dossier_code(agency_code: str, received_day: date, number: int) -> str:
    """``000.00.25.H26-260105-0001``: NNNN zero-padded to four digits, wider beyond 9999."""
    check_agency_code(agency_code)
    if number < 1:
        raise ValueError(f"a dossier number starts at 1, got {number}")
    return f"{agency_code}-{received_day:%y%m%d}-{number:04d}"


def receipt_day(moment: datetime) -> date:
    """The receipt day of a dossier received at ``moment`` (aware), in Hanoi time."""
    if moment.tzinfo is None:
        raise ValueError("receipt_day needs an aware datetime")
    return moment.astimezone(HANOI_TZ).date()


def status_code(value: Any) -> int | None:
    """The integer status of a ``dossier_status`` value (an int, or digits in a string); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    return None


def dossier_view(code: str | None, status: Any) -> dict[str, Any] | None:
    """``{code, status, status_name_vi, status_name_en}`` when the instance has a code or a status; else None.
    A status outside the vocabulary keeps its number with null names."""
    if code is None and status is None:
        return None
    number = status_code(status)
    known = DOSSIER_STATUSES.get(number) if number is not None else None
    return {
        "code": code,
        "status": number,
        "status_name_vi": known.name_vi if known else None,
        "status_name_en": known.name_en if known else None,
    }
