"""Signed, expiring URLs for presigned uploads to the local bucket (S3 signs its own), and
signed result addresses (EDITROOM_URL_SIGNING_KEY), as imgproxy signs its URLs."""

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from service.kernel.errors import BadSignature
from service.kernel.settings import Settings

SECRET_FILE = "secret-key"


def secret_key(settings: Settings) -> bytes:
    """EDITROOM_SECRET_KEY, or a key made once and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_hex(32))
    return path.read_text().strip().encode()


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text)


def sign(key: bytes, subject: str, expires_at: int) -> str:
    return hmac.new(key, f"{subject}:{expires_at}".encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, subject: str, expires_at: int, signature: str) -> None:
    """Compared as bytes: a signature of any characters is a mismatch, never an error."""
    expected = sign(key, subject, expires_at).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise BadSignature("the upload URL's signature does not match; ask for a new URL")
    if expires_at < time.time():
        raise BadSignature("the upload URL has expired; ask for a new one")


def sign_path(key: bytes, path: str) -> str:
    """A result address's signature: HMAC-SHA256 of its path (as sent, escapes and all),
    base64url without padding."""
    digest = hmac.new(key, path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_path(key: bytes, path: str, signature: str | None) -> None:
    if signature is None:
        raise BadSignature("this address needs its signature (?signature=); ask for a signed one")
    expected = sign_path(key, path).encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise BadSignature("the address's signature does not match its path")
