"""Domain errors. One root, structured keyword-only fields; phoihop/problems.py maps them to HTTP once.

Every error carries a stable ``code`` (used as the problem ``type`` suffix) and a Vietnamese and English message.
"""

from __future__ import annotations

from typing import Any, ClassVar


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


class FormInvalid(InvalidVariables):
    """Variables that do not match a form (start form or task form). ``errors`` has one entry per wrong field:
    ``{"field", "message_vi", "message_en", "rule"}``; ``form`` is the form's file name."""

    code = "form-invalid"
    title_vi = "Dữ liệu không khớp biểu mẫu"
    title_en = "Data does not match the form"

    def __init__(
        self, detail: str, *, form: str, errors: list[dict[str, Any]], detail_vi: str | None = None, **fields: Any
    ) -> None:
        super().__init__(detail, detail_vi=detail_vi, form=form, errors=errors, **fields)
        self.form = form
        self.errors = errors


class InvalidCalendarDay(InvalidInput):
    code = "invalid-calendar-day"
    title_vi = "Ngày trong lịch làm việc không hợp lệ"
    title_en = "Invalid calendar day"


class MigrationPlanInvalid(InvalidInput):
    """A migration plan that cannot apply: ``problems`` lists each wrong pair (``source_id``/``target_id``, reason in
    English and Vietnamese)."""

    code = "invalid-migration-plan"
    title_vi = "Kế hoạch chuyển phiên bản không hợp lệ"
    title_en = "Invalid migration plan"


class CalendarDayNotFound(EngineError):
    code = "calendar-day-not-found"
    title_vi = "Không có điều chỉnh lịch cho ngày này"
    title_en = "No calendar override for this day"


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


# --- documents --------------------------------------------------------------------------------------------------------
class DocumentNotFound(EngineError):
    code = "document-not-found"
    title_vi = "Không tìm thấy tài liệu"
    title_en = "Document not found"


class DocumentTooLarge(EngineError):
    """An upload past the size limit (``limit``: bytes); nothing was stored."""

    code = "document-too-large"
    title_vi = "Tệp tài liệu quá lớn"
    title_en = "Document too large"


class UnsupportedDocument(EngineError):
    """A file whose bytes are not of an accepted kind (``accepted``), whatever its name says; nothing was stored."""

    code = "unsupported-document"
    title_vi = "Loại tệp không được chấp nhận"
    title_en = "Unsupported document type"


class DocumentDeleted(EngineError):
    """The document was deleted already (by ``deleted_by``); its record and bytes stay in the case history."""

    code = "document-deleted"
    title_vi = "Tài liệu đã bị xóa"
    title_en = "Document already deleted"


class DocumentRejected(InvalidInput):
    """A file of an accepted kind that cannot be kept: empty, a damaged archive, a ZIP bomb (``reason``)."""

    code = "document-rejected"
    title_vi = "Tệp tài liệu bị từ chối"
    title_en = "Document rejected"


# --- webhooks -------------------------------------------------------------------------------------------------------
class WebhookNotFound(EngineError):
    code = "webhook-not-found"
    title_vi = "Không tìm thấy đăng ký webhook"
    title_en = "Webhook not found"


class WebhookDeliveryNotFound(EngineError):
    code = "webhook-delivery-not-found"
    title_vi = "Không tìm thấy lần gửi webhook"
    title_en = "Webhook delivery not found"


class WebhookDeliveryInFlight(EngineError):
    """A worker is sending the delivery right now (its lease holds until ``lease_until``): replay it afterwards."""

    code = "webhook-delivery-in-flight"
    title_vi = "Lần gửi webhook đang được thực hiện"
    title_en = "Webhook delivery in flight"


# --- instances and tasks --------------------------------------------------------------------------------------------
class InstanceNotFound(EngineError):
    code = "instance-not-found"
    title_vi = "Không tìm thấy hồ sơ quy trình"
    title_en = "Process instance not found"

    @classmethod
    def of(cls, instance_id: str) -> InstanceNotFound:
        """The one wording of a missing instance, for every command and read that looks one up."""
        return cls(
            f"instance {instance_id} not found",
            detail_vi=f"Không tìm thấy hồ sơ {instance_id}",
            instance_id=instance_id,
        )


