"""Secrets shown to their owner once (developer API keys, staff API tokens) and kept only
as a SHA-256 digest: a stolen database recognises no request."""

import hashlib
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
