"""aiogram imported with its Telegram types' validators built on first use, not at import.

aiogram 3 declares its ~900 Telegram types with pydantic's `defer_build=True`, then defeats it at
the end of `aiogram.types` by calling `model_rebuild()` on every type to resolve their forward
references. Each rebuild compiles a validator and a serializer holding the type's whole graph of
nested types (Message alone reaches hundreds), so the import costs some 120 MiB of resident
memory, 85 MiB of it compiled validators outside the Python heap (measured with tracemalloc:
38 MiB of Python objects), and seconds of CPU. The bot validates a handful of those types
(Update, Message, User, the results of the methods it calls).

`import_aiogram()` imports aiogram while that rebuild only records the namespace aiogram passes
(the names of all its types), then puts it on every aiogram model (types, methods, the generic
`Response`) where pydantic's own deferred build looks for it (`__pydantic_parent_namespace__`).
Pydantic resolves the names of nested types from the outermost model being built, so each
model that can be built first (a method whose types are still deferred, `Response[Message]`)
needs it, not only the types. The first validation of a model builds it as the eager rebuild
would have, with the same names. tests/delivery/test_lazy_types.py builds every type and
method from that state and checks each one validates and serializes.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

_lock = threading.Lock()


def import_aiogram() -> bool:
    """Import aiogram with deferred type validators; False when it was already imported (by
    someone else, eagerly), which changes nothing but the memory it costs."""
    with _lock:
        if "aiogram" in sys.modules:
            return False
        from pydantic import BaseModel

        eager = BaseModel.__dict__["model_rebuild"]
        names: dict[str, Any] = {}

        def rebuild(
            cls: type[BaseModel],
            *,
            force: bool = False,
            raise_errors: bool = True,
            _parent_namespace_depth: int = 2,
            _types_namespace: Any = None,
        ) -> bool | None:
            if (
                _types_namespace is not None
                and not force
                and not cls.__pydantic_complete__
                and cls.model_config.get("defer_build")
            ):
                names.update(_types_namespace)
                return None
            return eager.__func__(  # type: ignore[no-any-return]
                cls,
                force=force,
                raise_errors=raise_errors,
                # One frame deeper than pydantic counts: this wrapper's.
                _parent_namespace_depth=_parent_namespace_depth + 1
                if _parent_namespace_depth > 0
                else 0,
                _types_namespace=_types_namespace,
            )

        BaseModel.model_rebuild = classmethod(rebuild)  # type: ignore[assignment,method-assign]
        try:
            import aiogram  # noqa: F401
        finally:
            BaseModel.model_rebuild = eager  # type: ignore[method-assign]
        for cls in _aiogram_models(BaseModel):
            own = cls.__dict__.get("__pydantic_parent_namespace__") or {}
            cls.__pydantic_parent_namespace__ = {**names, **own}
        return True


def _aiogram_models(base: type[BaseModel]) -> list[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    stack = [base]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return [cls for cls in seen if cls.__module__.startswith("aiogram.")]


# What the service receives, builds and calls (bot/delivery, bot/handlers): built ahead by
# `warm()`, so that the first command or alert does not wait for its validators. Anything else
# is built on first use, as correct and a few hundred milliseconds slower once.
WARM_TYPES = (
    "Update",
    "Message",
    "CallbackQuery",
    "ErrorEvent",
    "User",
    "Chat",
    "InlineKeyboardMarkup",
    "InlineKeyboardButton",
    "LinkPreviewOptions",
    "BotCommand",
    "BotCommandScopeChat",
    "BotCommandScopeDefault",
)
WARM_METHODS = (
    "GetMe",
    "GetUpdates",
    "DeleteWebhook",
    "SendMessage",
    "SendPhoto",
    "SendDocument",
    "EditMessageText",
    "EditMessageReplyMarkup",
    "DeleteMessage",
    "AnswerCallbackQuery",
    "SetMyCommands",
)


def warm() -> None:
    """Build the validators of the types and methods the service uses (some 11 MiB and 1-3 s
    of CPU: run it in a worker thread). Does nothing for those already built."""
    import aiogram.methods
    import aiogram.types

    for module, names in ((aiogram.types, WARM_TYPES), (aiogram.methods, WARM_METHODS)):
        for name in names:
            getattr(module, name).model_rebuild(_parent_namespace_depth=0)
