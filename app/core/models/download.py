"""The byte loop of a pull: each file streams into a `.part` file named after its hash, which the
next run continues with an HTTP Range request; every hash is checked before a file takes its name.

huggingface-hub installed here (2.x) starts every download in a fresh, uniquely named
temporary file and deletes it when the download fails (file_download.py,
`_download_to_tmp_and_move`; huggingface/huggingface_hub#4196), so an interrupted pull would
start again from zero: hence this loop. Nothing a server does can make it write more than the
size the Hub lists, wait longer than MAX_RETRY_AFTER between tries, or keep a trickling
connection alive forever.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...locale import _
from .errors import ChecksumError, DownloadCancelled, ModelsError, OfflineError
from .hub import (IMPORT_HINT, RemoteFile, RemoteRepo, gated_error, hub_endpoint, offline_error,
                  redirect_loop_error, require_hub_client)

# Consecutive failed attempts (no new byte received) before a download gives up; a wait between.
RETRIES = 5
RETRY_WAIT = 1.0
# HTTP answers worth another try later (rate limits, a CDN node down); Retry-After is honoured
# up to MAX_RETRY_AFTER seconds, so a server cannot park a pull for hours.
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_RETRY_AFTER = 60.0
# A server that trickles (a byte every few seconds never trips the read timeout) is cut off when
# less than MIN_RATE bytes per second arrived over the last STALL_WINDOW seconds.
MIN_RATE = 4096
STALL_WINDOW = 60.0
_HASH_BLOCK = 8 * 2**20
_EMIT_EVERY = 0.1  # seconds between progress events (the last one is always sent)


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """One step of a pull's download (stage "download") or of checking its hashes (stage "verify")."""

    stage: Literal["download", "verify"]
    file: str
    file_done: int
    file_total: int
    done: int  # bytes of the whole pull, including what earlier runs already fetched
    total: int
    rate: float  # bytes per second received in this run
    eta: float | None  # seconds left at that rate

ProgressCallback = Callable[[object], None]


