"""The evaluation set: every audio file under a directory, or the entries of a Kaldi-style wav.scp, each with
its transcript where one is known (a Kaldi `text` file: beside the wav.scp, or given)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codeckit.errors import AudioError
from codeckit.fileio import file_hash, read_id_lines

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True)
class Item:
    """One evaluation file: its id (safe as a file name), path, content hash and transcript (None: unknown)."""

    id: str
    path: str
    sha1: str
    text: str | None = None

    @property
    def key(self) -> str:
        """The result cache's key: the id and the content hash, so an edited file is scored again."""
        return f"{self.id}:{self.sha1}"


def _safe_id(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _check_readable(path: Path) -> None:
    """An AudioError naming `path` unless soundfile reads its header and it holds samples."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as e:
        raise AudioError(f"cannot read audio file {path}: unreadable or unsupported format ({e})") from None
    if info.frames == 0:
        raise AudioError(f"{path}: zero-length audio")


def read_transcripts(path: str | Path) -> dict[str, str]:
    """A Kaldi `text` file (`ID words...` per line) by id, made safe as in `list_items`; AudioError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"transcript file not found: {path}")
    lines = read_id_lines(path, lambda n, line: AudioError(f"{path}:{n}: expected 'ID WORDS...', got '{line.strip()}'"))
    out: dict[str, str] = {}
    for n, key, value in lines:
        if _safe_id(key) in out:
            raise AudioError(f"{path}:{n}: a second transcript for the id '{key}'")
        out[_safe_id(key)] = value
    return out


def list_items(source: str | Path, text: str | Path | None = None) -> list[Item]:
    """Items of a directory (searched recursively for audio files) or a wav.scp (`ID PATH` per line).

    Transcripts come from `text` (a Kaldi text file), else from a `text` file beside a wav.scp; ids without
    one get None.
    """
    source = Path(source)
    if text is None and source.is_file() and (source.parent / "text").is_file():
        text = source.parent / "text"
    transcripts = read_transcripts(text) if text is not None else {}
    pairs: list[tuple[str, Path]] = []
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES:
                pairs.append((_safe_id(str(p.relative_to(source).with_suffix(""))), p))
    elif source.is_file():
        lines = read_id_lines(
            source, lambda n, line: AudioError(f"{source}:{n}: expected 'ID PATH', got '{line.strip()}'")
        )
        for n, key, value in lines:
            if value.endswith("|"):
                raise AudioError(f"{source}:{n}: piped commands are not supported; give a file path")
            pairs.append((_safe_id(key), Path(value)))
    else:
        raise AudioError(f"data not found: {source} (expected a directory of audio files or a wav.scp)")
    if not pairs:
        raise AudioError(f"no audio files found in {source}")
    ids: dict[str, Path] = {}
    for i, p in pairs:
        if i in ids:
            raise AudioError(f"{source}: two files map to the id '{i}': {ids[i]} and {p}")
        if not p.is_file():
            raise AudioError(f"{source}: audio file not found: {p}")
        _check_readable(p)
        ids[i] = p
    return [Item(i, str(p), file_hash(p, "sha1"), transcripts.get(i)) for i, p in pairs]
