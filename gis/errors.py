"""Domain exceptions. Each carries a Chinese message for users and an English reason for logs.

All are ``ValueError`` subclasses (except :class:`PermissionDenied`), so callers that only know
``ValueError`` still catch them. ``str(exc)`` gives ``"<中文> (<English>)"``.
"""

from __future__ import annotations


class RiverGridError(ValueError):
    """Base class of every error RiverGrid reports to a user."""

    def __init__(self, message_zh: str, reason_en: str = "") -> None:
        self.message_zh = message_zh
        self.reason_en = reason_en
        super().__init__(f"{message_zh} ({reason_en})" if reason_en else message_zh)


class ValidationError(RiverGridError):
    """A value does not satisfy a domain rule."""


class FileFormatError(RiverGridError):
    """A file is empty, broken or of an unsupported format."""


class LimitError(FileFormatError):
    """A file exceeds a configured limit (size, unpacked size, compression ratio, points, XML entities)."""


class LayerNotFoundError(RiverGridError):
    """A requested layer is not in the file."""


class CRSError(RiverGridError):
    """A coordinate reference system is missing, wrong or unsuitable."""


class CoordinateRangeError(CRSError):
    """Coordinates lie outside the valid longitude/latitude range (e.g. swapped or projected)."""


class GeometryError(RiverGridError):
    """A geometry is invalid, empty or of the wrong type."""


class TooFarError(ValidationError):
    """Features lie farther from the deployment's top-level grid than allowed (overridable)."""


class DuplicateNameError(RiverGridError):
    """A name is already used where it must be unique."""


class NotFoundError(RiverGridError):
    """A record does not exist (or was deleted)."""


class ConflictError(RiverGridError):
    """A record was changed by someone else since it was read (optimistic locking)."""


class AuthenticationError(RiverGridError):
    """Sign-in failed."""


class PermissionDenied(RiverGridError):
    """The signed-in user's role does not allow this action."""


def checked_text(value: object, what: str, *, required: bool = False, max_len: int = 2000) -> str:
    """``value`` as stripped text for field ``what``; ``ValidationError`` when empty but
    ``required`` (“请填写…”) or longer than ``max_len`` characters."""
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(f"请填写{what}", f"{what} is required")
    if len(text) > max_len:
        raise ValidationError(f"{what}过长（{len(text)} 字，最多 {max_len} 字）", f"{what} longer than {max_len}")
    return text
