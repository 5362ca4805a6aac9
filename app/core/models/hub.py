"""Files from the Hugging Face Hub: a revision's file list with sizes and hashes (the byte loop
that fetches them is download.py).

huggingface-hub does the talking (its session with the offline switch, proxy settings and
token headers; `HfApi.model_info`; `hf_hub_url`). Everything the Hub lists is untrusted: a
name, size or hash that could not safely become a file here refuses the whole list, naming it.

The endpoint and token are read from the environment on every call (HF_ENDPOINT, HF_TOKEN),
never cached at import, so a test or a user may set them at any time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ...locale import N_, _
from .errors import ModelsError, OfflineError, UnknownModelError

DEFAULT_ENDPOINT = "https://huggingface.co"
# The huggingface-hub this module is written against: 2.x (httpx2, `get_session().stream`).
HUB_CLIENT_REQUIREMENT = "huggingface-hub>=2.0,<3"
# Hub names become file names here: keep every component within common file-system limits,
# leaving room for the `.<hash>.part` suffix.
MAX_NAME_BYTES = 200
MAX_PATH_CHARS = 1000
# A file list is JSON of a few hundred bytes per file: a large repo's is well under a megabyte.
MAX_LIST_BYTES = 64 * 2**20
LIST_SECONDS = 120.0
_HEX = re.compile(r"[0-9a-f]+")

IMPORT_HINT = N_("download the model on a machine with internet access and install it here with "
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




def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def is_offline() -> bool:
    """HF_HUB_OFFLINE, read now as well as what huggingface-hub read when it was imported."""
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def offline_error(reason: str) -> OfflineError:
    return OfflineError(_("{reason}. If this machine is offline, {hint}").format(reason=reason, hint=_(IMPORT_HINT)))


def require_hub_client() -> None:
    """huggingface-hub 2.x, or a clear error naming the version to install (1.x lacks httpx2)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("huggingface-hub")
    except PackageNotFoundError:
        found = None
    major = int(found.split(".")[0]) if found and found.split(".")[0].isdigit() else 0
    if found is None or major != 2:
        raise ModelsError(_("downloading models needs {requirement} (found {found}): please install it "
                            "(pip install '{requirement}')").format(requirement=HUB_CLIENT_REQUIREMENT,
                                                                     found=found or _("none")))


def gated_error(repo: str) -> ModelsError:
    return ModelsError(_("{repo} is gated: accept its licence on the model's page ({url}) with your Hugging Face "
                         "account, then set HF_TOKEN to an access token of that account").format(
                             repo=repo, url=f"{DEFAULT_ENDPOINT}/{repo}"))


def redirect_loop_error(what: str) -> ModelsError:
    return ModelsError(_("the Hub at {endpoint} redirected {what} too many times (a redirect loop); check "
                         "HF_ENDPOINT and any proxy, or try again later").format(endpoint=hub_endpoint(), what=what))


def repo_files(repo: str, *, revision: str = "main") -> RemoteRepo:
    """The commit that `revision` points at and its files, with sizes and hashes."""
    if is_offline():
        raise offline_error(_("cannot download models: HF_HUB_OFFLINE is set"))
    require_hub_client()
    import httpx2
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    endpoint = hub_endpoint()
    try:
        info = _model_info(repo, revision, endpoint)
    except OfflineModeIsEnabled as exc:
        raise offline_error(_("cannot download models: HF_HUB_OFFLINE is set")) from exc
    except httpx2.TooManyRedirects as exc:
        raise redirect_loop_error(_("the file list of {repo}").format(repo=repo)) from exc
    except httpx2.TransportError as exc:
        raise offline_error(_("cannot reach the Hugging Face Hub at {endpoint} ({error})").format(
            endpoint=endpoint, error=type(exc).__name__)) from exc
    except GatedRepoError as exc:
        raise gated_error(repo) from exc
    except RevisionNotFoundError as exc:
        raise UnknownModelError(_("{repo} has no revision {revision!r} on {endpoint}").format(
            repo=repo, revision=revision, endpoint=endpoint)) from exc
    except RepositoryNotFoundError as exc:
        raise UnknownModelError(_("{repo} was not found on {endpoint} (or it is private: set HF_TOKEN)").format(
            repo=repo, endpoint=endpoint)) from exc
    except HfHubHTTPError as exc:
        raise ModelsError(_("the Hub at {endpoint} refused the file list of {repo}: {status}").format(
            endpoint=endpoint, repo=repo, status=exc.response.status_code)) from exc
    if not info.sha:
        raise ModelsError(_("the Hub at {endpoint} gave no commit for {repo}; is HF_ENDPOINT a Hugging Face Hub?")
                          .format(endpoint=endpoint, repo=repo))
    files = tuple(_remote_file(repo, s) for s in info.siblings or ())
    return RemoteRepo(repo, info.sha, files)


