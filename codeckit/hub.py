"""Models from the Hugging Face Hub: `hf:ORG/NAME[@REVISION]` downloaded, converted once, cached by commit.

`fetch_hub_model` resolves the revision (default `main`) to its commit with `huggingface_hub`, downloads the
files the repository's format needs into the hub client's own cache, and keeps the codeckit model
directory (config.yaml + model.safetensors) at `<cache_dir>/hf/<ORG>--<NAME>/<commit>/`. A repository is
either a codeckit model directory (used as is), a SNAC release (config.json with SNAC's keys + weights) or one
checkpoint file of EnCodec 24 kHz (`encodec*.th`), DAC (`weights*.pth` / `dac*.pth`) or Mimi (`tokenizer*.safetensors`
/ `mimi*.safetensors`, moshi's layout); `fmt` overrides the detection. Later calls cost
one request (the revision's commit) and no download; a full commit hash already converted costs none, and
when the hub cannot be reached a revision converted before is used from the cache. Otherwise every hub
failure is one `HubError` naming the repository, the revision, the endpoint and the cause.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeckit.convert import converter
from codeckit.errors import HubError, ModelDirError
from codeckit.modeldir import CONFIG_NAME, DEFAULT_CACHE, WEIGHTS_NAME

HF_PREFIX = "hf:"
FORMATS = ("codeckit", "snac", "encodec", "dac", "mimi")
# transformers layouts codeckit does not read -> the original checkpoint to convert instead
_ORIGINAL_CHECKPOINTS = {
    "encodec": "EnCodec 24 kHz's encodec_24khz-*.th with --from encodec",
    "dac": "descript-audio-codec's weights_*.pth (its GitHub releases) with --from dac",
    "mimi": "moshi's tokenizer-*.safetensors (e.g. in kyutai/moshiko-pytorch-bf16) with --from mimi",
}
# formats converted from one checkpoint file: (file suffixes, words one of which its name holds)
_ONE_FILE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "encodec": ((".th", ".pt", ".pth", ".bin", ".ckpt", ".safetensors"), ("encodec",)),
    "dac": ((".pth", ".pt", ".safetensors"), ("dac", "weights")),
    "mimi": ((".safetensors",), ("mimi", "tokenizer")),
}
DEFAULT_REVISION = "main"
_SPEC = re.compile(r"hf:([A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*)(?:@([^\s@]+))?")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class HubSpec:
    """A parsed `hf:ORG/NAME[@REVISION]`."""

    repo_id: str
    revision: str

    def __str__(self) -> str:
        return f"{HF_PREFIX}{self.repo_id}@{self.revision}"


def is_hub_spec(model: object) -> bool:
    """Whether `model` names a hub repository (`hf:...`) rather than a path or a cached name."""
    return isinstance(model, str) and model.startswith(HF_PREFIX)


def parse_hub_spec(spec: str) -> HubSpec:
    """`hf:ORG/NAME` or `hf:ORG/NAME@REVISION` (a branch, tag or commit hash) -> HubSpec."""
    m = _SPEC.fullmatch(spec)
    if m is None:
        raise ModelDirError(f"'{spec}' is not a hub model name: expected hf:ORG/NAME or hf:ORG/NAME@REVISION")
    return HubSpec(m.group(1), m.group(2) or DEFAULT_REVISION)


def hub_cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where converted hub models are kept: `<cache_dir>/hf` (default `~/.cache/codeckit/models/hf`)."""

    return Path(cache_dir if cache_dir is not None else DEFAULT_CACHE).expanduser() / "hf"


