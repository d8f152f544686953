import pytest

from tests.factories.accounts import StaffUserFactory, UserFactory


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffUserFactory()


@pytest.fixture
def queued_mail(monkeypatch):
    """Every email allauth hands to the outbox (accounts.adapters -> notifications.email_enqueue),
    recorded and then queued for real."""
    import accounts.adapters

    sent: list[dict] = []
    real = accounts.adapters.email_enqueue

    def spy(**kwargs):
        sent.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(accounts.adapters, "email_enqueue", spy)
    return sent


@pytest.fixture
def triggers(monkeypatch):
    """Sequence triggers fired towards notifications, recorded and then passed through."""
    import notifications.services

    fired: list[dict] = []
    real = notifications.services.sequence_trigger

    def spy(**kwargs):
        fired.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(notifications.services, "sequence_trigger", spy)
    return fired
