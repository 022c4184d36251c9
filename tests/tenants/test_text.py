"""The text rules themselves: what each kind of text refuses, and in which words."""

import pytest
from django.core.exceptions import ValidationError

from tenants.text import (
    OneLineText,
    ParagraphText,
    has_visible_text,
    one_line_text,
    paragraph_text,
    reason_text,
    texts_clean,
    trim_invisible,
)

TITLE = one_line_text("the title", 20, missing="Enter a title.")
DESCRIPTION = paragraph_text("the description", 40)
REASON = reason_text(missing="Give a reason to withdraw.")
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3000", "\u2800"]


def refusal(rule, value) -> str:
    with pytest.raises(ValidationError) as refused:
        rule.clean(value)
    return " ".join(refused.value.messages)


def test_a_title_is_trimmed_of_spaces_and_invisible_characters_at_its_ends():
    assert TITLE.clean("\ufeff  Audit\u200b ") == "Audit"


def test_joiners_inside_a_text_are_kept():
    # Persian and Indic scripts and emoji need the zero-width joiners between letters.
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with a ZWNJ
    assert TITLE.clean(persian) == persian


@pytest.mark.parametrize("invisible", INVISIBLES)
def test_a_required_text_of_invisible_characters_only_is_missing(invisible):
    assert refusal(REASON, f" {invisible}{invisible}\n") == "Give a reason to withdraw."


@pytest.mark.parametrize("invisible", INVISIBLES)
def test_an_optional_text_of_invisible_characters_only_becomes_empty(invisible):
    assert DESCRIPTION.clean(invisible * 3) == ""


@pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028"])
def test_a_title_must_be_on_one_line(line_break):
    assert refusal(TITLE, f"First{line_break}second") == "The title must be on one line."


def test_a_paragraph_keeps_its_line_breaks_and_tabs():
    assert DESCRIPTION.clean("First line\r\n\tsecond line") == "First line\r\n\tsecond line"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x9b"])
def test_control_characters_are_refused_in_titles_and_paragraphs(control):
    assert refusal(TITLE, f"Aud{control}it") == "Remove the control characters from the title."
    assert (
        refusal(DESCRIPTION, f"Aud{control}it")
        == "Remove the control characters from the description."
    )


def test_a_tab_in_a_title_is_named_as_a_tab():
    assert refusal(TITLE, "Audit\tstrategy") == "Remove the tab characters from the title."


def test_a_text_over_its_limit_is_refused_with_the_limit():
    assert refusal(TITLE, "x" * 21) == "The title must be 20 characters or fewer; it has 21."
    assert TITLE.clean("x" * 20) == "x" * 20


def test_the_limit_counts_the_text_without_its_trimmed_ends():
    assert TITLE.clean("  " + "x" * 20 + "\u200b\n") == "x" * 20


def test_a_reason_is_a_paragraph_of_at_most_2000_characters():
    assert REASON.clean("Superseded.\nSee 4.1.") == "Superseded.\nSee 4.1."
    assert (
        refusal(REASON, "x" * 2001) == "The reason must be 2000 characters or fewer; it has 2001."
    )


def test_every_text_of_a_service_is_checked_and_errors_are_keyed_by_field():
    with pytest.raises(ValidationError) as refused:
        texts_clean(title=(TITLE, "One\ntwo"), description=(DESCRIPTION, "ok\x00"))
    assert refused.value.message_dict == {
        "title": ["The title must be on one line."],
        "description": ["Remove the control characters from the description."],
    }


def test_texts_clean_returns_the_cleaned_texts():
    assert texts_clean(title=(TITLE, " Audit "), description=(DESCRIPTION, None)) == {
        "title": "Audit",
        "description": "",
    }


def test_the_model_validators_refuse_what_the_rules_refuse():
    with pytest.raises(ValidationError, match="This text must be on one line"):
        OneLineText()("One\ntwo")
    with pytest.raises(ValidationError, match="only spaces or invisible characters"):
        OneLineText()("\u200b")
    with pytest.raises(ValidationError, match="Remove the control characters from this text"):
        ParagraphText()("a\x00b")
    with pytest.raises(ValidationError, match="5 characters or fewer"):
        ParagraphText(max_length=5)("a\nbcdef")
    OneLineText()("")
    ParagraphText(max_length=5)("a\nb")


def test_visible_text_and_trimming():
    assert not has_visible_text("\u200b \u2060\ufeff")
    assert has_visible_text("\u200ba")
    assert trim_invisible("\u200b\u200d a b \u2060") == "a b"
