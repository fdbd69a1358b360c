"""How the `paywire` package carries values across `paywire._ffi`: dicts as JSON text and
back, numbers and bytes checked, and every failure raised as the `PaywireError` of its class
(a value of the wrong Python type, refused by uniffi, as `invalid_argument`)."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, TypeVar, Union

from . import _ffi
from .errors import InvalidArgumentError, PaywireError, error_for

T = TypeVar("T")


def _call(work: Callable[[], T]) -> T:
    """Runs an `_ffi` call, raising its failure as the `PaywireError` of its class; a value of
    the wrong Python type (refused by uniffi) is `invalid_argument`."""
    try:
        return work()
    except _ffi.FfiError.Failed as failure:
        raise error_for(failure.code, failure._class, failure.message) from None
    except (TypeError, ValueError, OverflowError) as wrong:
        if isinstance(wrong, PaywireError):
            raise
        raise InvalidArgumentError("invalid_argument", str(wrong)) from None


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError("invalid_argument", f"{what}: not JSON ({error})") from None


def _optional_json(value: Any, what: str) -> Optional[str]:
    return None if value is None else _json(value, what)


def _parsed(text: str) -> Any:
    return json.loads(text)


def _number(value: Any, what: str) -> float:
    # bool is an int in Python; it is not a count.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("invalid_argument", f"{what} must be a number")
    return float(value)


def _optional_number(value: Any, what: str) -> Optional[float]:
    return None if value is None else _number(value, what)


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgumentError("invalid_argument", f"{what} must be bytes")


def _body_bytes(body: Union[str, bytes, bytearray, memoryview, None]) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise InvalidArgumentError("invalid_argument", "body must be str, bytes or None")


def _native_of(value: Any, cls: type, what: str) -> Any:
    """The `_ffi` object of a wrapper of `cls`; `invalid_argument` for anything else."""
    if not isinstance(value, cls):
        raise InvalidArgumentError("invalid_argument", f"{what} must be a {cls.__name__}")
    return value._inner  # type: ignore[attr-defined]