def _model_info(repo: str, revision: str, endpoint: str):  # noqa: ANN202 - a huggingface_hub ModelInfo
    """`HfApi.model_info(repo, revision=, files_metadata=True)`, the same request and the same errors,
    but reading at most MAX_LIST_BYTES within LIST_SECONDS: that call reads whatever body a server
    sends, for as long as it sends it."""
    import json
    import time
    from urllib.parse import quote

    import httpx2
    from huggingface_hub.hf_api import ModelInfo
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    url = f"{endpoint}/api/models/{repo}/revision/{quote(revision, safe='')}"
    deadline = time.monotonic() + LIST_SECONDS
    body = bytearray()
    with get_session().stream("GET", url, headers=build_hf_headers(), params={"blobs": True},
                              timeout=30) as response:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_LIST_BYTES or time.monotonic() > deadline:
                raise ModelsError(_("the Hub at {endpoint} sent more than {size} MB, or for longer than {seconds:g} s, "
                                    "as the file list of {repo}; check HF_ENDPOINT and any proxy, or try again "
                                    "later").format(endpoint=endpoint, size=MAX_LIST_BYTES // 2**20,
                                                    seconds=LIST_SECONDS, repo=repo))
        if response.status_code >= 400:
            # The library's own error types, from the bytes read here (the answer was streamed).
            hf_raise_for_status(httpx2.Response(response.status_code, headers=response.headers, content=bytes(body),
                                                request=response.request))
    try:
        return ModelInfo(**json.loads(body))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise ModelsError(_("the Hub at {endpoint} sent a file list of {repo} that is not one ({error}); is "
                            "HF_ENDPOINT a Hugging Face Hub?").format(endpoint=endpoint, repo=repo,
                                                                      error=type(exc).__name__)) from None


def _remote_file(repo: str, sibling) -> RemoteFile:  # noqa: ANN001 - a huggingface_hub RepoSibling
    """One listed file, refused with the reason when its name, size or hashes could not be used safely."""
    name = sibling.rfilename
    size = sibling.size if sibling.size is not None else 0
    sha256 = sibling.lfs.sha256 if sibling.lfs else None
    reason = _unusable_name(name) if isinstance(name, str) else _("the name is not text")
    if reason is None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        reason = _("its size {size} is not a number of bytes").format(size=_shown(size))
    if reason is None and not _is_hex(sha256, 64):
        reason = _("its sha256 {value!r} is not a hash").format(value=_shown(sha256))
    if reason is None and not _is_hex(sibling.blob_id, 40):
        reason = _("its blob id {value!r} is not a hash").format(value=_shown(sibling.blob_id))
    if reason is not None:
        raise ModelsError(_("the Hub at {endpoint} lists a file of {repo} that Ippon refuses to write, "
                            "{name!r}: {reason}").format(endpoint=hub_endpoint(), repo=repo,
                                                          name=_shown(name), reason=reason))
    return RemoteFile(name, size, sha256.lower() if sha256 else None,
                      sibling.blob_id.lower() if sibling.blob_id else None)


def _unusable_name(name: str) -> str | None:
    """Why a Hub file name cannot become a path under the download folder on any system, or None."""
    if not name:
        return _("the name is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return _("the name holds control characters")
    if "\\" in name:
        return _("the name holds a backslash (a folder separator on Windows)")
    if ":" in name:
        return _("the name holds a colon (a drive or stream on Windows)")
    if len(name) > MAX_PATH_CHARS:
        return _("the name is {n} characters long").format(n=len(name))
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return _("the name leaves its folder")
    if any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in parts):
        return _("a part of the name is longer than {n} bytes").format(n=MAX_NAME_BYTES)
    return None


def _is_hex(value: object, length: int) -> bool:
    return value is None or (isinstance(value, str) and len(value) == length and bool(_HEX.fullmatch(value.lower())))


def _shown(value: object) -> str:
    """Untrusted text from a server, bounded for a message."""
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
