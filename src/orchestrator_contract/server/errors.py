"""The error body of every 4xx/5xx response and the exception that carries it."""

from __future__ import annotations

from http import HTTPStatus

# Twilio-style numeric codes; 20003 for authentication is fixed by the contract.
_CODES: dict[int, int] = {
    400: 20001,
    401: 20003,
    404: 20404,
    405: 20004,
    409: 20409,
    412: 20412,
    413: 20413,
    415: 20415,
    422: 20422,
    429: 20429,
    500: 20500,
}


class ApiError(Exception):
    """An HTTP error answered with the contract's error body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    @property
    def code(self) -> int:
        return _CODES.get(self.status, 20000 + self.status)

    def body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }

    def problem(self) -> dict[str, object]:
        """The RFC 9457 problem details of a FAILED operation."""
        return {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.message,
        }
