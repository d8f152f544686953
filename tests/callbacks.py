"""After-commit callbacks as tests count them."""


def work_callbacks(callbacks) -> list:
    """The callbacks that do work: the audit trail's own markers (bloom.audit, ADR 0310) left out."""
    return [callback for callback in callbacks if type(callback).__module__ != "bloom.audit"]
