"""bloom.fields: each helper builds the field or constraint the models spelled out by hand (ADR 0130)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from bloom.fields import choice_constraint, choice_field, ip_address_field, money_field, not_negative, optional_user_fk


class Colour(models.TextChoices):
    RED = "red", "Red"
    BLUE = "blue", "Blue"


def test_choice_field_is_varchar_with_max_length_else_text_and_mirrors_the_default_in_the_database():
    short = choice_field(Colour, max_length=10, default=Colour.RED, db_default=True)
    assert isinstance(short, models.CharField) and short.max_length == 10
    assert short.choices == Colour.choices
    assert short.default == "red" and short.db_default == "red"
    text = choice_field(Colour, default=Colour.BLUE)
    assert type(text) is models.TextField
    assert text.default == "blue" and text.db_default is models.NOT_PROVIDED
    assert not choice_field(Colour, max_length=4).has_default()


def test_choice_constraint_names_and_values():
    check = choice_constraint("paints", "colour", Colour)
    assert check == models.CheckConstraint(condition=Q(colour__in=["red", "blue"]), name="paints_colour_valid")
    blank = choice_constraint("paints", "colour", Colour, blank=True, name="paints_colour_ok")
    assert blank == models.CheckConstraint(
        condition=Q(colour="") | Q(colour__in=["red", "blue"]), name="paints_colour_ok"
    )
    subset = choice_constraint("paints", "colour", [Colour.RED])
    assert subset.condition == Q(colour__in=["red"])


def test_money_field_and_its_check():
    amount = money_field(zero_default=True)
    assert (amount.max_digits, amount.decimal_places) == (10, 2)
    assert amount.default == Decimal("0.00") and str(amount.default) == "0.00"
    assert amount.db_default == Decimal("0.00")
    assert not money_field(null=True).has_default()
    assert not_negative("payments", "amount") == models.CheckConstraint(
        condition=Q(amount__gte=0), name="payments_amount_not_negative"
    )
    assert not_negative("payments", "amount", name="payments_ok").name == "payments_ok"


def test_optional_user_fk_and_ip_address():
    _, path, args, kwargs = optional_user_fk().deconstruct()
    assert path == "django.db.models.ForeignKey"
    assert kwargs["to"].lower() == "accounts.user"
    assert kwargs["on_delete"] is models.SET_NULL and kwargs["null"] and kwargs["blank"]
    assert kwargs["related_name"] == "+"
    assert optional_user_fk(related_name="posts").deconstruct()[3]["related_name"] == "posts"
    ip = ip_address_field()
    assert isinstance(ip, models.GenericIPAddressField) and ip.null and ip.blank
