from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from planning.imports.parsing import MAX_ROWS, MAX_UPLOAD_BYTES
from planning.imports.run import KINDS

ACCEPT = ".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"), required=False, initial="",
        choices=[("", gettext_lazy("Recognise it (by sheet name or header row)"))]
        + [(key, kind.label) for key, kind in KINDS.items()])
    file = forms.FileField(label=gettext_lazy("File (.xlsx or .csv)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(mb)d MB and %(rows)s rows.") % {
            "mb": MAX_UPLOAD_BYTES // 2**20, "rows": f"{MAX_ROWS:,}"}