def fetch_hub_model(
    spec: str,
    cache_dir: str | os.PathLike | None = None,
    fmt: str | None = None,
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
) -> Path:
    """The cached codeckit model directory for `spec`, downloading and converting it on first use.

    `endpoint` is the hub's URL (default: the hub client's, i.e. HF_ENDPOINT or https://huggingface.co);
    `hf_cache_dir` the hub client's download cache (default: its own); `token` as huggingface_hub takes it.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ModelDirError(f"unknown hub model format '{fmt}' (known: {', '.join(FORMATS)})")
    ref = parse_hub_spec(spec)
    root = hub_cache_root(cache_dir) / ref.repo_id.replace("/", "--")
    if _COMMIT.fullmatch(ref.revision) and _is_model_dir(root / ref.revision):
        return root / ref.revision
    hub = _Hub(ref, endpoint, hf_cache_dir, token)
    try:
        commit, files = hub.resolve()
    except HubError as e:
        cached = None if e.not_found else _cached_revision(root, ref.revision)
        if cached is None:
            raise
        return cached
    out = root / commit
    if not _is_model_dir(out):
        _convert_into(out, hub, commit, files, fmt)
    _write_ref(root, ref.revision, commit)
    return out


def download_hub_files(
    spec: str,
    choose: Callable[[list[str]], list[str]],
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
) -> Path:
    """The local folder (the hub client's snapshot of the resolved commit) holding the files that `choose` picks
    from the repository's file list: for repositories read as they are, such as transformers SSL encoders."""
    hub = _Hub(parse_hub_spec(spec), endpoint, hf_cache_dir, token)
    commit, files = hub.resolve()
    paths = [hub.download(commit, name) for name in choose(files)]
    if not paths:
        raise ModelDirError(f"{spec}: none of the repository's files is usable ({', '.join(sorted(files)[:12])})")
    return paths[0].parent


def copy_model_dir(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy every file of the model directory `src` into `dst`, each through a temporary name."""
    from codeckit.fileio import atomic_path

    src, out = Path(src), Path(dst)
    for f in sorted(src.rglob("*")):
        if f.is_file():
            with atomic_path(out / f.relative_to(src)) as tmp:
                shutil.copyfile(f, tmp)
    return out


class _Hub:
    """The huggingface_hub calls for one repository, their failures turned into one HubError each."""

    def __init__(self, ref: HubSpec, endpoint: str | None, cache_dir: str | os.PathLike | None, token) -> None:
        try:
            import huggingface_hub  # noqa: F401
        except ImportError:
            raise HubError(f"loading {ref} needs huggingface_hub: pip install 'huggingface_hub>=0.23'") from None
        from huggingface_hub import constants

        self.ref, self.token = ref, token
        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self.cache_dir = None if cache_dir is None else str(Path(cache_dir).expanduser())

    def resolve(self) -> tuple[str, list[str]]:
        """(commit hash of the revision, the repository's file names at that commit)."""
        from huggingface_hub import HfApi

        try:
            info = HfApi(endpoint=self.endpoint, token=self.token, library_name="codeckit").model_info(
                self.ref.repo_id, revision=self.ref.revision
            )
        except _client_errors() as e:
            raise self.error("looking up the revision", e) from None
        if not info.sha:
            raise HubError(f"{self.ref}: {self.endpoint} returned no commit hash for the revision")
        return info.sha, [s.rfilename for s in info.siblings or []]

    def download(self, commit: str, filename: str) -> Path:
        """The local path of `filename` at `commit`, downloaded into the hub client's cache if not there yet."""
        from huggingface_hub import hf_hub_download

        try:
            path = hf_hub_download(
                self.ref.repo_id,
                filename,
                revision=commit,
                cache_dir=self.cache_dir,
                endpoint=self.endpoint,
                token=self.token,
                library_name="codeckit",
            )
        except _client_errors() as e:
            raise self.error(f"downloading {filename} (commit {commit[:12]})", e) from None
        return Path(path)

    def error(self, what: str, cause: BaseException) -> HubError:
        """One sentence: what was tried, on which repository, revision and endpoint, and why it failed."""
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        reason = f"{type(cause).__name__}: {lines[0][:300]}" if lines else type(cause).__name__
        status = getattr(getattr(cause, "response", None), "status_code", None)
        if status == 404:
            hint = "check the repository name and the revision"
        elif type(cause).__name__ == "OfflineModeIsEnabled":
            hint = "unset HF_HUB_OFFLINE to download"
        else:
            hint = "check the network and the endpoint (HF_ENDPOINT)"
        err = HubError(
            f"cannot load hf:{self.ref.repo_id} (revision '{self.ref.revision}'): {what} at {self.endpoint} "
            f"failed ({reason}); {hint}"
        )
        err.not_found = status == 404
        return err


def _client_errors() -> tuple[type[BaseException], ...]:
    """The exceptions the hub client raises for network, HTTP and cache failures (requests, httpx or httpx2)."""
    from huggingface_hub import utils

    errors: list[type[BaseException]] = [OSError, utils.EntryNotFoundError, utils.HFValidationError]
    optional = (("huggingface_hub.errors", "XetDownloadError"), ("httpx2", "HTTPError"), ("httpx", "HTTPError"))
    for module, name in optional:
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def detect_format(hub: _Hub, commit: str, files: Sequence[str]) -> str:
    """The repository's format from its file names (and config.json's keys): one of FORMATS."""
    from codeckit.convert.snac import SNAC_DEFAULTS

    names = set(files)
    if {CONFIG_NAME, WEIGHTS_NAME} <= names:
        return "codeckit"
    if "config.json" in names:
        try:
            config = json.loads(hub.download(commit, "config.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelDirError(f"hf:{hub.ref.repo_id}: config.json is not valid JSON ({e})") from None
        original = _ORIGINAL_CHECKPOINTS.get(config.get("model_type")) if isinstance(config, dict) else None
        if original:
            raise ModelDirError(
                f"hf:{hub.ref.repo_id} holds the transformers {config['model_type']} layout, which codeckit does not "
                f"convert; convert the original checkpoint instead: {original}"
            )
        if isinstance(config, dict) and config and set(config) <= set(SNAC_DEFAULTS):
            return "snac"
    for fmt in _ONE_FILE:
        if len(_checkpoint_files(files, fmt, named=True)) == 1:
            return fmt
    listed = ", ".join(sorted(names)[:12]) or "no files"
    raise ModelDirError(
        f"hf:{hub.ref.repo_id}: cannot tell the model format from its files ({listed}); name it: "
        f"`codeckit convert --from {'|'.join(FORMATS[1:])} hf:{hub.ref.repo_id} DST`"
    )


def _checkpoint_files(files: Sequence[str], fmt: str, named: bool) -> list[str]:
    """Top-level files that can be `fmt`'s checkpoint (by suffix; `named`: and by a word of their name)."""
    suffixes, words = _ONE_FILE[fmt]
    found = [f for f in files if "/" not in f and Path(f).suffix in suffixes]
    return [f for f in found if any(w in f.lower() for w in words)] if named else found


def _one_checkpoint(hub: _Hub, files: Sequence[str], fmt: str) -> str:
    """The one checkpoint file of a `fmt` repository: the one named like it, else the one with its suffix."""
    for named in (True, False):
        found = _checkpoint_files(files, fmt, named)
        if len(found) == 1:
            return found[0]
    raise ModelDirError(
        f"hf:{hub.ref.repo_id}: expected one {fmt} checkpoint ({'/'.join(_ONE_FILE[fmt][0])}) at the top level, "
        f"found {', '.join(_checkpoint_files(files, fmt, False)) or 'none'}"
    )


def _convert_into(out: Path, hub: _Hub, commit: str, files: Sequence[str], fmt: str | None) -> None:
    """Download what `fmt` needs and write the model directory `out` through a temporary sibling folder."""
    fmt = fmt or detect_format(hub, commit, files)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}.", dir=out.parent))
    origin = f"hf:{hub.ref.repo_id}@{commit} ({hub.endpoint})"
    try:
        if fmt == "codeckit":
            _copy_repo(hub, commit, files, tmp)
        elif fmt == "snac":
            from codeckit.convert.snac import WEIGHT_NAMES, convert_snac

            weights = next((n for n in WEIGHT_NAMES if n in files), None)
            _need(hub, files, "config.json", weights or " or ".join(WEIGHT_NAMES))
            hub.download(commit, weights)
            convert_snac(hub.download(commit, "config.json").parent, tmp, origin=origin)
        else:
            converter(fmt)(hub.download(commit, _one_checkpoint(hub, files, fmt)), tmp, origin=origin)
        _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy_repo(hub: _Hub, commit: str, files: Sequence[str], dst: Path) -> None:
    """A codeckit model repository as it is: every file (ONNX graphs, context model, ...), copied out of the
    hub cache's symlinks."""
    _need(hub, files, CONFIG_NAME, WEIGHTS_NAME)
    for name in files:
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(hub.download(commit, name), target)


def _need(hub: _Hub, files: Sequence[str], *names: str) -> None:
    """Refuse a repository that lacks one of `names`, naming it."""
    for name in names:
        if name not in files:
            raise ModelDirError(f"hf:{hub.ref.repo_id}: the repository has no {name}")


def _publish(tmp: Path, out: Path) -> None:
    """Rename the finished folder `tmp` to `out`; if another process got there first, keep theirs."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)  # mkdtemp's 0o700 would hide the cached model from other users
    try:
        os.rename(tmp, out)
    except OSError:
        if not _is_model_dir(out):
            raise


def _is_model_dir(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file()


def _ref_path(root: Path, revision: str) -> Path:
    return root / "refs" / revision.replace("/", "%2F")


def _write_ref(root: Path, revision: str, commit: str) -> None:
    """Remember which commit `revision` resolved to, for use when the hub cannot be reached."""
    from codeckit.fileio import write_text_atomic

    if revision != commit:
        path = _ref_path(root, revision)
        if not path.is_file() or path.read_text() != commit:
            write_text_atomic(path, commit)


def _cached_revision(root: Path, revision: str) -> Path | None:
    """The converted model `revision` last resolved to, if it is in the cache."""
    commit = revision if _COMMIT.fullmatch(revision) else None
    if commit is None and _ref_path(root, revision).is_file():
        commit = _ref_path(root, revision).read_text().strip()
    if commit and _COMMIT.fullmatch(commit) and _is_model_dir(root / commit):
        return root / commit
    return None
