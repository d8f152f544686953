"""Demo data for notifications: the welcome sequence (which migrate also installs)."""

from .defaults import welcome_sequence_ensure


def seed(*, stdout) -> None:
    welcome_sequence_ensure()
