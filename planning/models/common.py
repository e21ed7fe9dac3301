from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def validate_code(value: str) -> None:
    """The one rule for codes people type, scan and import (items, work centers, order
    numbers): no spaces, so a code exported to Excel or printed on a label reads back the same.
    Used by the models (hence their forms and the API) and by the importer."""
    if value and any(ch.isspace() for ch in value):
        raise ValidationError(_("A code must not contain spaces."), code="spaces")


def code_field() -> models.CharField:
    """CodedNamed's code, refusing spaces (see validate_code)."""
    return models.CharField(_("code"), max_length=40, unique=True, validators=[validate_code])


def localized_name(name: str | None, name_en: str | None) -> str:
    """The name to show in the active language: English when it is English and one is set.

    For rows read with .values(): fetch both `…name` and `…name_en` and pass them here."""
    if name_en and (get_language() or "").startswith("en"):
        return name_en
    return name or ""


class CodedNamed(models.Model):
    """Master data with a plant code and a name in Chinese and English."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return localized_name(self.name, self.name_en)
