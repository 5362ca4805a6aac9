"""Every failure as an OpenAI-shaped error: {"error": {"message", "type", "code"}} with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

import converters
import engines

from ..core.threads import ThreadNotFoundError
from ..errors import IpponError
from ..locale import _
from .runtime import ModelUnavailableError, NotInLibraryError, RequestLimitError
from .workers import ServerBusyError

log = logging.getLogger("ippon.serve")


def error_response(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for `exc`. Errors meant for users say what they say; anything else is a
    bug, logged with its traceback here and reported without internals."""
    headers: dict[str, str] = {}
    if isinstance(exc, ServerBusyError):
        status, kind = 429, "rate_limit_error"
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, (ModelUnavailableError, NotInLibraryError, ThreadNotFoundError)):
        status, kind = 404, "not_found_error"
    elif isinstance(exc, (RequestLimitError, IpponError, engines.EngineError, converters.ConversionError)):
        status, kind = 400, "invalid_request_error"
    else:
        log.error("request failed", exc_info=exc)
        return 500, _body(_("the server failed on this request; its log has the details"), "server_error", 500), {}
    return status, _body(str(exc), kind, status), headers


def _body(message: str, kind: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status}}
