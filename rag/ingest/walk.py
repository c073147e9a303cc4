"""Finding input files: the files under the paths given to ``rag ingest``, each with a stable identity.

Folders are walked in sorted order, hidden entries left out, symlinks followed. Every file is named by
its resolved path (so ``p7c`` and ``/abs/p7c`` are the same input) and by its path relative to the folder
given, from which path-derived article ids come. A symlink loop, a broken link and a folder that cannot
be read each become a ``Skipped`` with its reason, never a silent gap; a file reached twice through links
is read once.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rag.types import Skipped


@dataclass(frozen=True)
class InputFile:
    """A file to load: ``path`` resolved (symlinks followed), ``rel`` as seen from the folder given."""

    path: Path
    rel: PurePosixPath


def walk(paths: Iterable[Path]) -> Iterator[InputFile | Skipped]:
    """Every file under ``paths`` (files or folders), sorted, plus a ``Skipped`` for each path that could
    not be followed or read."""
    seen_files: set[Path] = set()
    seen_dirs: set[tuple[int, int]] = set()
    for given in paths:
        path = Path(os.path.abspath(given))
        try:
            info = path.stat()
        except OSError as exc:
            yield Skipped(str(path), _link_problem(path, exc))
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(path, PurePosixPath(), [(info.st_dev, info.st_ino)], seen_files, seen_dirs)
        else:
            yield from _file(path, PurePosixPath(path.name), seen_files)


def _walk_dir(
    folder: Path,
    rel: PurePosixPath,
    ancestors: list[tuple[int, int]],
    seen_files: set[Path],
    seen_dirs: set[tuple[int, int]],
) -> Iterator[InputFile | Skipped]:
    if ancestors[-1] in seen_dirs:  # the same folder reached again through a link: already read
        return
    seen_dirs.add(ancestors[-1])
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it if not e.name.startswith("."))
    except OSError as exc:
        yield Skipped(str(_resolved(folder)), f"cannot read folder: {exc.strerror or exc}")
        return
    for name in names:
        entry = folder / name
        try:
            info = entry.stat()
        except OSError as exc:
            yield Skipped(str(entry), _link_problem(entry, exc))
            continue
        if stat.S_ISDIR(info.st_mode):
            key = (info.st_dev, info.st_ino)
            if key in ancestors:
                target = os.readlink(entry) if entry.is_symlink() else "a parent folder"
                yield Skipped(str(entry), f"symlink loop: leads back to {target}; not followed")
                continue
            yield from _walk_dir(entry, rel / name, [*ancestors, key], seen_files, seen_dirs)
        elif stat.S_ISREG(info.st_mode):
            yield from _file(entry, rel / name, seen_files)
        else:
            yield Skipped(str(entry), "not a regular file")


def _file(path: Path, rel: PurePosixPath, seen: set[Path]) -> Iterator[InputFile]:
    real = _resolved(path)
    if real not in seen:
        seen.add(real)
        yield InputFile(real, rel)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a loop
        return path


def _link_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop: the link never reaches a file; not followed"
    if path.is_symlink():
        return f"broken symlink (points to {os.readlink(path)})"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return f"cannot read: {exc.strerror or exc}"