class Downloader:
    """Fetches files of one commit into `folder`, continuing `.part` files and checking every hash.

    A file whose hash is wrong is deleted and fetched once more; a second mismatch is an error.
    """

    def __init__(self, remote: RemoteRepo, folder: Path, files: list[RemoteFile], *,
                 progress: ProgressCallback | None = None, cancel: threading.Event | None = None) -> None:
        self.remote, self.folder, self.files = remote, Path(folder), files
        self.progress, self.cancel = progress, cancel
        self.total = sum(f.size for f in files)
        self._done_before: dict[str, int] = {}  # bytes of each file at the start of its current attempt
        self._file_done: dict[str, int] = {}
        self._received = 0
        self._started = time.monotonic()
        self._last_emit = 0.0
        self.unverified: list[str] = []  # files the Hub published no hash for: checked by size only

    def part_path(self, file: RemoteFile) -> Path:
        key = (file.sha256 or file.blob_id or "nohash")[:16]
        return self.folder / f"{file.path}.{key}.part"

    def bytes_on_disk(self) -> int:
        """Bytes already fetched, by this or an earlier (interrupted) run."""
        return sum(self._present(f) for f in self.files)

    def _present(self, file: RemoteFile) -> int:
        final, part = self.folder / file.path, self.part_path(file)
        if final.is_file():
            return min(final.stat().st_size, file.size)
        return min(part.stat().st_size, file.size) if part.is_file() else 0

    def run(self) -> dict[str, str]:
        """Download and verify every file; returns path -> sha256."""
        for f in self.files:
            self._file_done[f.path] = self._present(f)
        return {f.path: self._fetch(f) for f in self.files}

    def _fetch(self, file: RemoteFile) -> str:
        final = self.folder / file.path
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.is_file():  # complete in an earlier run; trust it only after checking it again
            sha256 = self._check(final, file)
            if sha256:
                return sha256
            final.unlink()
            self._set_file_done(file, 0)
        part = self.part_path(file)
        for attempt in (1, 2):
            self._stream(file, part)
            sha256 = self._check(part, file)
            if sha256:
                os.replace(part, final)
                return sha256
            part.unlink(missing_ok=True)
            self._set_file_done(file, 0)
            if attempt == 2:
                raise ChecksumError(_("{repo}: {file} does not match the size and hash the Hub publishes, twice; it "
                                      "was deleted. Try again later, or check a proxy or mirror (HF_ENDPOINT) that "
                                      "may alter files").format(repo=self.remote.repo, file=file.path))
        raise AssertionError("unreachable")

    def _stream(self, file: RemoteFile, part: Path) -> None:
        require_hub_client()
        import httpx2
        from huggingface_hub import constants, hf_hub_url
        from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = hf_hub_url(self.remote.repo, file.path, revision=self.remote.revision, endpoint=hub_endpoint())
        headers = build_hf_headers()  # HF_TOKEN (or the saved login) as a Bearer token
        headers["Accept-Encoding"] = "identity"  # sizes and ranges must be those of the file itself
        failures = 0
        while True:
            have = part.stat().st_size if part.is_file() else 0
            if have > file.size:  # not this file after all: start again
                part.unlink()
                have = 0
            if have == file.size:
                return
            self._set_file_done(file, have)
            request = dict(headers, Range=f"bytes={have}-") if have else headers
            meter = _RateMeter()
            try:
                with get_session().stream("GET", url, headers=request,
                                          timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as response:
                    if response.status_code in RETRY_STATUSES:
                        raise _RetryLater(response.status_code, _retry_after(response))
                    if response.status_code >= 400:
                        response.read()
                        hf_raise_for_status(response)
                    # A server that ignores Range sends the whole file: write it from the start.
                    resumed = response.status_code == 206 and _range_start(response) == have
                    start = have if resumed else 0
                    if not resumed:
                        self._set_file_done(file, 0)
                    self._write_body(file, part, response, start=start, meter=meter)
                return
            except OfflineModeIsEnabled as exc:
                raise offline_error(_("cannot download models: HF_HUB_OFFLINE is set")) from exc
            except GatedRepoError as exc:
                raise gated_error(self.remote.repo) from exc
            except HfHubHTTPError as exc:
                raise ModelsError(_("the Hub refused {repo}/{file}: {status}").format(
                    repo=self.remote.repo, file=file.path, status=exc.response.status_code)) from exc
            except httpx2.TooManyRedirects as exc:
                raise redirect_loop_error(file.path) from exc
            except _RetryLater as exc:
                failures += 1
                if failures >= RETRIES:
                    raise ModelsError(_("the Hub at {endpoint} answered {status} to {file} {n} times in a row; "
                                        "try again later (run the same pull again to resume it)").format(
                                            endpoint=hub_endpoint(), status=exc.status, file=file.path,
                                            n=failures)) from None
                _pause(exc.wait if exc.wait is not None else RETRY_WAIT * 2 ** (failures - 1), self.cancel)
            except (httpx2.TransportError, _TooSlow) as exc:
                # An attempt that brought a good share of bytes is progress; a trickle is not.
                failures = 0 if meter.total >= MIN_RATE * STALL_WINDOW else failures + 1
                if failures >= RETRIES:
                    if isinstance(exc, _TooSlow):
                        raise OfflineError(_("the download of {file} from {endpoint} is too slow (under {rate} "
                                             "bytes per second for {seconds:g} s, {n} times); try again later, "
                                             "or {hint}").format(file=file.path, endpoint=hub_endpoint(),
                                                                 rate=MIN_RATE, seconds=STALL_WINDOW, n=failures,
                                                                 hint=_(IMPORT_HINT))) from None
                    raise offline_error(_("the download of {file} from {endpoint} stopped ({error}); run the same "
                                          "pull again to resume it").format(file=file.path, endpoint=hub_endpoint(),
                                                                            error=type(exc).__name__)) from exc
                _pause(RETRY_WAIT, self.cancel)

    def _write_body(self, file: RemoteFile, part: Path, response, *, start: int,  # noqa: ANN001 - httpx2
                    meter: _RateMeter) -> None:
        """The response body into `part` from byte `start`, never past the size the Hub declared."""
        room = file.size - start
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > room:
            self._oversize(file, part)
        with open(part, "r+b" if start and part.is_file() else "wb") as fh:
            fh.seek(start)
            fh.truncate()
            for chunk in response.iter_bytes():
                if self.cancel is not None and self.cancel.is_set():
                    raise DownloadCancelled("download cancelled; run the same pull again to resume "
                                            "where it stopped")
                if len(chunk) > room:
                    fh.close()
                    self._oversize(file, part)
                fh.write(chunk)
                room -= len(chunk)
                meter.add(len(chunk))
                self._advance(file, len(chunk))

    def _oversize(self, file: RemoteFile, part: Path) -> None:
        part.unlink(missing_ok=True)
        self._set_file_done(file, 0)
        raise ChecksumError(_("{repo}: the server sent more of {file} than the {size} bytes the Hub lists for it; "
                              "the download was stopped and deleted. Check HF_ENDPOINT and any proxy, or try "
                              "again later").format(repo=self.remote.repo, file=file.path, size=file.size))

    def _check(self, path: Path, file: RemoteFile) -> str | None:
        """The file's sha256 when its size and published hash match, else None."""
        size = path.stat().st_size
        if size != file.size:
            return None
        sha256, git = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
        read = 0
        with open(path, "rb") as fh:
            while block := fh.read(_HASH_BLOCK):
                sha256.update(block)
                git.update(block)
                read += len(block)
                self._emit("verify", file, read, force=read == size)
        digest = sha256.hexdigest()
        if file.sha256:
            return digest if digest == file.sha256.lower() else None
        if file.blob_id:
            return digest if git.hexdigest() == file.blob_id.lower() else None
        if file.path not in self.unverified:
            self.unverified.append(file.path)
        return digest

    def _set_file_done(self, file: RemoteFile, n: int) -> None:
        self._file_done[file.path] = n

    def _advance(self, file: RemoteFile, n: int) -> None:
        self._file_done[file.path] += n
        self._received += n
        self._emit("download", file, self._file_done[file.path],
                   force=self._file_done[file.path] >= file.size)

    def _emit(self, stage: Literal["download", "verify"], file: RemoteFile, file_done: int, *, force: bool) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self._last_emit < _EMIT_EVERY):
            return
        self._last_emit = now
        done = sum(self._file_done.values())
        rate = self._received / max(now - self._started, 1e-6)
        eta = (self.total - done) / rate if rate > 0 else None
        self.progress(DownloadProgress(stage, file.path, file_done, file.size, done, self.total, rate, eta))


