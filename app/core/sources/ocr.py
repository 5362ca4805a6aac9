"""Text in images: Apple Vision on macOS, the `tesseract` command elsewhere, or nothing.

Both engines get the same normalised PNG (see image.py), so what they see does not depend
on the original format (HEIC, CMYK JPEG, 16-bit TIFF). A missing engine or a failed run is
a warning on the document, never a failure: the image is still indexed by name and EXIF.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from ...locale import N_, _

TESSERACT_TIMEOUT_S = 120
NO_ENGINE = N_("no OCR engine: install tesseract with Japanese data (tesseract-ocr-jpn) to search text in images")


@dataclass(slots=True)
class OcrResult:
    text: str | None  # None when no engine ran
    warnings: list[str] = field(default_factory=list)


def recognize_text(png: bytes) -> OcrResult:
    if vision_available():
        try:
            return _vision(png)
        except Exception as exc:  # noqa: BLE001 — a broken PyObjC install must not fail the image
            return OcrResult(None, [_("OCR failed: Apple Vision: {reason}").format(reason=exc)])
    tesseract = shutil.which("tesseract")
    if tesseract:
        return _tesseract(tesseract, png)
    return OcrResult(None, [_(NO_ENGINE)])


def vision_available() -> bool:
    if sys.platform != "darwin":
        return False
    import importlib.util

    return importlib.util.find_spec("Vision") is not None


def _tesseract(exe: str, png: bytes) -> OcrResult:
    warnings = []
    langs = "jpn+eng"
    if "jpn" not in _tesseract_languages(exe, _mtime(exe)):
        langs = "eng"
        warnings.append(_("tesseract has no Japanese data (install tesseract-ocr-jpn); read English only"))
    fd, image = tempfile.mkstemp(suffix=".png", prefix="ippon-ocr-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        proc = subprocess.run([exe, image, "stdout", "-l", langs], capture_output=True,
                              timeout=TESSERACT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return OcrResult(None, warnings + [_("OCR gave up after {s} s").format(s=TESSERACT_TIMEOUT_S)])
    except OSError as exc:
        return OcrResult(None, warnings + [_("OCR could not run tesseract ({reason})").format(reason=exc.strerror or exc)])
    finally:
        os.unlink(image)
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return OcrResult(None, warnings + [_("OCR failed: tesseract: {reason}").format(reason=reason[-1] if reason else proc.returncode)])
    text = proc.stdout.decode("utf-8", "replace").replace("\r\n", "\n").replace("\f", "").strip()
    return OcrResult(text, warnings)


def _mtime(exe: str) -> float:
    try:
        return os.stat(exe).st_mtime
    except OSError:
        return 0.0


@functools.lru_cache(maxsize=8)
def _tesseract_languages(exe: str, mtime: float) -> frozenset[str]:
    """The installed language data (`--list-langs`); cached per binary, once per run."""
    try:
        proc = subprocess.run([exe, "--list-langs"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    # Tesseract 3 printed the list to stderr, 4+ to stdout; the first line is a caption.
    lines = (proc.stdout + b"\n" + proc.stderr).decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and " " not in line.strip())


def _vision(png: bytes) -> OcrResult:
    """Apple Vision's text recognizer (macOS 10.15+; Japanese from macOS 13)."""
    import objc
    import Vision
    from Foundation import NSData

    warnings = []
    with objc.autorelease_pool():
        request = Vision.VNRecognizeTextRequest.alloc().init()
        request.setRecognitionLevel_(Vision.VNRequestTextRecognitionLevelAccurate)
        request.setUsesLanguageCorrection_(True)
        try:
            supported, _error = request.supportedRecognitionLanguagesAndReturnError_(None)  # macOS 12+
        except AttributeError:
            supported = None
        wanted = [lang for lang in ("ja-JP", "en-US") if supported is None or lang in supported]
        if "ja-JP" not in wanted:
            warnings.append(_("this macOS cannot read Japanese in images (needs macOS 13 or later)"))
        request.setRecognitionLanguages_(wanted or ["en-US"])
        handler = Vision.VNImageRequestHandler.alloc().initWithData_options_(
            NSData.dataWithBytes_length_(png, len(png)), None)
        ok, error = handler.performRequests_error_([request], None)
        if not ok:
            return OcrResult(None, warnings + [f"OCR failed: Vision: {error.localizedDescription() if error else 'unknown error'}"])
        lines = []
        for observation in request.results() or []:
            candidates = observation.topCandidates_(1)
            if candidates:
                lines.append(str(candidates[0].string()))
    return OcrResult("\n".join(lines), warnings)
