"""Staff second factor (TOTP): enrolment and verification."""

import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from machi.audit import services as audit


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_device(user: AbstractBaseUser) -> TOTPDevice:
    """The unconfirmed device a staff member is enrolling, made on first visit."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def verify_second_factor(*, request: HttpRequest, device: TOTPDevice, token: str) -> bool:
    """Check a 6-digit code; on success confirm the device and mark the session verified."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return False
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(actor=request.user, action="create", obj=device)
    otp_login(request, device)
    audit.record(actor=request.user, action="login", obj=request.user)
    return True
