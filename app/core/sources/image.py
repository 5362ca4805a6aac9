"""Images (PNG, JPEG, WebP, GIF, TIFF, and HEIC with pillow-heif): size, EXIF, thumbnail, OCR.

An image is stored as one record whatever it holds; its one kind="image" section carries
the text it can be found by: the EXIF description and the OCR text (either may be empty;
the ingest adds the file name). Pillow decodes; EXIF text tags are often not what the
standard says (ImageDescription is "ASCII" but Japanese software writes UTF-8 or
Shift_JIS into it), so they are decoded here rather than trusted.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ...locale import _
from .base import ImageInfo, ParsedDocument, ParseError, Section
from .ocr import recognize_text

THUMBNAIL_PX = 256
OCR_MAX_PX = 4096  # larger photos are scaled down: OCR time grows with pixels, not with text
OCR_MIN_PX = 16  # icons and spacer images hold no readable text (and tesseract errors on them)
_HEIF_SUFFIXES = (".heic", ".heif")
# Placeholders cameras write into ImageDescription; they describe nothing.
_CAMERA_BOILERPLATE = {"OLYMPUS DIGITAL CAMERA", "SONY DSC", "DIGITAL CAMERA", "DCIM", "Default"}
_EXIF_DATE = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_heif_registered = False


def parse(path: Path, data: bytes, *, ocr: bool = True) -> ParsedDocument:
    from PIL import Image, UnidentifiedImageError
    from PIL.ExifTags import Base

    if path.suffix.lower() in _HEIF_SUFFIXES:
        _register_heif(path)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # decode now, so a damaged file fails here and not halfway through
            exif = img.getexif()
            # Read while the file is open: TIFF loads its EXIF sub-IFD lazily.
            description, taken_at = _description(exif), _taken_at(exif)
            width, height = img.size
            if exif.get(Base.Orientation) in (5, 6, 7, 8):  # turned a quarter: shown the other way round
                width, height = height, width
            upright = _upright(img)
            png = _ocr_png(upright) if ocr and min(width, height) >= OCR_MIN_PX else None
            thumbnail = _thumbnail_png(upright)
    except Image.DecompressionBombError:
        raise ParseError(_("{path}: has too many pixels to open safely").format(path=path)) from None
    except UnidentifiedImageError:
        raise ParseError(_("{path}: is damaged or not an image").format(path=path)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ParseError(_("{path}: is damaged or not an image ({reason})").format(path=path, reason=exc)) from None

    warnings: list[str] = []
    ocr_text = None
    if png is not None:
        result = recognize_text(png)
        ocr_text, warnings = result.text, result.warnings
    info = ImageInfo(width=width, height=height, taken_at=taken_at, description=description,
                     thumbnail_png=thumbnail, ocr_text=ocr_text)
    text = "\n".join(part for part in (description, ocr_text or "") if part.strip())
    return ParsedDocument(path, "image", [Section(text, kind="image")], image=info, warnings=warnings)


def _register_heif(path: Path) -> None:
    global _heif_registered
    if _heif_registered:
        return
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        raise ParseError(_("{path}: reading HEIC images needs the pillow-heif package").format(path=path)) from None
    register_heif_opener()
    _heif_registered = True


def _upright(img):
    """The first frame, turned as the EXIF orientation says, in a mode PNG and OCR take."""
    from PIL import ImageOps

    img.seek(0)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    return ImageOps.exif_transpose(img).convert("RGBA" if has_alpha else "RGB")


def _ocr_png(img) -> bytes:
    from PIL import Image

    img = img.convert("RGB")  # transparent pixels would otherwise read as black to tesseract
    if max(img.size) > OCR_MAX_PX:
        img.thumbnail((OCR_MAX_PX, OCR_MAX_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)  # read once, right away: speed over size
    return out.getvalue()


def _thumbnail_png(img) -> bytes:
    from PIL import Image

    thumb = img.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "PNG", optimize=True)
    return out.getvalue()


def _description(exif) -> str:
    from PIL.ExifTags import Base

    parts = []
    raw = exif.get(Base.ImageDescription)
    if isinstance(raw, (str, bytes)):
        parts.append(_ascii_tag_text(raw))
    for tag in (Base.XPTitle, Base.XPComment):
        value = exif.get(tag)
        if value is not None:
            parts.append(_xp_tag_text(value))
    seen, out = set(), []
    for part in (" ".join(p.split()) if "\n" not in p else p.strip() for p in parts):
        if part and part not in seen and part not in _CAMERA_BOILERPLATE:
            seen.add(part)
            out.append(part)
    return "\n".join(out)


def _ascii_tag_text(value: str | bytes) -> str:
    """An EXIF "ASCII" tag as written: Pillow reads it as Latin-1, the bytes are often UTF-8 or Shift_JIS."""
    if isinstance(value, str):
        try:
            value = value.encode("latin-1")
        except UnicodeEncodeError:
            return value.strip("\x00 ")
    value = value.rstrip(b"\x00")
    for codec in ("utf-8", "cp932"):
        try:
            return value.decode(codec).strip()
        except UnicodeDecodeError:
            pass
    return value.decode("latin-1").strip()


def _xp_tag_text(value) -> str:
    """Windows' XP* tags: UTF-16LE in a byte array (Pillow gives bytes, or a tuple of ints)."""
    if isinstance(value, str):
        return value.strip("\x00 ")
    try:
        data = bytes(value)
    except (TypeError, ValueError):
        return ""
    return data.decode("utf-16-le", "replace").rstrip("\x00").strip()


def _taken_at(exif) -> datetime | None:
    from PIL.ExifTags import IFD, Base

    try:
        sub = exif.get_ifd(IFD.Exif)
    except (KeyError, ValueError, OSError):
        sub = {}
    for date_tag, offset_tag, source in ((Base.DateTimeOriginal, Base.OffsetTimeOriginal, sub),
                                         (Base.DateTime, Base.OffsetTime, exif)):
        when = _exif_datetime(source.get(date_tag), sub.get(offset_tag))
        if when is not None:
            return when
    return None


def _exif_datetime(value, offset) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    m = _EXIF_DATE.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None  # absent, or blanked out as "    :  :     :  :  " by the camera
    try:
        when = datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None
    o = _EXIF_OFFSET.match(offset.strip()) if isinstance(offset, str) else None
    if o:  # the camera knew its time zone: keep it, so the moment is exact
        delta = timedelta(hours=int(o.group(2)), minutes=int(o.group(3)))
        when = when.replace(tzinfo=timezone(delta if o.group(1) == "+" else -delta))
    return when
