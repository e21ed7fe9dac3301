"""Administrators' pages: API keys (made, shown once, revoked) and webhook subscriptions with
their delivery log. Capability: manage_users (administrators)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from mes.api.tokens import SCOPES, api_token_create, api_token_revoke
from mes.forms import PlausibleDateTimeField, add_service_errors
from mes.generic import CapabilityRequiredMixin
from mes.models import ApiToken, WebhookDelivery, WebhookSubscription
from mes.webhooks import (
    WEBHOOK_KINDS,
    oldest_pending_age,
    webhook_retry_now,
    webhook_subscription_create,
    webhook_subscription_set_active,
)


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Integration"), max_length=100)
    user = forms.ModelChoiceField(
        label=gettext_lazy("Acts as"), queryset=get_user_model().objects.filter(
            is_active=True).order_by("username"),
        help_text=gettext_lazy("The key can do no more than this person's roles allow."))
    scopes = forms.MultipleChoiceField(label=gettext_lazy("Scopes"),
                                       choices=lambda: [(k, f"{k} — {v}")
                                                        for k, v in SCOPES.items()],
                                       widget=forms.CheckboxSelectMultiple)
    expires_at = PlausibleDateTimeField(label=gettext_lazy("Expires"), required=False,
                                        widget=forms.DateTimeInput(attrs={"type":
                                                                          "datetime-local"}))


class HttpUrlField(forms.URLField):
    """A URL a webhook can be sent to: http or https only, as the service requires."""

    default_validators = [URLValidator(schemes=["http", "https"])]
    default_error_messages = {"invalid": gettext_lazy("Enter an http:// or https:// URL.")}


class WebhookForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Receiving system"), max_length=100)
    url = HttpUrlField(label=gettext_lazy("URL"), max_length=500, assume_scheme="https")
    kinds = forms.MultipleChoiceField(label=gettext_lazy("Events"),
                                      choices=lambda: list(WEBHOOK_KINDS.items()),
                                      widget=forms.CheckboxSelectMultiple)




class TokenPage(CapabilityRequiredMixin, View):
    capability = "manage_users"

    def page(self, request, form, new_key=None, status=200):
        tokens = ApiToken.objects.select_related("user", "created_by").order_by("-id")[:200]
        return render(request, "mes/api/tokens.html", {
            "title": _("API tokens"), "form": form, "tokens": tokens, "new_key": new_key,
            "scopes": SCOPES}, status=status)

    def get(self, request):
        return self.page(request, TokenForm())

    def post(self, request):
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, key = api_token_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return self.page(request, TokenForm(), new_key=(token, key))
        return self.page(request, form, status=400)


class TokenRevoke(CapabilityRequiredMixin, View):
    capability = "manage_users"

    def post(self, request, pk):
        token = api_token_revoke(actor=request.user, token=get_object_or_404(ApiToken, pk=pk),
                                 reason=request.POST.get("reason", "")[:500])
        messages.success(request, _("Key %(t)s revoked.") % {"t": token})
        return redirect("api:tokens")


class WebhookPage(CapabilityRequiredMixin, View):
    capability = "manage_users"

    def page(self, request, form, new_secret=None, status=200):
        return render(request, "mes/api/webhooks.html", {
            "title": _("Webhooks"), "form": form, "new_secret": new_secret,
            "subscriptions": WebhookSubscription.objects.order_by("name", "id"),
            "deliveries": WebhookDelivery.objects.select_related("subscription", "event")
            .order_by("-id")[:100],
            "oldest_pending": oldest_pending_age(), "kinds": WEBHOOK_KINDS}, status=status)

    def get(self, request):
        return self.page(request, WebhookForm())

    def post(self, request):
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                sub, secret = webhook_subscription_create(actor=request.user,
                                                          **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return self.page(request, WebhookForm(), new_secret=(sub, secret))
        return self.page(request, form, status=400)


class WebhookToggle(CapabilityRequiredMixin, View):
    capability = "manage_users"

    def post(self, request, pk):
        sub = get_object_or_404(WebhookSubscription, pk=pk)
        webhook_subscription_set_active(actor=request.user, subscription=sub,
                                        active=not sub.active)
        return redirect("api:webhooks")


class WebhookRetry(CapabilityRequiredMixin, View):
    capability = "manage_users"

    def post(self, request, pk):
        webhook_retry_now(delivery=get_object_or_404(WebhookDelivery, pk=pk))
        messages.success(request, _("The delivery will be sent again."))
        return redirect("api:webhooks")


urlpatterns = [
    path("tokens/", TokenPage.as_view(), name="tokens"),
    path("tokens/<int:pk>/revoke/", TokenRevoke.as_view(), name="token_revoke"),
    path("webhooks/", WebhookPage.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/toggle/", WebhookToggle.as_view(), name="webhook_toggle"),
    path("webhooks/deliveries/<int:pk>/retry/", WebhookRetry.as_view(), name="webhook_retry"),
]
