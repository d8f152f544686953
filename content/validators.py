"""Checks on files people upload to the public site."""

import zipfile

from django.core.exceptions import ValidationError

CV_MAX_BYTES = 5 * 1024 * 1024
CV_EXTENSIONS = {"pdf", "docx"}


def validate_cv(upload) -> str:
    """Accept a PDF or DOCX under 5 MB whose content matches its extension; return the extension.

    The browser's content type is not trusted: the file's own first bytes decide.
    """
    name = getattr(upload, "name", "") or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in CV_EXTENSIONS:
        raise ValidationError("Please upload your CV as a PDF or Word (.docx) file.", code="cv_type")
    if upload.size > CV_MAX_BYTES:
        raise ValidationError("Your CV must be smaller than 5 MB.", code="cv_size")
    if upload.size == 0:
        raise ValidationError("The file you chose is empty.", code="cv_empty")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if extension == "pdf" and not head.startswith(b"%PDF-"):
        raise ValidationError("That file is not a readable PDF.", code="cv_content")
    if extension == "docx" and not _is_docx(upload):
        raise ValidationError("That file is not a readable Word (.docx) document.", code="cv_content")
    upload.seek(0)
    return extension


def _is_docx(upload) -> bool:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and "word/document.xml" in names
