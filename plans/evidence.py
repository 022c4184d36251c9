"""What an evidence upload must be: a size limit, an allowed type confirmed by its content, a
file name that is safe to show and to offer back for download, and no virus ClamAV knows of."""

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.template.defaultfilters import filesizeformat

from plans.scanning import ScannerUnavailable, Verdict, upload_scan

# Extension -> (content type, the bytes a genuine file starts with; None when text).
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    ".pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (b"PK\x03\x04",),
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".txt": ("text/plain", None),
    ".csv": ("text/csv", None),
}
MAX_NAME_LENGTH = 150


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str

    def stored_fields(self) -> dict:
        """What an evidence row, or a file waiting for its virus check, keeps of the file."""
        return {
            "original_name": self.name,
            "storage_key": self.storage_key,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
        }


def allowed_extensions_text() -> str:
    return ", ".join(sorted(ext.lstrip(".").upper() for ext in ALLOWED_TYPES))


def clean_file_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise ValidationError("The file has no name.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValidationError("The file name contains control characters; rename the file.")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise ValidationError("The file name must not contain a path; rename the file.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"The file name is {len(name)} characters long; keep it to {MAX_NAME_LENGTH}."
        )
    return name


def check_upload(upload) -> CheckedUpload:
    """Refuse anything too large, of a type we do not accept, or whose content is not that type.

    Reads the upload once, hashing as it goes; raises ValidationError with a message for the
    person uploading.
    """
    name = clean_file_name(getattr(upload, "name", ""))
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            f"The file is {filesizeformat(upload.size)}; evidence files can be at most "
            f"{filesizeformat(limit)}."
        )
    if upload.size == 0:
        raise ValidationError("The file is empty.")
    extension = PurePosixPath(name).suffix.lower()
    if extension not in ALLOWED_TYPES:
        raise ValidationError(
            f"Files of type '{extension or 'none'}' are not accepted. "
            f"Upload one of: {allowed_extensions_text()}."
        )
    content_type, signatures = ALLOWED_TYPES[extension]

    digest = hashlib.sha256()
    size = 0
    head = b""
    upload.seek(0)
    for chunk in upload.chunks():
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        size += len(chunk)
        if size > limit:
            raise ValidationError(
                f"The file is larger than {filesizeformat(limit)}, the most evidence can be."
            )
        digest.update(chunk)
    upload.seek(0)
    if signatures is not None and not head.startswith(signatures):
        raise ValidationError(
            f"The file's content is not a genuine {extension.lstrip('.').upper()} file."
        )
    if signatures is None and b"\x00" in head:
        raise ValidationError(f"The file is not plain text, as a {extension} file should be.")
    return CheckedUpload(
        name=name,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        storage_key=secrets.token_hex(16) + extension,
    )


# What the uploader reads when the scanner finds a virus: what it found is for the record of
# changes, not for the page.
VIRUS_FOUND = (
    "The file was not accepted: a virus was found in it. It has been deleted and your "
    "organisation's administrators have been told. Check your computer with your IT team "
    "before uploading it again."
)


def virus_scan(file) -> Verdict:
    """Ask the virus scanner about ``file``. Raises ScannerUnavailable when it could not be
    checked, for whatever reason; the caller keeps the file in quarantine then, never accepts it.

    With scanning off (development and the demo only; production refuses to start so) every
    file passes unchecked."""
    if not settings.EVIDENCE_SCANNING:
        return Verdict()
    if not settings.CLAMD_URL:
        raise ScannerUnavailable("No virus scanner is configured: CLAMD_URL is not set.")
    return upload_scan(file, url=settings.CLAMD_URL, timeout=settings.CLAMD_TIMEOUT_SECONDS)


def quarantine_storage() -> FileSystemStorage:
    """Where files wait for a virus check: apart from the evidence, and served by nothing."""
    return FileSystemStorage(
        location=settings.QUARANTINE_ROOT,
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )
