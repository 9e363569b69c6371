"""Downloads (resume with HTTP Range, SHA-256 checks) against a server on 127.0.0.1, and safe extraction."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeckit.corpus.download import RESOURCES, download, extract, fetch
from codeckit.corpus.errors import CorpusError

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    ranges = True  # answer Range requests with 206 (False: ignore them, like some servers)
    seen: list[str | None] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path != "/data.bin":
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        type(self).seen.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng and self.ranges else 0
        if start >= len(PAYLOAD):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(PAYLOAD) - start))
        self.end_headers()
        self.wfile.write(PAYLOAD[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    _Handler.ranges = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_checks_sha256(server, tmp_path):
    out = download(f"{server}/data.bin", tmp_path / "data.bin", SHA, progress=False)
    assert out.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    # present and correct: no new request
    download(f"{server}/data.bin", tmp_path / "data.bin", SHA, progress=False)
    assert _Handler.seen == [None]


def test_download_resumes_a_partial_file(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:300_000])
    out = download(f"{server}/data.bin", tmp_path / "data.bin", SHA, progress=False)
    assert _Handler.seen == ["bytes=300000-"]
    assert out.read_bytes() == PAYLOAD


def test_download_restarts_when_the_server_ignores_ranges(server, tmp_path):
    _Handler.ranges = False
    (tmp_path / "data.bin.part").write_bytes(b"x" * 1000)  # not even the right bytes
    out = download(f"{server}/data.bin", tmp_path / "data.bin", SHA, progress=False)
    assert out.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    assert download(f"{server}/data.bin", tmp_path / "data.bin", SHA, progress=False).read_bytes() == PAYLOAD


def test_checksum_mismatch_removes_the_file(server, tmp_path):
    with pytest.raises(CorpusError, match="does not match the expected"):
        download(f"{server}/data.bin", tmp_path / "data.bin", "0" * 64, progress=False)
    assert not (tmp_path / "data.bin").exists() and not (tmp_path / "data.bin.part").exists()


def test_http_and_network_errors_name_the_url(server, tmp_path):
    with pytest.raises(CorpusError, match="cannot download .*/missing.bin: HTTP 404"):
        download(f"{server}/missing.bin", tmp_path / "m.bin", None, progress=False)
    with pytest.raises(CorpusError, match="cannot download http://127.0.0.1:9/x"):
        download("http://127.0.0.1:9/x", tmp_path / "x", None, timeout=5, progress=False)


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def test_extract_tar_and_zip_once(tmp_path):
    arc = _tar(tmp_path / "c.tar.gz", {"LibriTTS/dev-clean/84/121/a.txt": b"hi"})
    out = extract(arc, tmp_path / "x")
    assert (out / "LibriTTS/dev-clean/84/121/a.txt").read_bytes() == b"hi"
    (out / "LibriTTS/dev-clean/84/121/a.txt").write_bytes(b"changed")
    extract(arc, tmp_path / "x")  # the stamp makes the second call a no-op
    assert (out / "LibriTTS/dev-clean/84/121/a.txt").read_bytes() == b"changed"
    with zipfile.ZipFile(tmp_path / "v.zip", "w") as z:
        z.writestr("txt/p225/p225_001.txt", "Please call Stella.")
    assert (extract(tmp_path / "v.zip", tmp_path / "v") / "txt/p225/p225_001.txt").is_file()


def test_extract_refuses_paths_outside(tmp_path):
    arc = _tar(tmp_path / "evil.tar.gz", {"../evil.txt": b"x"})
    with pytest.raises(CorpusError, match="outside"):
        extract(arc, tmp_path / "x")
    assert not (tmp_path / "evil.txt").exists()
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(CorpusError, match="not a tar or zip archive"):
        extract(tmp_path / "junk.tar.gz", tmp_path / "y")


def test_fetch_checks_names_before_any_download(tmp_path):
    with pytest.raises(CorpusError, match="unknown corpus 'timit'"):
        fetch("timit", [], tmp_path)
    with pytest.raises(CorpusError, match="libritts has no part 'train-clean-999'"):
        fetch("libritts", ["train-clean-999"], tmp_path)
    with pytest.raises(CorpusError, match="name the parts of libritts"):
        fetch("libritts", [], tmp_path)


def test_known_resources_have_sha256():
    assert set(RESOURCES) == {"libritts", "ljspeech", "vctk"}
    for parts in RESOURCES.values():
        for res in parts.values():
            assert len(res.sha256) == 64 and int(res.sha256, 16) >= 0
            assert res.url.startswith("https://")
