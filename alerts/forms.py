"""Forms of the alerts pages. They parse input; the services validate and write."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.kinds import THRESHOLDS, Channel
from alerts.models import AlertRule, WebhookEndpoint
from mes.forms import ModelMultipleIdField
from mes.labels import join_clauses
from mes.models import User
from mes.roles import ROLE_LABELS

TEXTAREA = forms.Textarea(attrs={"rows": 3})


def alert_handlers():
    """Active people who may handle alerts (the capability, through a role)."""
    return (User.objects.filter(is_active=True)
            .filter(Q(groups__permissions__codename="handle_alerts") | Q(is_superuser=True))
            .distinct().order_by("display_name", "username"))


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ResolveForm(forms.Form):
    # Required-ness is the service's to say (same message from every entry point).
    cause = forms.CharField(label=_("Cause"), required=False, widget=TEXTAREA)
    action = forms.CharField(label=_("Action taken"), required=False, widget=TEXTAREA)


class CloseForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), required=False, widget=TEXTAREA)


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none(),
                                      required=False)
    reason = forms.CharField(label=_("Why"), required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = alert_handlers()


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ("code", "name", "name_en", "kind", "severity", "scope", "workshop", "line",
                  "work_center", "minutes", "percent", "window_hours", "min_quantity",
                  "auto_resolve", "active", "description")
        widgets = {"description": TEXTAREA}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("minutes", "percent", "window_hours", "min_quantity"):
            uses = [str(meaning) for kind, spec in THRESHOLDS.items()
                    for field, (_req, meaning) in spec.items() if field == name]
            self.fields[name].help_text = join_clauses(dict.fromkeys(uses))

    def _post_clean(self):
        # The model's own validation runs in the service, with the chain, all at once.
        pass


class EscalationLevelForm(forms.Form):
    after_minutes = forms.IntegerField(label=_("After (minutes)"), required=False,
                                       help_text=_("0: at once"))
    notify_responsible = forms.BooleanField(label=_("Responsible person"), required=False)
    roles = forms.MultipleChoiceField(label=_("Roles"), required=False,
                                      choices=list(ROLE_LABELS.items()),
                                      widget=forms.CheckboxSelectMultiple)
    people = ModelMultipleIdField(label=_("People"), required=False,
                                  queryset=User.objects.none())
    channels = forms.MultipleChoiceField(label=_("Channels"), required=False,
                                         choices=Channel.choices,
                                         widget=forms.CheckboxSelectMultiple)
    webhooks = ModelMultipleIdField(label=_("Webhook endpoints"), required=False,
                                    queryset=WebhookEndpoint.objects.none(),
                                    widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = User.objects.filter(is_active=True).order_by(
            "display_name", "username")
        self.fields["webhooks"].queryset = WebhookEndpoint.objects.all()


EscalationFormSet = forms.formset_factory(EscalationLevelForm, extra=1, can_delete=True,
                                          max_num=10, validate_max=True)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ("name", "kind", "url", "secret", "timeout_seconds", "active")
        widgets = {"secret": forms.PasswordInput(render_value=False,
                                                 attrs={"autocomplete": "new-password"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["secret"].help_text = _("Leave empty to keep the stored secret.")

    def _post_clean(self):
        pass