class IncidentNotFound(EngineError):
    code = "incident-not-found"
    title_vi = "Không tìm thấy sự cố"
    title_en = "Incident not found"


class IncidentNotOpen(EngineError):
    """Resolved already, or an incident that cannot be resolved this way (skipping a timer's or a gateway's)."""

    code = "incident-not-open"
    title_vi = "Sự cố không thể xử lý theo cách này"
    title_en = "Incident cannot be resolved this way"


class InstanceNotRunning(EngineError):
    code = "instance-not-running"
    title_vi = "Quy trình không còn đang chạy"
    title_en = "Process instance is not running"


class DossierLookupFailed(EngineError):
    """The public lookup found no dossier for this code and secret: one answer for a wrong code and a wrong secret."""

    code = "dossier-not-found"
    title_vi = "Không tìm thấy hồ sơ"
    title_en = "Dossier not found"


class TooManyRequests(EngineError):
    """Too many requests from one client address; ``retry_after``: seconds until the next one is accepted."""

    code = "too-many-requests"
    title_vi = "Quá nhiều yêu cầu"
    title_en = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, detail_vi: str | None = None, **fields: Any) -> None:
        super().__init__(detail, detail_vi=detail_vi, retry_after=retry_after, **fields)
        self.retry_after = retry_after


class TaskNotFound(EngineError):
    code = "task-not-found"
    title_vi = "Không tìm thấy công việc"
    title_en = "Task not found"


class NotificationNotFound(EngineError):
    """A notification of someone else is not found either: its existence is not told."""

    code = "notification-not-found"
    title_vi = "Không tìm thấy thông báo"
    title_en = "Notification not found"


class NotCandidate(EngineError):
    code = "not-candidate"
    title_vi = "Không có quyền xử lý công việc này"
    title_en = "Not a candidate for this task"


class Forbidden(EngineError):
    code = "forbidden"
    title_vi = "Không có quyền"
    title_en = "Forbidden"


class RoleRequired(Forbidden):
    """The task may be seen by its agency but only acted on by holders of a role (a lead's decision)."""

    code = "role-required"
    title_vi = "Công việc cần vai trò khác"
    title_en = "This task needs another role"


class AlreadyClaimed(EngineError):
    code = "task-already-claimed"
    title_vi = "Công việc đã được người khác nhận"
    title_en = "Task already claimed"


class TaskNotOpen(EngineError):
    code = "task-not-open"
    title_vi = "Công việc không còn mở"
    title_en = "Task is not open"


class ReturnTargetInvalid(EngineError):
    """A send-back names a step that is not an earlier completed human step on the returned task's path (or the task
    has none): ``element_id`` the step asked for, ``targets`` the steps it could go back to."""

    code = "return-target-invalid"
    title_vi = "Không trả lại được về bước này"
    title_en = "Cannot send the task back to this step"


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
    """Fields: ``exceeded`` "cpu_seconds" (the CPU time it used) or "wall_seconds" (it waited or was blocked),
    ``limit_seconds`` (that limit as the engine enforced it), ``stopped_by``: "budget" (the script's own ticks saw its
    CPU time pass, with ``used_seconds``), "cpu_rlimit" (the kernel's CPU-time limit ended its worker inside a long
    native call) or "wall_clock" (the pool killed the worker). A size check's refusal is a
    ``ScriptError`` whose ``exceeded`` names it: "max_items", "max_int_bits", "max_format_width", "max_star_args",
    "max_data_size", "memory_mb"."""

    code = "script-timeout"
    title_vi = "Kịch bản chạy quá thời gian cho phép"
    title_en = "Script exceeded its time limit"


class InvalidScriptResult(ScriptError):
    """A script or decision left a value in task data that cannot be stored: checked like API input
    (engine.variables.check_results). Fields: ``variable`` (the top-level name), ``path`` (where in it)."""

    code = "invalid-script-result"
    title_vi = "Kết quả kịch bản không lưu được"
    title_en = "Script result cannot be stored"


