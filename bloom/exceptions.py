class ApplicationError(Exception):
    """A rule of the domain refused the request; `message` is safe to show to a person."""

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
