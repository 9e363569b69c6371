"""A hub-shaped HTTP server on 127.0.0.1 for offline tests of `hf:` loading (what huggingface_hub requests).

It answers exactly the calls `codeckit.hub` makes through huggingface_hub: `GET /api/models/{repo}[/revision/{rev}]`
(JSON with the commit `sha` and the `siblings`), and `HEAD` / `GET /{repo}/resolve/{rev}/{file}` with the
`X-Repo-Commit`, `ETag` and `Content-Length` headers (no Xet headers, so the client downloads over plain HTTP).
Unknown repositories, revisions and files get 404 with the hub's `X-Error-Code`. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class FakeHub:
    """Repositories of files at commits, branches pointing at commits, served on a free local port."""

    def __init__(self) -> None:
        self.commits: dict[str, dict[str, dict[str, bytes]]] = {}  # repo -> commit -> files
        self.branches: dict[str, dict[str, str]] = {}  # repo -> branch -> commit
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def push(self, repo: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Commit `files` as the whole content of `repo` on `branch`; returns the new commit hash."""
        h = hashlib.sha1(repo.encode())
        for name in sorted(files):
            h.update(name.encode() + hashlib.sha256(files[name]).digest())
        h.update(str(sum(len(c) for c in self.commits.get(repo, {}).values())).encode())
        commit = h.hexdigest()
        self.commits.setdefault(repo, {})[commit] = dict(files)
        self.branches.setdefault(repo, {})[branch] = commit
        return commit

    def downloads(self) -> list[str]:
        """Paths of the file bodies sent so far (GET .../resolve/...)."""
        return [p for m, p in self.requests if m == "GET" and "/resolve/" in p]

    def resolve(self, repo: str, rev: str) -> str | None:
        """The commit a branch name or commit hash stands for in `repo`, if any."""
        if rev in self.commits.get(repo, {}):
            return rev
        return self.branches.get(repo, {}).get(rev)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((self.command, path))
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) in (4, 6):
                self._info("/".join(parts[2:4]), parts[5] if len(parts) == 6 else "main")
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._file("/".join(parts[:2]), parts[3], "/".join(parts[4:]), body)
            else:
                self._send(404, b"not found", {"X-Error-Code": "EntryNotFound"}, body)

        def _info(self, repo: str, rev: str) -> None:
            if repo not in hub.commits:
                return self._send(404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"})
            commit = hub.resolve(repo, rev)
            if commit is None:
                return self._send(404, b'{"error": "Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
            siblings = [{"rfilename": name} for name in sorted(hub.commits[repo][commit])]
            data = json.dumps({"id": repo, "modelId": repo, "sha": commit, "siblings": siblings}).encode()
            self._send(200, data, {"Content-Type": "application/json"})

        def _file(self, repo: str, rev: str, name: str, body: bool) -> None:
            commit = hub.resolve(repo, rev)
            if commit is None:
                return self._send(404, b"", {"X-Error-Code": "RevisionNotFound"}, body)
            data = hub.commits[repo][commit].get(name)
            if data is None:
                return self._send(404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, body)
            etag = f'"{hashlib.sha256(data).hexdigest()}"'
            self._send(200, data, {"X-Repo-Commit": commit, "ETag": etag}, body)

        def _send(self, status: int, data: bytes, headers: dict[str, str], body: bool = True) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

    return Handler
