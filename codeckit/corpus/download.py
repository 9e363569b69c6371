"""Fetch real corpora: HTTP downloads that resume and are checked against a SHA-256, and safe extraction.

A download goes to `NAME.part` first; a later call continues it with an HTTP Range request, and
only a file whose SHA-256 matches is renamed to its final name. Extraction refuses members that
would land outside the target folder and leaves a stamp so it runs once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from codeckit.corpus.errors import CorpusError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    """One archive of a corpus: where it is and what its SHA-256 must be."""

    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_OPENSLR = "https://www.openslr.org/resources/60"
_LIBRITTS_SHA256 = {
    "dev-clean": "da0864e1bd26debed35da8a869dd5c04dfc27682921936de7cff9c8a254dbe1a",
    "dev-other": "d413eda26f3a152ac7c9cf3658ef85504dfb1b625296e5fa83727f5186cca79c",
    "test-clean": "234ea5b25859102a87024a4b9b86641f5b5aaaf1197335c95090cde04fe9a4f5",
    "test-other": "33a5342094f3bba7ccc2e0500b9e72d558f72eb99328ac8debe1d9080402f10d",
    "train-clean-100": "c5608bf1ef74bb621935382b8399c5cdd51cd3ee47cec51f00f885a64c6c7f6b",
    "train-clean-360": "ce7cff44dcac46009d18379f37ef36551123a1dc4e5c8e4eb73ae57260de4886",
    "train-other-500": "e35f7e34deeb2e2bdfe4403d88c8fdd5fbf64865cae41f027a185a6965f0a5df",
}
# SHA-256 of the published archives (the same values torchaudio checks).
RESOURCES: dict[str, dict[str, Resource]] = {
    "libritts": {p: Resource(f"{_OPENSLR}/{p}.tar.gz", h) for p, h in _LIBRITTS_SHA256.items()},
    "ljspeech": {
        "LJSpeech-1.1": Resource(
            "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2",
            "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5",
        ),
    },
    "vctk": {
        "VCTK-Corpus-0.92": Resource(
            "https://datashare.is.ed.ac.uk/bitstream/handle/10283/3443/VCTK-Corpus-0.92.zip",
            "f96258be9fdc2cbff6559541aae7ea4f59df3fcaf5cf963aae5ca647357e359c",
        ),
    },
}


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(
    url: str, dest: str | os.PathLike, sha256: str | None, timeout: float = 60.0, progress: bool = True
) -> Path:
    """Download `url` to `dest`, resuming `dest.part`; check `sha256` (when given) before the final rename.

    A `dest` that already exists is checked and kept if it matches. Raises CorpusError naming the
    URL on a network error and the file on a checksum mismatch (the bad file is removed).
    """
    from tqdm import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        if sha256 is None or sha256_of(dest) == sha256:
            return dest
        raise CorpusError(f"{dest} exists but its SHA-256 is not {sha256}; remove it to download it again")
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the range starts at the end: the part file is already complete
            resp = None
        else:
            raise CorpusError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise CorpusError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
    if resp is not None:
        with resp:
            resumed = have and resp.status == 206
            if have and not resumed:
                log.warning("%s: the server ignored the range request; downloading from the start", url)
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=dest.name, disable=not progress)
            try:
                with open(part, "ab" if resumed else "wb") as f:
                    while block := resp.read(1 << 20):
                        f.write(block)
                        bar.update(len(block))
            except (urllib.error.URLError, OSError) as e:
                raise CorpusError(f"download of {url} broke off ({e}); run again to resume from {part}") from None
            finally:
                bar.close()
    if sha256 is not None:
        got = sha256_of(part)
        if got != sha256:
            part.unlink()
            raise CorpusError(f"{dest}: SHA-256 {got} does not match the expected {sha256}; removed, run again")
    os.replace(part, dest)
    return dest


def _check_member(root: Path, name: str, archive: Path) -> None:
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise CorpusError(f"{archive}: member '{name}' would be written outside {root}; refusing to extract")


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a .tar(.gz/.bz2/.xz) or .zip archive into `dest` once (a stamp file marks it done)."""
    archive, dest = Path(archive), Path(dest)
    stamp = dest / f".extracted.{archive.name}"
    if stamp.is_file():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    _check_member(root, name, archive)
                z.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                members = t.getmembers()
                for m in members:
                    _check_member(root, m.name, archive)
                    if m.issym() or m.islnk():
                        _check_member(root, os.path.join(os.path.dirname(m.name), m.linkname), archive)
                t.extractall(dest, members=members)
        else:
            raise CorpusError(f"{archive}: not a tar or zip archive")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        raise CorpusError(f"{archive}: cannot extract ({e})") from None
    stamp.write_text(f"{archive.resolve()}\n")
    return dest


def fetch(corpus: str, parts: list[str], dest: str | os.PathLike, progress: bool = True) -> Path:
    """Download and extract `parts` of `corpus` ('libritts', 'ljspeech', 'vctk') under `dest`."""
    if corpus not in RESOURCES:
        raise CorpusError(f"unknown corpus '{corpus}' (known: {', '.join(RESOURCES)})")
    known = RESOURCES[corpus]
    if not parts and len(known) == 1:
        parts = list(known)
    if not parts:
        raise CorpusError(f"name the parts of {corpus} to download (known: {', '.join(known)})")
    for p in parts:
        if p not in known:
            raise CorpusError(f"{corpus} has no part '{p}' (known: {', '.join(known)})")
    dest = Path(dest)
    for p in parts:
        res = known[p]
        archive = download(res.url, dest / res.filename, res.sha256, progress=progress)
        # a VCTK zip has no top folder: give it one
        extract(archive, dest / p if corpus == "vctk" else dest)
    return dest
