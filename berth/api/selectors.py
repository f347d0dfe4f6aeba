"""Label and field selectors, parsed and matched as Kubernetes does.

``LabelSelector`` is a conjunction of requirements (``app=web``, ``tier!=db``,
``env in (a,b)``, ``env notin (c)``, ``release``, ``!canary``); it comes either
from query text (``LabelSelector.parse``) or from an object's
``metav1.LabelSelector`` (``from_spec`` / ``from_label_selector``), and both
forms render back to text with ``str()``. ``FieldSelector`` is a conjunction of
``path=value`` / ``path!=value`` terms over generic dotted paths into the
object (``metadata.name``, ``spec.nodeName``, ``status.phase``). Bad text raises
``SelectorError`` (a BadRequest), so the server can return it directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from berth.api.errors import SelectorError
from berth.api.validation.names import label_value_errors, qualified_name_errors

_OPS_SET = ("in", "notin")
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=,()<>]+)")


@dataclass(frozen=True)
class Requirement:
    """One term: ``key op values``; op is =, !=, in, notin, exists, !, gt, lt."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if not present or value is None:
            return False
        try:
            number, bound = int(value), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound

    def __str__(self) -> str:
        if self.op == "exists":
            return self.key
        if self.op == "!":
            return f"!{self.key}"
        if self.op in _OPS_SET:
            return f"{self.key} {self.op} ({','.join(self.values)})"
        symbol = {"gt": ">", "lt": "<"}.get(self.op, self.op)
        return f"{self.key}{symbol}{self.values[0]}"


def _check_key(key: str) -> None:
    errors = qualified_name_errors(key)
    if errors:
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r}: "
                            f"{'; '.join(errors)}")


def _check_value(value: str) -> None:
    errors = label_value_errors(value)
    if errors:
        raise SelectorError(f"unable to parse requirement: invalid label value: {value!r}: "
                            f"at key: {'; '.join(errors)}")