class StepLimitExceeded(EngineError):
    code = "step-limit-exceeded"
    title_vi = "Quy trình vượt quá số bước cho phép trong một lệnh"
    title_en = "Step limit exceeded in one command"


# --- external tasks -------------------------------------------------------------------------------------------------
class ExternalTaskNotFound(EngineError):
    code = "external-task-not-found"
    title_vi = "Không tìm thấy công việc bên ngoài"
    title_en = "External task not found"


class ExternalTaskNotActive(EngineError):
    """The external task was completed or cancelled (the instance moved on or ended)."""

    code = "external-task-not-active"
    title_vi = "Công việc bên ngoài không còn chờ xử lý"
    title_en = "External task is no longer active"


class ExternalTaskNotLocked(EngineError):
    """The worker does not hold the task's lock: never fetched, unlocked, or locked by another worker."""

    code = "external-task-not-locked"
    title_vi = "Hệ thống tích hợp không giữ khóa công việc bên ngoài này"
    title_en = "The worker does not hold this external task's lock"


class ExternalTaskLockExpired(ExternalTaskNotLocked):
    code = "external-task-lock-expired"
    title_vi = "Khóa công việc bên ngoài đã hết hạn"
    title_en = "The external task's lock has expired"


class BpmnErrorNotCaught(EngineError):
    """A worker reported a BPMN error that no error boundary event on the task catches; nothing changed."""

    code = "bpmn-error-not-caught"
    title_vi = "Không có sự kiện biên lỗi nào bắt mã lỗi này"
    title_en = "No error boundary event catches this error code"


# --- the database ---------------------------------------------------------------------------------------------------
class StoreUnavailable(EngineError):
    """The database could not serve the command: no pooled connection within the pool timeout (``pool-timeout``),
    SQLite's write lock not free within its busy timeout (``busy``), the connection lost mid-command or the server
    unreachable (``connection-lost``). The transaction rolled back and no instance was touched: the caller may retry
    after ``retry_after`` seconds. Never instance state (engine.execution.runtime lets it through)."""

    code = "database-unavailable"
    title_vi = "Hệ thống đang bận, vui lòng thử lại"
    title_en = "Service busy, please retry"
    RETRY_AFTER: ClassVar[dict[str, int]] = {"pool-timeout": 2, "busy": 2, "connection-lost": 5}

    def __init__(self, detail: str, *, reason: str, detail_vi: str | None = None, **fields: Any) -> None:
        self.retry_after = self.RETRY_AFTER.get(reason, 5)
        super().__init__(detail, detail_vi=detail_vi, reason=reason, retry_after=self.retry_after, **fields)
        self.reason = reason

    @classmethod
    def because(cls, reason: str) -> StoreUnavailable:
        """The error for ``reason`` (engine.store.database.unavailable_reason); the driver's error is its cause."""
        english = {
            "pool-timeout": "no database connection was free in time",
            "busy": "the database was busy with other commands",
        }.get(reason, "the connection to the database was lost")
        return cls(
            f"{english}; nothing was changed, retry the request",
            detail_vi="Hệ thống đang bận, vui lòng thử lại sau ít giây. Chưa có thay đổi nào được lưu.",
            reason=reason,
        )


# --- assignment, delegation, slips ----------------------------------------------------------------------------------
class AssigneeNotEligible(InvalidInput):
    """The person named to take a task is no officer or lead of the task's agency (``user_id``, ``agencies``)."""

    code = "assignee-not-eligible"
    title_vi = "Người được phân công không thuộc đơn vị xử lý"
    title_en = "The person cannot be assigned this task"


class DelegationNotFound(EngineError):
    code = "delegation-not-found"
    title_vi = "Không tìm thấy ủy quyền"
    title_en = "Delegation not found"


class SlipNotFound(EngineError):
    """No slip of that kind (``kind``), or no template for it in the process folder."""

    code = "slip-not-found"
    title_vi = "Không có phiếu này"
    title_en = "No such slip"


class SlipNotApplicable(EngineError):
    """The case is not in a state the slip records (a refusal slip for a case not refused): ``kind``, ``reason``."""

    code = "slip-not-applicable"
    title_vi = "Phiếu không áp dụng cho hồ sơ này"
    title_en = "The slip does not apply to this case"
