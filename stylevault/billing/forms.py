"""Page forms: field types only; the rules live in billing.services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class BuyPackForm(forms.Form):
    pack_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
    currency = forms.CharField(max_length=3, required=False, widget=forms.HiddenInput)


class TierForm(forms.Form):
    tier = forms.CharField(max_length=32, widget=forms.HiddenInput)


class PayoutAccountForm(forms.Form):
    stripe_account_id = forms.CharField(
        label=_("Stripe Connect account id (acct_...)"), max_length=255, required=False
    )
