"""Every error privacy defines is a PrivacyError, so a caller catches one base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import privacy
from privacy.errors import PrivacyError


def test_every_privacy_error_derives_from_the_one_base() -> None:
    defined = []
    for info in pkgutil.iter_modules(privacy.__path__, "privacy."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                defined.append(cls)
    names = {cls.__name__ for cls in defined}
    assert {"AccessError", "DataMapError", "DsrError", "IncidentError", "NoticeRuleError"} <= names
    assert [c.__name__ for c in defined if not issubclass(c, PrivacyError)] == []
    assert issubclass(PrivacyError, ValueError)  # what callers caught before the base existed
