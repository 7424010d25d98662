"""How the settings read the environment: one helper per type, and the local secret key.

`settings.py` reads every knob through these helpers and gives every default there.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name, default))


# Placeholders that must never sign anything outside DEBUG (the compose file's old default, the
# settings' old default).
PLACEHOLDER_SECRET_KEYS = {"change-me", "changeme", "secret", "dev-only-insecure-key-change-me"}


def local_secret_key(path: Path) -> str:
    """The key of a local run (no SECRET_KEY in the environment: make, manage.py, the tests):
    generated once into `path` (mode 0600) and read back by every later process."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(temporary, path)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and no local key could be written to {path} ({exc}); "
            "set SECRET_KEY to a long random string."
        ) from exc


def secret_key_problem(key: str) -> str:
    """Why `key` may not be used with DEBUG off ("" when it may)."""
    if not key.strip():
        return "is empty"
    if key.strip().lower() in PLACEHOLDER_SECRET_KEYS or key.startswith("django-insecure-"):
        return "is a placeholder"
    if len(key) < 50 or len(set(key)) < 5:
        return "is too short (at least 50 characters, 5 different)"
    return ""
