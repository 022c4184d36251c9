"""What every spreadsheet cell goes through, whichever file carries it."""

import re

# A spreadsheet reads a cell starting with one of these as a formula (Excel also after a tab or
# carriage return), so text someone typed could run as one on the reader's machine.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Characters XML 1.0 cannot carry at all; openpyxl and python-docx refuse a whole file for one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet cell that can only be read as text.

    A leading apostrophe is the mark spreadsheets themselves use for "this is text"; the rest
    stays as typed, so "-5 days" reads as "'-5 days".
    """
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def xml_safe(text: str) -> str:
    """``text`` without the control characters no XML file can hold (the text rules refuse them
    on the way in; this keeps one old or imported value from breaking a whole report)."""
    return _NOT_XML.sub("", text)