@dataclass(frozen=True)
class LabelSelector:
    """A set of requirements that must all hold; empty matches everything."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # a nil metav1.LabelSelector: matches no object

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse query text; SelectorError naming the problem and the text."""
        if text is None or not text.strip():
            return cls()
        try:
            return cls(tuple(_Parser(text).parse()))
        except SelectorError as exc:
            raise SelectorError(f"unable to parse label selector {text!r}: {exc.message}") \
                from None

    @classmethod
    def from_spec(cls, match_labels: Mapping[str, str] | None = None,
                  match_expressions: list[Mapping[str, Any]] | None = None) -> LabelSelector:
        """From metav1.LabelSelector's parts (In, NotIn, Exists, DoesNotExist)."""
        reqs: list[Requirement] = []
        for key, value in sorted((match_labels or {}).items()):
            _check_key(key)
            _check_value(str(value))
            reqs.append(Requirement(key, "=", (str(value),)))
        ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
        for expr in match_expressions or []:
            key = str(expr.get("key", ""))
            op = ops.get(str(expr.get("operator", "")))
            if op is None:
                raise SelectorError(f"{expr.get('operator')!r} is not a valid label selector "
                                    "operator")
            values = tuple(sorted({str(v) for v in expr.get("values") or ()}))
            _check_key(key)
            if op in _OPS_SET and not values:
                raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
            if op in ("exists", "!") and values:
                raise SelectorError("values set must be empty for exists and does not exist")
            reqs.append(Requirement(key, op, values))
        return cls(tuple(reqs))

    @classmethod
    def from_label_selector(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """From a whole metav1.LabelSelector dict; None selects nothing, {} everything."""
        if selector is None:
            return cls(nothing=True)
        return cls.from_spec(selector.get("matchLabels"), selector.get("matchExpressions"))

    def is_empty(self) -> bool:
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


class _Parser:
    """Recursive-descent parser over the tokens of a label selector."""

    def __init__(self, text: str) -> None:
        self.tokens = [m.group(1) for m in _TOKEN.finditer(text) if m.group(1)]
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise SelectorError("unable to parse requirement: unexpected character")
        self.pos = 0

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _next(self) -> str:
        token = self._peek()
        self.pos += 1
        return token

    def parse(self) -> list[Requirement]:
        reqs = [self._requirement()]
        while self._peek() == ",":
            self._next()
            reqs.append(self._requirement())
        if self._peek():
            raise SelectorError(f"found '{self._peek()}', expected: ',' or 'end of string'")
        return reqs

    def _requirement(self) -> Requirement:
        token = self._next()
        if token == "!":
            key = self._identifier(self._next())
            return Requirement(key, "!")
        key = self._identifier(token)
        op = self._peek()
        if op in ("", ","):
            return Requirement(key, "exists")
        self._next()
        if op in _OPS_SET:
            return Requirement(key, op, self._value_set())
        if op in ("=", "==", "!=", ">", "<"):
            value = self._value()
            if op in (">", "<"):
                if not value.lstrip("-").isdigit():
                    raise SelectorError(f"for 'Gt', 'Lt' operators, the value must be an "
                                        f"integer: {value!r}")
                return Requirement(key, "gt" if op == ">" else "lt", (value,))
            _check_value(value)
            return Requirement(key, "=" if op in ("=", "==") else "!=", (value,))
        raise SelectorError(f"found '{op}', expected: '=', '!=', '==', 'in', notin'")

    def _value(self) -> str:
        """The value after =, ==, != (may be empty: ``key=`` selects empty values)."""
        if self._peek() in ("", ","):
            return ""
        return self._identifier(self._next(), is_value=True)

    def _identifier(self, token: str, is_value: bool = False) -> str:
        if token in ("", ",", "(", ")", "=", "==", "!=", "!", "<", ">"):
            raise SelectorError(f"found '{token}', expected: identifier")
        if not is_value:
            _check_key(token)
        return token

    def _value_set(self) -> tuple[str, ...]:
        if self._next() != "(":
            raise SelectorError("found '" + self.tokens[self.pos - 1] + "', expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            token = self._next()
            if token == ")":
                if expect_value and values:
                    values.append("")
                break
            if token == "":
                raise SelectorError("found 'end of string', expected: ')'")
            if token == ",":
                if expect_value:
                    values.append("")
                expect_value = True
                continue
            _check_value(token)
            values.append(token)
            expect_value = False
        if not values:
            raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
        return tuple(sorted(set(values)))


# --- field selectors ----------------------------------------------------------

@dataclass(frozen=True)
class FieldTerm:
    path: str
    op: str  # "=" or "!="
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        found = field_value(obj, self.path)
        return (found == self.value) == (self.op == "=")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.path}{self.op}{escaped}"


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The text at a dotted path (``spec.nodeName``); "" when absent, bools lowercase."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


@dataclass(frozen=True)
class FieldSelector:
    """Terms ``path=value``/``path==value``/``path!=value`` that must all hold."""

    terms: tuple[FieldTerm, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> FieldSelector:
        if text is None or not text.strip():
            return cls()
        terms = []
        for part in _split_unescaped(text, ","):
            terms.append(_parse_term(part, text))
        return cls(tuple(terms))

    @classmethod
    def equals(cls, **paths: str) -> FieldSelector:
        """Convenience: FieldSelector.equals(**{"spec.nodeName": "n1"})."""
        return cls(tuple(FieldTerm(p, "=", v) for p, v in paths.items()))

    def is_empty(self) -> bool:
        return not self.terms

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(term.matches(obj) for term in self.terms)

    def requires(self, path: str) -> str | None:
        """The value an ``=`` term demands for ``path`` (for indexed lookups)."""
        for term in self.terms:
            if term.path == path and term.op == "=":
                return term.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    if escaped:
        current += "\\"
    parts.append(current)
    return parts


def _unescape(value: str, text: str) -> str:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise SelectorError(f"invalid field selector {text!r}: invalid escape sequence "
                                    f"'\\{char}'")
            out += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=":
            raise SelectorError(f"invalid field selector {text!r}: unescaped '=' in value")
        else:
            out += char
    if escaped:
        raise SelectorError(f"invalid field selector {text!r}: trailing backslash")
    return out


def _parse_term(part: str, text: str) -> FieldTerm:
    for op, norm in (("!=", "!="), ("==", "="), ("=", "=")):
        index = part.find(op)
        if index > 0:
            path = part[:index].strip()
            if not re.fullmatch(r"[A-Za-z0-9_.\-/]+", path):
                break
            return FieldTerm(path, norm, _unescape(part[index + len(op):].strip(), text))
    raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
