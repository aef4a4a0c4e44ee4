"""The date-time idioms of Camunda's JUEL that have a clear meaning here, for engine.definitions.camunda.juel.

``now()`` and ``dateTime()`` (Joda's ``DateTime``: now) are the sandbox's ``now()``, the command's clock in Hanoi
time; ``.plusDays(n)``/``.minusDays(n)`` and the same with ``Weeks``, ``Hours``, ``Minutes``, ``Seconds`` add a
``timedelta``; ``.toDate()`` changes nothing. The expression's value is an ISO 8601 text, as the due dates and timers
take it. Refused, naming the idiom: arguments to ``dateTime(…)``, months and years (``plusMonths``: no calendar-month
arithmetic is translated), any other method, and a date-time used inside a larger expression (compared, added to…)
where Java's and Python's values would not mean the same.

A date-time value is carried through the parser as its Python text after :data:`MARK`, a character no translated
literal can hold; :func:`finish` checks it stands alone and gives the final Python."""

from __future__ import annotations

__all__ = ["FUNCTIONS", "MARK", "DateRefused", "call", "finish", "method"]

MARK = "\x00"
FUNCTIONS = frozenset({"now", "dateTime"})
_NOW = "datetime.fromisoformat(now())"
_UNITS = {"Days": "days", "Weeks": "weeks", "Hours": "hours", "Minutes": "minutes", "Seconds": "seconds"}


class DateRefused(ValueError):
    def __init__(self, reason: str, reason_vi: str) -> None:
        super().__init__(reason)
        self.reason, self.reason_vi = reason, reason_vi


def call(name: str, has_arguments: bool) -> str:
    """The marked Python of ``now()`` / ``dateTime()``."""
    if has_arguments:
        raise DateRefused(
            f"{name}() takes no arguments here (only the current time is supported)",
            f"{name}() ở đây không nhận tham số (chỉ hỗ trợ thời điểm hiện tại)",
        )
    return MARK + _NOW


def method(value: str, name: str, argument: str | None) -> str:
    """The marked Python of ``value.name(argument)`` for a marked date-time ``value``."""
    inner = value.removeprefix(MARK)
    if name == "toDate" and argument is None:
        return value
    sign, unit = (
        ("+", name[4:]) if name.startswith("plus") else ("-", name[5:]) if name.startswith("minus") else ("", "")
    )
    if unit in _UNITS and argument is not None:
        return MARK + f"({inner} {sign} timedelta({_UNITS[unit]}={argument}))"
    raise DateRefused(
        f"date-time method {name}(…) is not supported (only plus/minus Days, Weeks, Hours, Minutes, Seconds and "
        "toDate())",
        f"không hỗ trợ phương thức ngày giờ {name}(…) (chỉ plus/minus Days, Weeks, Hours, Minutes, Seconds "
        "và toDate())",
    )


def finish(python: str) -> str:
    """The final Python: a date-time as its ISO text; refused when a date-time is part of a larger expression."""
    if MARK not in python:
        return python
    if not python.startswith(MARK) or python.count(MARK) > 1:
        raise DateRefused(
            "dateTime()/now() can only be the whole expression, with plus…/minus…/toDate() (not compared or "
            "combined): compare dates in a script task",
            "dateTime()/now() chỉ dùng làm cả biểu thức, kèm plus…/minus…/toDate() (không so sánh hay kết hợp): "
            "hãy so sánh ngày trong công việc kịch bản",
        )
    inner = python.removeprefix(MARK)
    return "now()" if inner == _NOW else f"{inner}.isoformat()"
