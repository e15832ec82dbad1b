from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from machi.geo.areas import max_bytes


class AreaUploadForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    title_en = forms.CharField(label=_("Title (English)"), max_length=300, required=False)
    department = forms.ModelChoiceField(label=_("Department"), queryset=None)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "GeoJSON (.geojson), a zipped Shapefile (.zip with .shp, .shx, .dbf, .prj) "
            "or KML (.kml)."
        ),
    )
    crs = forms.CharField(
        label=_("Coordinate system (EPSG code)"),
        required=False,
        max_length=60,
        help_text=_(
            "Only when the file does not say: for example 6677 for JGD2011 plane "
            "rectangular zone IX (Tokyo). Longitude and latitude need nothing."
        ),
    )
    is_public = forms.BooleanField(label=_("Show on the public map"), required=False, initial=True)
    color = forms.RegexField(
        label=_("Colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        initial="#e53935",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    def __init__(self, *args: Any, departments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        if departments.count() == 1:
            self.fields["department"].initial = departments.first()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(
                _("The file is %(size).1f MB; area files may be at most %(limit).0f MB."),
                params={"size": upload.size / 1e6, "limit": max_bytes() / 1e6},
            )
        return upload
