"""Domain errors the routers turn into HTTP answers."""


class DeskError(Exception):
    """Base: the message is Korean and safe to show."""


class NotFound(DeskError):
    pass


class StaleVersion(DeskError):
    """Someone else changed the record since the client read it."""


class Conflict(DeskError):
    """The change clashes with another record (e.g. a 사업자등록번호 already registered)."""


class Invalid(DeskError):
    """Input that passed the schema but not the domain rules (e.g. an unknown program id)."""


class RateLimited(DeskError):
    """Too many login attempts for this IP and user name in the last minute."""
