"""Field and constraint shapes every app's models repeat (docs/adr/0130).

Each helper returns exactly the field or constraint the models used to spell out, so
swapping one in changes no column, default or constraint name: `makemigrations --check`
stays clean. Names of constraints follow the seed's `<table>_<field>_<rule>` pattern.
"""

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

# DECIMAL(10,2): every amount of money Bloom stores (integer cents only at the Stripe boundary).
MONEY_DIGITS = {"max_digits": 10, "decimal_places": 2}


def _values(choices: type[models.Choices] | Iterable) -> list:
    if isinstance(choices, type) and issubclass(choices, models.Choices):
        return list(choices.values)
    return list(choices)


def choice_field(
    choices: type[models.Choices],
    *,
    max_length: int | None = None,
    default=models.NOT_PROVIDED,
    db_default: bool = False,
    **kwargs,
) -> models.Field:
    """A column holding one value of `choices`.

    `max_length` makes it a VARCHAR (CharField); without it the column is TEXT, as billing's
    seed tables have it. `db_default=True` makes `default` the column's DEFAULT as well, so
    rows inserted by SQL get it too. Pair it with `choice_constraint()`.
    """
    if db_default:
        kwargs["db_default"] = default
    if default is not models.NOT_PROVIDED:
        kwargs["default"] = default
    if max_length is None:
        return models.TextField(choices=choices.choices, **kwargs)
    return models.CharField(max_length=max_length, choices=choices.choices, **kwargs)


def choice_constraint(
    table: str,
    field: str,
    choices: type[models.Choices] | Iterable,
    *,
    blank: bool = False,
    name: str | None = None,
) -> models.CheckConstraint:
    """CHECK (`field` IN the values of `choices`), named `<table>_<field>_valid` unless `name` says.

    `table` is the name's prefix: the db_table, or the seed's short form of it where the seed
    named the constraint so (`screening_points_`, `email_seq_enroll_`).

    `choices` is a Choices class or an iterable of the allowed values (a subset); `blank=True`
    also allows the empty string (an optional choice stored as '').
    """
    condition = Q(**{f"{field}__in": _values(choices)})
    if blank:
        condition = Q(**{field: ""}) | condition
    return models.CheckConstraint(condition=condition, name=name or f"{table}_{field}_valid")


def money_field(*, zero_default: bool = False, **kwargs) -> models.DecimalField:
    """DECIMAL(10,2); `zero_default=True` defaults to 0.00 in Python and in the database.

    The Python default is `Decimal("0.00")`, the value the column reads back as, so an amount
    prints the same before and after a save.
    """
    if zero_default:
        kwargs.update(default=Decimal("0.00"), db_default=Decimal("0.00"))
    return models.DecimalField(**MONEY_DIGITS, **kwargs)


def not_negative(table: str, field: str, *, name: str | None = None) -> models.CheckConstraint:
    """CHECK (`field` >= 0), named `<table>_<field>_not_negative` unless `name` says."""
    return models.CheckConstraint(condition=Q(**{f"{field}__gte": 0}), name=name or f"{table}_{field}_not_negative")


def optional_user_fk(**kwargs) -> models.ForeignKey:
    """A nullable link to a user that outlives them (SET NULL), with no reverse accessor by default.

    The shape of "who did it" columns: `created_by`, `decided_by`, `handled_by`, an author.
    """
    kwargs.setdefault("related_name", "+")
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, **kwargs)


def ip_address_field(**kwargs) -> models.GenericIPAddressField:
    """The client address a request came from, when known."""
    return models.GenericIPAddressField(null=True, blank=True, **kwargs)


def _upper_text(field: str):
    # What PostgreSQL's backend compares for `iexact` and `icontains` is UPPER("col"::text);
    # PostgreSQL stores UPPER("col") on a varchar column with that cast made explicit, so the
    # planner matches the two.
    from django.db.models.functions import Upper

    return Upper(field)


def search_index(field: str, *, name: str):
    """A GIN trigram index on UPPER(field::text), which the admin's search box reads
    (`icontains` is `UPPER(col::text) LIKE UPPER('%…%')`) instead of scanning the table.
    Needs the pg_trgm extension (accounts/migrations/0052; docs/adr/0430)."""
    from django.contrib.postgres.indexes import GinIndex, OpClass

    return GinIndex(OpClass(_upper_text(field), name="gin_trgm_ops"), name=name)


def iexact_index(field: str, *, name: str) -> models.Index:
    """A btree index on UPPER(field::text), for `field__iexact` lookups (an address matched
    whatever its case, as the Calendly and Zoom webhooks match a member's email)."""
    return models.Index(_upper_text(field), name=name)
