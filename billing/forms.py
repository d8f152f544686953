from decimal import Decimal

from django import forms


class RefundRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why are you asking for a refund?", widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )

    def __init__(self, *args, max_amount: Decimal, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {
            "amount": forms.DecimalField(
                label="Amount to refund",
                max_digits=10,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=max_amount,
                help_text=f"Up to {max_amount}.",
            ),
            **self.fields,
        }
