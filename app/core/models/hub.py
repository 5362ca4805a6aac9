"""Files from the Hugging Face Hub: a revision's file list with sizes and hashes, then resumable,
verified downloads with progress and cancel.

huggingface-hub does the talking (its session with the offline switch, proxy settings and
token headers; `HfApi.model_info`; `hf_hub_url`). Only the byte loop is Ippon's own: the
huggingface-hub installed here (2.x) starts every download in a fresh, uniquely named
temporary file and deletes it when the download fails (file_download.py,
`_download_to_tmp_and_move`; huggingface/huggingface_hub#4196), so an interrupted pull would
start again from zero. Here each file streams into a `.part` file named after its
hash, which the next run continues with an HTTP Range request.

The endpoint and token are read from the environment on every call (HF_ENDPOINT, HF_TOKEN),
never cached at import, so a test or a user may set them at any time.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import ChecksumError, DownloadCancelled, ModelsError, OfflineError, UnknownModelError

DEFAULT_ENDPOINT = "https://huggingface.co"
# Consecutive failed attempts (no new byte received) before a download gives up; a wait between.
RETRIES = 5
RETRY_WAIT = 1.0
_HASH_BLOCK = 8 * 2**20
_EMIT_EVERY = 0.1  # seconds between progress events (the last one is always sent)

IMPORT_HINT = ("download the model on a machine with internet access and install it here with "
               "`ippon models import PATH` (a GGUF file, an MLX folder or a Hugging Face checkpoint folder)")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    path: str  # inside the repo, with "/" separators
    size: int
    sha256: str | None = None  # LFS files: the content's sha256, which the Hub publishes
    blob_id: str | None = None  # other files: the git blob id (sha1 of "blob <size>\0" + content)


@dataclass(frozen=True, slots=True)
class RemoteRepo:
    repo: str
    revision: str  # the commit every file is fetched at
    files: tuple[RemoteFile, ...]


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


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_offline() -> bool:
    """HF_HUB_OFFLINE, read now as well as what huggingface-hub read when it was imported."""
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def offline_error(reason: str) -> OfflineError:
    return OfflineError(f"{reason}. If this machine is offline, {IMPORT_HINT}")


def repo_files(repo: str, *, revision: str = "main") -> RemoteRepo:
    """The commit that `revision` points at and its files, with sizes and hashes."""
    if is_offline():
        raise offline_error("cannot download models: HF_HUB_OFFLINE is set")
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    endpoint = hub_endpoint()
    try:
        info = HfApi(endpoint=endpoint).model_info(repo, revision=revision, files_metadata=True, timeout=30)
    except OfflineModeIsEnabled as exc:
        raise offline_error("cannot download models: HF_HUB_OFFLINE is set") from exc
    except httpx2.TransportError as exc:
        raise offline_error(f"cannot reach the Hugging Face Hub at {endpoint} ({type(exc).__name__})") from exc
    except GatedRepoError as exc:
        raise ModelsError(f"{repo} is gated: accept its licence on the Hub, then set HF_TOKEN to an access "
                          "token of that account") from exc
    except RevisionNotFoundError as exc:
        raise UnknownModelError(f"{repo} has no revision {revision!r} on {endpoint}") from exc
    except RepositoryNotFoundError as exc:
        raise UnknownModelError(f"{repo} was not found on {endpoint} (or it is private: set HF_TOKEN)") from exc
    except HfHubHTTPError as exc:
        raise ModelsError(f"the Hub at {endpoint} refused the file list of {repo}: {exc.response.status_code}") \
            from exc
    files = tuple(RemoteFile(s.rfilename, int(s.size or 0), s.lfs.sha256 if s.lfs else None, s.blob_id)
                  for s in info.siblings or ())
    if not info.sha:
        raise ModelsError(f"the Hub at {endpoint} gave no commit for {repo}; is HF_ENDPOINT a Hugging Face Hub?")
    return RemoteRepo(repo, info.sha, files)


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
                raise ChecksumError(f"{self.remote.repo}: {file.path} does not match the size and hash the Hub "
                                    "publishes, twice; it was deleted. Try again later, or check a proxy or "
                                    "mirror (HF_ENDPOINT) that may alter files")
        raise AssertionError("unreachable")

    def _stream(self, file: RemoteFile, part: Path) -> None:
        import httpx2
        from huggingface_hub import constants, hf_hub_url
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
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
            got = 0
            try:
                with get_session().stream("GET", url, headers=request,
                                          timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as response:
                    if response.status_code >= 400:
                        response.read()
                        hf_raise_for_status(response)
                    # A server that ignores Range sends the whole file: write it from the start.
                    resumed = response.status_code == 206 and _range_start(response) == have
                    if not resumed:
                        self._set_file_done(file, 0)
                    with open(part, "ab" if resumed else "wb") as fh:
                        for chunk in response.iter_bytes():
                            if self.cancel is not None and self.cancel.is_set():
                                raise DownloadCancelled("download cancelled; run the same pull again to resume "
                                                        "where it stopped")
                            fh.write(chunk)
                            got += len(chunk)
                            self._advance(file, len(chunk))
                return
            except OfflineModeIsEnabled as exc:
                raise offline_error("cannot download models: HF_HUB_OFFLINE is set") from exc
            except HfHubHTTPError as exc:
                raise ModelsError(f"the Hub refused {self.remote.repo}/{file.path}: "
                                  f"{exc.response.status_code}") from exc
            except httpx2.TransportError as exc:
                failures = 0 if got else failures + 1
                if failures >= RETRIES:
                    raise offline_error(f"the download of {file.path} from {hub_endpoint()} stopped "
                                        f"({type(exc).__name__}); run the same pull again to resume it") from exc
                time.sleep(RETRY_WAIT)

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


def _range_start(response) -> int | None:  # noqa: ANN001 - an httpx2 response
    """The first byte of a 206 answer, from `Content-Range: bytes START-END/TOTAL`."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None
