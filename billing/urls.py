from django.urls import path

from bloom.webhooks import webhook_paths

from . import views

app_name = "billing"

urlpatterns = [
    *webhook_paths("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("billing/", views.billing_home, name="billing_home"),
    path("billing/payments/<uuid:payment_id>/receipt/", views.receipt, name="receipt"),
    path("billing/payments/<uuid:payment_id>/return/", views.checkout_return, name="checkout_return"),
    path("billing/payments/<uuid:payment_id>/refund/", views.refund_request, name="refund_request"),
    path("billing/payments/<uuid:payment_id>/complete/", views.payment_complete, name="payment_complete"),
    path("billing/cards/add/", views.card_add, name="card_add"),
    path("billing/cards/<uuid:payment_method_id>/remove/", views.card_remove, name="card_remove"),
    path("billing/cards/<uuid:payment_method_id>/default/", views.card_make_default, name="card_make_default"),
]
