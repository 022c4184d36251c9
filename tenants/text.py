"""The rules every free text keeps, whichever way it comes in: a page, the operator's admin, an
import, a direct call to a service.

PostgreSQL refuses a NUL byte, and titles and names travel in e-mail subjects and headers, which
cannot hold a line break. People also paste from documents and e-mails, bringing characters that
show nothing. So:

- no control characters anywhere, except tabs and line breaks inside paragraphs;
- a title, name or reference is one line;
- a text that must be given must contain something visible: white space and invisible format
  characters (zero-width spaces and joiners, word joiners, byte-order marks) count for nothing,
  and are trimmed from both ends of every text;
- every text has a length limit, and the message says what it is.

Each kind of text is a ``TextRule``, made by ``one_line_text``, ``paragraph_text`` or
``reason_text``. Services clean what they are given with ``texts_clean`` (errors keyed by field),
forms take their fields from ``TextRule.field`` and models list ``OneLineText`` or
``ParagraphText`` as validators, so every way in refuses the same things in the same words.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.deconstruct import deconstructible

PARAGRAPH_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000

# Characters that show nothing although Unicode does not call them white space or format
# characters: the combining grapheme joiner, Hangul and Khmer fillers, the blank braille cell.
_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
# Everything that starts a new line somewhere: in Python's str.splitlines, in e-mail headers, in
# a browser.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_PARAGRAPH_CONTROLS = frozenset("\n\r\t")


def is_invisible(character: str) -> bool:
    """True for a character that shows nothing on its own: white space, a format character such
    as U+200B ZERO WIDTH SPACE, U+200C/U+200D (zero-width non-joiner and joiner), U+2060 WORD
    JOINER or U+FEFF (the byte-order mark), or a filler that renders blank."""
    return (
        character.isspace()
        or unicodedata.category(character) in ("Cf", "Zs", "Zl", "Zp")
        or character in _BLANK_LOOKING
    )


def trim_invisible(value: str) -> str:
    """``value`` without the white space and invisible characters at either end."""
    start, end = 0, len(value)
    while start < end and is_invisible(value[start]):
        start += 1
    while end > start and is_invisible(value[end - 1]):
        end -= 1
    return value[start:end]


def has_visible_text(value: str) -> bool:
    return any(not is_invisible(character) for character in value)


def _sentence(what: str) -> str:
    return what[:1].upper() + what[1:]


def text_problem(value: str, *, what: str, paragraphs: bool, max_length: int | None) -> str | None:
    """What is wrong with ``value`` as a text named ``what`` ("the title"), in words the person
    can act on, or None. Emptiness is the caller's to judge."""
    if not paragraphs and any(character in _LINE_BREAKS for character in value):
        return f"{_sentence(what)} must be on one line."
    allowed = _PARAGRAPH_CONTROLS if paragraphs else frozenset()
    controls = {
        character
        for character in value
        if unicodedata.category(character) in ("Cc", "Cs") and character not in allowed
    }
    if controls == {"\t"}:
        return f"Remove the tab characters from {what}."
    if controls:
        return f"Remove the control characters from {what}."
    if value and not has_visible_text(value):
        return f"{_sentence(what)} has only spaces or invisible characters: write it in words."
    if max_length is not None and len(value) > max_length:
        return f"{_sentence(what)} must be {max_length} characters or fewer; it has {len(value)}."
    return None


@dataclass(frozen=True)
class TextRule:
    """What one kind of text may be.

    ``what`` names it as a sentence would ("the title"); ``missing`` is the message when it is
    left empty, and an empty ``missing`` makes the text optional.
    """

    what: str
    max_length: int
    paragraphs: bool = False
    missing: str = ""

    @property
    def required(self) -> bool:
        return bool(self.missing)

    def clean(self, value: str | None) -> str:
        """``value`` trimmed of blank and invisible characters at its ends, or ValidationError
        saying what to change. An optional text with nothing visible in it becomes ""."""
        value = trim_invisible(value or "")
        if not value:
            if self.required:
                raise ValidationError(self.missing, code="required")
            return ""
        problem = text_problem(
            value, what=self.what, paragraphs=self.paragraphs, max_length=self.max_length
        )
        if problem:
            raise ValidationError(problem, code="text")
        return value

    def field(self, **kwargs) -> TextField:
        """A form field keeping this rule; a paragraph gets a text area."""
        if self.paragraphs:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        return TextField(rule=self, **kwargs)


def one_line_text(what: str, max_length: int, *, missing: str = "") -> TextRule:
    """A title, name, reference or search: one line."""
    return TextRule(what=what, max_length=max_length, missing=missing)


def paragraph_text(
    what: str, max_length: int = PARAGRAPH_MAX_LENGTH, *, missing: str = ""
) -> TextRule:
    """A description, statement or update: line breaks and tabs allowed."""
    return TextRule(what=what, max_length=max_length, paragraphs=True, missing=missing)


def reason_text(*, missing: str = "", what: str = "the reason") -> TextRule:
    """The reason or comment given with a workflow step; required when ``missing`` is given."""
    return paragraph_text(what, REASON_MAX_LENGTH, missing=missing)


SEARCH = one_line_text("the search", 200)


def texts_clean(**texts: tuple[TextRule, str | None]) -> dict[str, str]:
    """Clean each ``field=(rule, value)``; every failure together as one ValidationError keyed by
    field, so a service reports all of them at once, beside the fields a form shows."""
    cleaned, errors = {}, {}
    for name, (rule, value) in texts.items():
        try:
            cleaned[name] = rule.clean(value)
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


class TextField(forms.CharField):
    """A form field for a ``TextRule``: the rule's own messages, server-side only (no maxlength
    attribute, which cuts text off silently as it is typed or pasted)."""

    def __init__(self, *, rule: TextRule, **kwargs):
        self.rule = rule
        kwargs.setdefault("required", rule.required)
        super().__init__(strip=False, **kwargs)
        if rule.missing:
            self.error_messages["required"] = rule.missing
        # Django's own check for NUL says less than the rule does.
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value) -> str:
        return trim_invisible(super().to_python(value))

    def validate(self, value: str) -> None:
        super().validate(value)
        if value:
            self.rule.clean(value)


@deconstructible
class OneLineText:
    """The model's validator for a title, name or reference: what the operator's admin and any
    import must keep too. The field's own max_length limits its length."""

    what = "this text"
    paragraphs = False

    def __init__(self, max_length: int | None = None):
        self.max_length = max_length

    def __call__(self, value: str) -> None:
        problem = text_problem(
            value or "", what=self.what, paragraphs=self.paragraphs, max_length=self.max_length
        )
        if problem:
            raise ValidationError(problem, code="text")

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.max_length == other.max_length

    def __hash__(self) -> int:
        return hash((type(self), self.max_length))


@deconstructible
class ParagraphText(OneLineText):
    """The model's validator for a paragraph of text, with its length limit."""

    paragraphs = True
