"""What happens when a signing request completes: a registry of named completions, like
bpms_bridge's registry of case kinds.

Each app registers its completions in its AppConfig.ready()::

    register_completion("appeals:appeal_signed", function="appeals.services.appeal_signing_completed")

A SigningRequest stores the completion's NAME (`signing_request_create(on_complete="appeals:appeal_signed")`);
when the request completes, signing calls the function inside its transaction as
`fn(signing_request, signature)` — or `fn(signing_request, signature, request=request)` for a
completion registered with `takes_request=True` (the browser's request, e.g. to log a user in).
Every registered function is imported and checked by a Django system check at start-up
(`signing.E001`), so a typo stops `runserver`/`migrate`/`check`, not a user's signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core import checks
from django.utils.module_loading import import_string

logger = logging.getLogger("signing")


@dataclass(frozen=True)
class Completion:
    name: str
    function_path: str
    takes_request: bool = False

    def function(self) -> Callable[..., object]:
        return import_string(self.function_path)


_registry: dict[str, Completion] = {}


def register_completion(name: str, *, function: str, takes_request: bool = False) -> Completion:
    """Register (or re-register) a completion; `function` is the dotted path of
    `fn(signing_request, signature[, request=...])`."""
    if not name or "." in name or ":" not in name:
        raise ValueError("a completion is named '<app>:<what>' (a name, not a dotted path)")
    if not function or "." not in function:
        raise ValueError("register_completion needs the dotted path of the function")
    entry = Completion(name=name, function_path=function, takes_request=takes_request)
    _registry[name] = entry
    return entry


def unregister_completion(name: str) -> None:
    _registry.pop(name, None)


def completion(name: str) -> Completion | None:
    """The completion of that name. A request created before the registry stored the function's
    dotted path: that finds the completion registered for the same function."""
    entry = _registry.get(name)
    if entry is None and name:
        entry = next((e for e in _registry.values() if e.function_path == name), None)
    return entry


def completion_name(value: str) -> str:
    """The registered name for `value` (a name, or a registered function's path); ValueError otherwise."""
    if not value:
        return ""
    entry = completion(value)
    if entry is None:
        raise ValueError(f"no signing completion registered as {value!r}")
    return entry.name


def completion_run(signing_request, signature, *, request=None) -> None:
    """Runs the request's completion (inside signing's transaction)."""
    if not signing_request.on_complete:
        return
    entry = completion(signing_request.on_complete)
    if entry is None:
        # Rolled back with the signature: the user sees an error rather than a lost step.
        logger.error("signing request %s: completion %r is not registered", signing_request.public_id,
                     signing_request.on_complete)
        raise LookupError(f"signing completion {signing_request.on_complete!r} is not registered")
    function = entry.function()
    if entry.takes_request:
        function(signing_request, signature, request=request)
    else:
        function(signing_request, signature)


def registered_completions() -> list[Completion]:
    return [(_registry[name]) for name in sorted(_registry)]


def check_completions(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: every registered completion imports and is callable."""
    errors = []
    for entry in registered_completions():
        try:
            function = entry.function()
        except ImportError as exc:
            errors.append(checks.Error(f"signing completion {entry.name!r}: {entry.function_path} cannot be imported "
                                       f"({exc})", id="signing.E001"))
            continue
        if not callable(function):
            errors.append(checks.Error(f"signing completion {entry.name!r}: {entry.function_path} is not callable",
                                       id="signing.E001"))
    return errors
