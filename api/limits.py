"""Request body size limits, enforced while reading (a missing or lying Content-Length does not help)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Multipart bodies that carry a document (the API's upload, the web app's upload and task form): their limit is the
# document size limit (PHOIHOP_DOCUMENT_MAX_MB) and room for the form around it, when that is more than the default.
DOCUMENT_PATH_ENDINGS = (b"/documents", b"/tai-lieu", b"/hoan-thanh")
DOCUMENT_FORM_ROOM = 64 * 1024


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int, max_document_bytes: int | None = None
    ) -> None:
        self.app = app
        self.max_json = max_json_bytes
        self.max_upload = max_upload_bytes
        self.max_document_upload = max(max_upload_bytes, (max_document_bytes or 0) + DOCUMENT_FORM_ROOM)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = (scope.get("raw_path") or b"") + b"?" + (scope.get("query_string") or b"")
        if b"%00" in target or b"\x00" in target:
            await self._send_problem(
                send,
                422,
                {
                    "type": "/problems/invalid-request",
                    "title": "Yêu cầu không hợp lệ / Invalid request",
                    "status": 422,
                    "detail": "the URL contains a NUL character",
                    "detail_vi": "Địa chỉ chứa ký tự NUL",
                    "errors": [{"field": "url", "message": "NUL character", "type": "value_error"}],
                },
            )
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not content_type.startswith("multipart/"):
            limit = self.max_json
        elif (scope.get("raw_path") or scope.get("path", "").encode()).rstrip(b"/").endswith(DOCUMENT_PATH_ENDINGS):
            limit = self.max_document_upload
        else:
            limit = self.max_upload
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        # Read the body first, bounded, then replay it: raising from inside receive() would reach the framework's
        # body parser, which turns any exception into a 400.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            received += len(body)
            if received > limit:
                await self._reject(send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @classmethod
    async def _reject(cls, send: Send, limit: int) -> None:
        await cls._send_problem(
            send,
            413,
            {
                "type": "/problems/payload-too-large",
                "title": "Dữ liệu gửi lên quá lớn / Payload too large",
                "status": 413,
                "detail": f"request body exceeds {limit} bytes",
                "detail_vi": f"Dữ liệu gửi lên vượt quá {limit} byte",
                "limit": limit,
            },
        )

    @staticmethod
    async def _send_problem(send: Send, status: int, body: dict[str, Any]) -> None:
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
