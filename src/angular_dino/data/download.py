"""Finding a dataset's files: a configured directory, a system copy, or a verified download into a cache.

Downloads go to `<name>.part` and resume from where they stopped (an HTTP Range request), so a
dropped connection on a 180 MB file loses nothing; a server that ignores Range sends the whole file
and the partial one is rewritten from the start. Only a file whose MD5 matches the published
checksum is moved into place; a mismatching one is deleted, never kept.
"""
from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from angular_dino.errors import UserError

CACHE_ROOT = Path("~/.cache/angular_dino")
ATTEMPTS_PER_URL = 3  # tries of one URL while each gets further (a dropped connection), before the next URL


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_resumable(url: str, partial: Path, timeout: float = 60) -> None:
    """Append the rest of `url` to `partial`, or rewrite it whole when the server cannot resume."""
    have = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not have:  # 416: the partial file is already as long as the remote one
            raise
        partial.unlink()
        return fetch_resumable(url, partial, timeout)
    with response:
        resumed = have and response.status == 206 and response.headers.get("Content-Range", "").startswith(
            f"bytes {have}-")
        expected = response.headers.get("Content-Length")
        received = 0
        with open(partial, "ab" if resumed else "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                received += len(chunk)
    if expected is not None and received < int(expected):  # http.client does not raise for a short body
        raise ConnectionError(f"connection dropped after {received} of {expected} bytes")


def download_verified(base_urls: tuple[str, ...], name: str, md5: str, target: Path) -> None:
    """Fetch `name` from the first base URL that delivers it intact, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    failures = []
    for base in base_urls:
        url = base.rstrip("/") + "/" + name
        print(f"downloading {url} to {target.parent}", file=sys.stderr)
        for _ in range(ATTEMPTS_PER_URL):
            resuming = partial.is_file()
            size_before = partial.stat().st_size if resuming else 0
            try:
                fetch_resumable(url, partial)
            except (OSError, http.client.HTTPException) as exc:  # the partial file is kept for resuming
                failure = f"{url}: {exc or type(exc).__name__}"
                if partial.is_file() and partial.stat().st_size > size_before:
                    continue  # it was making progress: resume at once
                break
            actual = md5_of(partial)
            if actual == md5:
                partial.replace(target)
                return
            partial.unlink()  # a corrupt file is never kept, nor resumed from
            failure = f"{url}: checksum mismatch (MD5 {actual}, expected {md5})"
            if not resuming:  # a whole fresh copy was wrong: this mirror serves a bad file
                break
        failures.append(failure)
    raise OSError("; ".join(failures))


@dataclass(frozen=True)
class DataFiles:
    """The files of one dataset, where copies may already be, and where to download them from."""

    title: str
    files: dict[str, str]  # file name -> official MD5 (as downloaded)
    base_urls: tuple[str, ...]
    cache_name: str  # folder under ~/.cache/angular_dino for downloads
    system_dir: str | None = None  # where a Debian package puts the files
    debian_package: str | None = None
    also_accepted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other names of a file on disk

    def _find(self, directory: Path, name: str) -> Path | None:
        candidates = (directory / n for n in (name, *self.also_accepted.get(name, ())))
        return next((c for c in candidates if c.exists()), None)

    def _present(self, directory: Path) -> dict[str, Path] | None:
        found = {name: self._find(directory, name) for name in self.files}
        return None if None in found.values() else found

    def locate(self, data_root: str | None, download: bool) -> dict[str, Path]:
        """Configured root, else the system copy, else the cache (downloading into it if allowed)."""
        cache_dir = CACHE_ROOT.expanduser() / self.cache_name
        system = [Path(self.system_dir)] if self.system_dir else []
        search = [Path(data_root).expanduser()] if data_root else [*system, cache_dir]
        for directory in search:
            found = self._present(directory)
            if found:
                return found
        target = search[0] if data_root else cache_dir
        reason = "download is off (download: false)"
        if download:
            try:
                for name, md5 in self.files.items():
                    if not self._find(target, name):
                        download_verified(self.base_urls, name, md5, target / name)
                return self._present(target)
            except OSError as exc:
                reason = f"the download failed ({exc})"
        raise UserError(self._not_found_message(search, reason))

    def _not_found_message(self, searched: list[Path], reason: str) -> str:
        ways = [f"set data_root to a directory holding {', '.join(self.files)}"]
        if self.debian_package:
            ways.append(f"install Debian's package: apt-get install {self.debian_package} (files in {self.system_dir})")
        ways.append(f"allow the download (download: true) on a machine that can reach {self.base_urls[0]}")
        listed = "".join(f"\n  {i}. {way}" for i, way in enumerate(ways, 1))
        looked = ", ".join(str(d) for d in searched)
        count = {2: "two", 3: "three"}[len(ways)]
        return f"{self.title} not found (looked in {looked}) and {reason}. Get it one of {count} ways:{listed}"
