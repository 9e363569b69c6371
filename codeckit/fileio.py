"""File helpers: atomic writes (to a temporary name beside the target, then a rename), reading
Kaldi-style `ID VALUE` list files, and reading a safetensors file with its metadata."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _file_mode() -> int:
    """The mode a plainly created file gets (0o666 less the umask); mkstemp's own 0o600 would hide outputs
    from other users."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto `path`.

    The temporary name keeps the target's suffix so format-sniffing writers
    (soundfile, safetensors) behave as for the final name. On error it is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_id_lines(
    path: str | os.PathLike, malformed: Callable[[int, str], Exception]
) -> Iterator[tuple[int, str, str]]:
    """Yield (line number, id, value) for each non-blank `ID VALUE` line of a Kaldi-style list, the value stripped.

    A line without both raises `malformed(line number, line)` when reached, so each caller words its own error.
    """
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise malformed(n, line)
        yield n, parts[0], parts[1].strip()


def read_safetensors(
    path: Path, framework: str, error: type[Exception], what: str
) -> tuple[dict[str, str], dict[str, object]]:
    """(metadata, tensors) of the safetensors file `path` (numpy arrays or torch tensors per `framework`).

    A file that cannot be read or parsed raises `error` naming the path and `what` it should have been.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework=framework) as f:
            return f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise error(f"{path}: not a readable safetensors {what} ({e})") from None


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes under `algorithm` (a hashlib name), read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
