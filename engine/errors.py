"""Domain errors. One root, structured keyword-only fields; api/problems.py maps them to HTTP once.

Every error carries a stable ``code`` (used as the problem ``type`` suffix) and a Vietnamese and English message.
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "engine-error"
    title_vi = "Lỗi xử lý quy trình"
    title_en = "Workflow engine error"

    def __init__(self, detail: str, *, detail_vi: str | None = None, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_vi = detail_vi or detail
        self.fields: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}


# --- input ----------------------------------------------------------------------------------------------------------
class InvalidInput(EngineError):
    code = "invalid-input"
    title_vi = "Dữ liệu không hợp lệ"
    title_en = "Invalid input"


class InvalidVariables(InvalidInput):
    code = "invalid-variables"
    title_vi = "Biến quy trình không hợp lệ"
    title_en = "Invalid process variables"


# --- definitions ----------------------------------------------------------------------------------------------------
class InvalidDefinition(EngineError):
    """A BPMN/DMN upload that cannot be deployed. ``problems`` lists every finding (file, element_id, line, reason)."""

    code = "invalid-bpmn"
    title_vi = "Tệp BPMN/DMN không hợp lệ"
    title_en = "Invalid BPMN/DMN"

    def __init__(self, detail: str, *, problems: list[dict[str, Any]], detail_vi: str | None = None) -> None:
        super().__init__(detail, detail_vi=detail_vi, problems=problems)
        self.problems = problems


class UnsafeXml(InvalidDefinition):
    code = "unsafe-xml"
    title_vi = "Tệp XML không an toàn"
    title_en = "Unsafe XML"


class DefinitionNotFound(EngineError):
    code = "definition-not-found"
    title_vi = "Không tìm thấy quy trình"
    title_en = "Process definition not found"


class DefinitionSuspended(EngineError):
    code = "definition-suspended"
    title_vi = "Phiên bản quy trình đã bị tạm dừng"
    title_en = "Process definition version is suspended"


# --- instances and tasks --------------------------------------------------------------------------------------------
class InstanceNotFound(EngineError):
    code = "instance-not-found"
    title_vi = "Không tìm thấy hồ sơ quy trình"
    title_en = "Process instance not found"


class InstanceNotRunning(EngineError):
    code = "instance-not-running"
    title_vi = "Quy trình không còn đang chạy"
    title_en = "Process instance is not running"


class TaskNotFound(EngineError):
    code = "task-not-found"
    title_vi = "Không tìm thấy công việc"
    title_en = "Task not found"


class NotCandidate(EngineError):
    code = "not-candidate"
    title_vi = "Không có quyền xử lý công việc này"
    title_en = "Not a candidate for this task"


class Forbidden(EngineError):
    code = "forbidden"
    title_vi = "Không có quyền"
    title_en = "Forbidden"


class AlreadyClaimed(EngineError):
    code = "task-already-claimed"
    title_vi = "Công việc đã được người khác nhận"
    title_en = "Task already claimed"


class TaskNotOpen(EngineError):
    code = "task-not-open"
    title_vi = "Công việc không còn mở"
    title_en = "Task is not open"


class NotAssignee(EngineError):
    code = "not-assignee"
    title_vi = "Chỉ người được giao mới được hoàn thành công việc"
    title_en = "Only the assignee may complete the task"


class MessageNotCorrelated(EngineError):
    code = "message-not-correlated"
    title_vi = "Không có quy trình nào đang chờ thông điệp này"
    title_en = "No process instance is waiting for this message"


class MessageAmbiguous(EngineError):
    code = "message-ambiguous"
    title_vi = "Nhiều hồ sơ cùng chờ thông điệp này"
    title_en = "Several process instances wait for this message"


class IdempotencyConflict(EngineError):
    code = "idempotency-conflict"
    title_vi = "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác"
    title_en = "Idempotency-Key was used for a different request"


class ConcurrentUpdate(EngineError):
    """The instance moved under us and retries ran out."""

    code = "concurrent-update"
    title_vi = "Hồ sơ đang được cập nhật đồng thời, vui lòng thử lại"
    title_en = "Concurrent update, please retry"


# --- execution ------------------------------------------------------------------------------------------------------
class ScriptError(EngineError):
    """A script, condition or expression failed (at deploy: compile; at run: evaluation)."""

    code = "script-error"
    title_vi = "Lỗi biểu thức hoặc kịch bản"
    title_en = "Script or expression error"


class SandboxViolation(ScriptError):
    code = "sandbox-violation"
    title_vi = "Kịch bản vi phạm quy tắc an toàn"
    title_en = "Script violates sandbox rules"


class ScriptTimeout(ScriptError):
    code = "script-timeout"
    title_vi = "Kịch bản chạy quá thời gian cho phép"
    title_en = "Script exceeded its time limit"


class StepLimitExceeded(EngineError):
    code = "step-limit-exceeded"
    title_vi = "Quy trình vượt quá số bước cho phép trong một lệnh"
    title_en = "Step limit exceeded in one command"
