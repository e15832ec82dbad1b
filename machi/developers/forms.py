from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SignUpForm(UserCreationForm):
    """Email and password; the email address is also the user name."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=150,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        taken = get_user_model().objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
        if taken.exists():
            raise forms.ValidationError(_("An account with this email address already exists."))
        # Lets the password validators compare the password with the address.
        self.instance.username = email
        return email


class SignInForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Email address"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )

    def clean_username(self) -> str:
        # Developers' user names are their lower-cased email addresses.
        username = self.cleaned_data["username"].strip()
        return username.lower() if "@" in username else username


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the key"),
        help_text=_("What the key is for, such as the name of your app."),
        max_length=100,
    )