class _RetryLater(Exception):
    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(status)
        self.status, self.wait = status, wait


class _TooSlow(Exception):
    """Less than MIN_RATE bytes per second over the last STALL_WINDOW seconds."""


class _RateMeter:
    """Bytes of one attempt; raises _TooSlow when a whole window brought less than the minimum rate."""

    def __init__(self) -> None:
        self.total = 0
        self._window_start, self._window_bytes = time.monotonic(), 0

    def add(self, n: int) -> None:
        self.total += n
        self._window_bytes += n
        now = time.monotonic()
        if now - self._window_start >= STALL_WINDOW:
            if self._window_bytes < MIN_RATE * (now - self._window_start):
                raise _TooSlow()
            self._window_start, self._window_bytes = now, 0


def _retry_after(response) -> float | None:  # noqa: ANN001 - an httpx2 response
    """Seconds from `Retry-After` (a number or an HTTP date), within [0, MAX_RETRY_AFTER]; None if absent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _pause(seconds: float, cancel: threading.Event | None) -> None:
    """Wait between attempts; a cancel ends the wait at once (the loop then sees it)."""
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise DownloadCancelled("download cancelled; run the same pull again to resume where it stopped")


def _range_start(response) -> int | None:  # noqa: ANN001 - an httpx2 response
    """The first byte of a 206 answer, from `Content-Range: bytes START-END/TOTAL`."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None
