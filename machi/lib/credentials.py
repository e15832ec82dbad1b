"""Secrets shown to their owner once (developer API keys, staff API tokens) and kept only
as a SHA-256 digest: a stolen database recognises no request."""

import hashlib
import secrets


def new_secret() -> str:
    """43 URL-safe characters, never starting with "-": a prefix such as `-Xy3…` would be
    read as an option by `machi token revoke PREFIX` (one token in 64 could not be
    revoked from the command line)."""
    while (secret := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return secret


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
