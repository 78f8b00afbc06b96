"""Text in a photo (文字、数字、字母): RapidOCR's PP-OCR detection and recognition models, run offline with onnxruntime.

The models ship inside the `rapidocr` wheel (rapidocr/models/*.onnx); the engine is given their paths, so nothing
is downloaded at run time. It is loaded on first use (about 1.5 s) once per process. Cost per photo: the picture is
shrunk to at most `OCR_MAX_SIDE` px before detection, direction classification is skipped (ID photos are upright
once EXIF orientation is applied), one inference thread; and the answer is kept per picture (SHA-256 of its pixels)
in a small LRU owned by the reader, since the same photo is often checked twice (a retry, the operator's command).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OCR_MAX_SIDE = 480
"""Detection input's longest side: the output photo is 600×750 at most; text large enough to matter survives."""


@dataclass(frozen=True, slots=True)
class FoundText:
    text: str
    score: float
    box: tuple[int, int, int, int]
    """left, top, right, bottom in the checked photo's pixels."""


class TextReader:
    """RapidOCR with the models from its own wheel; `read(rgb)` gives the text lines found, cached per picture."""

    def __init__(self, *, cache_size: int = 256) -> None:
        import rapidocr
        from rapidocr import RapidOCR

        models = Path(rapidocr.__file__).resolve().parent / "models"
        det, rec = models / "PP-OCRv6_det_small.onnx", models / "PP-OCRv6_rec_small.onnx"
        for path in (det, rec):
            if not path.is_file():  # never let the engine fetch a model: a broken install is an error
                raise RuntimeError(f"RapidOCR model missing from the installed wheel: {path}")
        self._engine: Any = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Det.model_path": str(det),
                "Det.limit_side_len": OCR_MAX_SIDE,
                "Det.limit_type": "max",
                "Rec.model_path": str(rec),
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, list[FoundText]] = OrderedDict()
        self._cache_size = cache_size

    def read(self, rgb: np.ndarray) -> list[FoundText]:
        key = hashlib.sha256(np.ascontiguousarray(rgb).tobytes() + repr(rgb.shape).encode()).digest()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            result = self._engine(np.ascontiguousarray(rgb[..., ::-1]), use_cls=False)  # the engine wants BGR
            found = _found(result)
            self._cache[key] = found
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found


def _found(result: Any) -> list[FoundText]:
    if result is None or result.boxes is None or result.txts is None:
        return []
    out = []
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
        xs, ys = [float(q[0]) for q in box], [float(q[1]) for q in box]
        out.append(FoundText(str(text), float(score), (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))))
    return out


_reader: TextReader | None = None
_reader_lock = threading.Lock()


def text_reader() -> TextReader:
    """The process's reader, loaded on first use."""
    global _reader
    if _reader is None:
        with _reader_lock:
            if _reader is None:
                _reader = TextReader()
    return _reader


def meaningful(found: list[FoundText], *, min_score: float, min_chars: int) -> list[FoundText]:
    """Lines that are text and not noise: recognised with at least `min_score`, with `min_chars` letters, digits
    or Chinese characters."""
    return [t for t in found if t.score >= min_score and sum(c.isalnum() for c in t.text) >= min_chars]
