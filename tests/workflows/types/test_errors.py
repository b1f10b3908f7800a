"""One error enum: every member documented, every error raised names one, and no branch reads message text.

Static checks over the source (the AST), so a new raise without a type fails here before it ships.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from tests import ROOT
from workflows.types import errors
from workflows.types.errors import ErrorType, NotReadyError, RemoteOAuthError

PACKAGES = ("workflows", "worker", "sandbox")
"""Our code: what ships (bench/ and tests/ raise nothing a caller branches on)."""
TEXT_METHODS = frozenset({"startswith", "endswith", "find", "index", "count", "lower", "casefold", "upper"})


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def all_subclasses(cls: type[RemoteOAuthError]) -> set[type[RemoteOAuthError]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *all_subclasses(sub)}
    return found


def our_error_classes() -> set[type[RemoteOAuthError]]:
    """Every ``RemoteOAuthError`` subclass defined in our packages (each module imported to find them)."""
    for package in PACKAGES:
        for module in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    return all_subclasses(RemoteOAuthError)


def called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def names_a_type(value: ast.expr) -> str | None:
    """Why ``value`` (a ``type=`` or ``kind=``) does not name an ErrorType, or None when it does."""
    if isinstance(value, ast.Constant | ast.JoinedStr):
        return "a literal: use ErrorType"
    if (
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "ErrorType"
        and value.attr not in ErrorType.__members__
    ):
        return f"ErrorType has no member {value.attr}"
    return None  # ErrorType.X, or a type passed on (cause.type, kind...) that came from one


def test_every_error_type_is_documented() -> None:
    """Each ErrorType member has a docstring under it saying when it is raised or reported."""
    tree = ast.parse(Path(errors.__file__).read_text())
    enum = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ErrorType")
    documented = {
        target.id
        for node, after in zip(enum.body, enum.body[1:], strict=False)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
        and isinstance(after, ast.Expr)
        and isinstance(after.value, ast.Constant)
        and isinstance(after.value.value, str)
        and after.value.value.strip()
    }
    assert documented == set(ErrorType.__members__)


def test_every_error_class_has_a_kind() -> None:
    """Every RemoteOAuthError subclass of ours says its ErrorType, and the module docstring draws the tree."""
    classes = our_error_classes()
    assert {c.__name__ for c in classes} >= {"ConfigurationError", "InputError", "MissingSettingsError"}
    for cls in classes:
        assert isinstance(cls.default_kind, ErrorType), cls
    for cls in all_subclasses(RemoteOAuthError) & {getattr(errors, n) for n in errors.__all__}:
        assert cls.__name__ in (errors.__doc__ or ""), cls


def test_a_kind_given_wins_over_the_default() -> None:
    """``kind`` is the refusal's own type when one is given (the web app branches on it)."""
    assert (
        NotReadyError("expired", kind=ErrorType.CONSENT_STATE_EXPIRED).kind is ErrorType.CONSENT_STATE_EXPIRED
    )
    assert NotReadyError("no token").kind is ErrorType.TOKEN_UNAVAILABLE
    assert (ErrorType.known("InvalidGrant"), ErrorType.known("SomethingElse")) == (
        ErrorType.INVALID_GRANT,
        None,
    )


def test_every_application_error_names_an_error_type() -> None:
    """``ApplicationError(..., type=...)`` everywhere, the type never a literal string."""
    problems, seen = [], 0
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called_name(node) == "ApplicationError":
                seen += 1
                value = keyword(node, "type")
                why = "no type=" if value is None else names_a_type(value)
                if why:
                    problems.append(f"{where(path, node)}: {why}")
    assert seen > 10  # the check looks where the raises are
    assert problems == []


def test_every_remote_oauth_error_names_an_error_type() -> None:
    """A RemoteOAuthError is raised through a class with a default kind, or with ``kind=ErrorType...``."""
    classes = {c.__name__ for c in our_error_classes()}
    problems, seen = [], 0
    for path, tree in sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = called_name(node)
            if name == "RemoteOAuthError":
                problems.append(f"{where(path, node)}: raise a subclass (the base has no kind)")
            elif name in classes:
                seen += 1
                value = keyword(node, "kind")
                why = None if value is None else names_a_type(value)
                if why:
                    problems.append(f"{where(path, node)}: {why}")
    assert seen > 20
    assert problems == []


def _text_of(handler: ast.ExceptHandler, node: ast.AST) -> bool:
    """``node`` reads the caught error's text: ``str(err)``, ``err.message`` or ``err.args``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and called_name(sub) in {"str", "repr"} and sub.args:
            arg = sub.args[0]
            if isinstance(arg, ast.Name) and arg.id == handler.name:
                return True
        if (
            isinstance(sub, ast.Attribute)
            and sub.attr in {"message", "args"}
            and isinstance(sub.value, ast.Name)
            and sub.value.id == handler.name
        ):
            return True
    return False


def test_nothing_branches_on_message_text() -> None:
    """No ``except ... as err`` compares or searches the error's text: branches read its type."""
    problems = []
    for path, tree in sources():
        for handler in ast.walk(tree):
            if not isinstance(handler, ast.ExceptHandler) or handler.name is None:
                continue
            for node in ast.walk(handler):
                tests = isinstance(node, ast.Compare) or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TEXT_METHODS
                )
                if tests and _text_of(handler, node):
                    problems.append(where(path, node))
    assert problems == []


def test_values_never_change() -> None:
    """The values histories, statuses and callers store: a rename would strand every one of them."""
    assert {member.name: member.value for member in ErrorType} == {
        "TRANSPORT": "Transport",
        "TIMEOUT": "Timeout",
        "RATE_LIMITED": "RateLimited",
        "SERVER_ERROR": "ServerError",
        "TEMPORARILY_UNAVAILABLE": "TemporarilyUnavailable",
        "INVALID_GRANT": "InvalidGrant",
        "INVALID_CLIENT": "InvalidClient",
        "UNAUTHORIZED_CLIENT": "UnauthorizedClient",
        "UNSUPPORTED_GRANT_TYPE": "UnsupportedGrantType",
        "INVALID_SCOPE": "InvalidScope",
        "INVALID_REQUEST": "InvalidRequest",
        "MALFORMED_RESPONSE": "MalformedResponse",
        "MISCONFIGURED": "Misconfigured",
        "REQUEST_REJECTED": "RequestRejected",
        "UNAUTHORIZED": "Unauthorized",
        "COMPANY_MISMATCH": "CompanyMismatch",
        "CALLBACK_REJECTED": "CallbackRejected",
        "CONSENT_STATE_EXPIRED": "ConsentStateExpired",
        "TOKEN_UNAVAILABLE": "TokenUnavailable",
        "ACTIVITY_FAILED": "ActivityFailed",
        "STATUS_UNAVAILABLE": "StatusUnavailable",
        "NOT_FOUND": "NotFound",
        "INVALID_INPUT": "InvalidInput",
        "CANNOT_REACH_TEMPORAL": "CannotReachTemporal",
    }
