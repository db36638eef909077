from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from identity.errors import AuthError, AuthErrorCode

_hasher = PasswordHasher()
# Verified against when the user is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def hash_new_password(password: str | None, field: str = "newPassword") -> str:
    """The hash of a password someone chooses now, refused if its length is out of bounds."""
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= MAX_PASSWORD_LENGTH:
        raise AuthError(AuthErrorCode.INVALID_PASSWORD,
                        f"密码为{MIN_PASSWORD_LENGTH}到{MAX_PASSWORD_LENGTH}个字符", field=field)
    return hash_password(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
