"""A trainer's own data: loaded locally, never uploaded.

Sources (:func:`load_data` picks one from its argument):

- ``digits``: scikit-learn's bundled 8×8 digits (1797 samples, 10 classes, no download),
  pixels scaled to [0, 1], features flattened to 64;
- a ``.csv`` file: numeric columns, an optional header row, the label in the last column
  unless ``label_column`` says otherwise (an index, or a name when there is a header);
- an ``.npz`` file with arrays ``x`` (features, any shape per sample: ``[N, C, H, W]`` for
  images, ``[N, L]`` integer ids for tokens) and ``y`` (labels), read without pickle;
- for a text task (``DataOptions.max_len`` set): a ``.jsonl`` or ``.csv`` with a text and a
  label field, tokenized by the built-in byte tokenizer or the project's posted one
  (``DataOptions.encoder``; :mod:`fedmarket.text_data`);
- a folder with one subfolder per class holding PNG/JPG images (needs Pillow), read as
  [0, 1] images of shape (C, H, W) with the images' own channels (grayscale 1, RGB 3, RGBA 4)
  and size, never converted. Subfolders named by integers give those labels; otherwise labels
  follow the sorted subfolder names.

Labels must be integer class ids ``0 … C-1`` so that every trainer of a project means the same
class by the same id. For simulations, :func:`partition` splits a dataset among trainers, IID or
non-IID with Dirichlet(α) label skew (Hsu et al., 2019, "Measuring the Effects of Non-Identical
Data Distribution for Federated Visual Classification"), and :func:`holdout_split` keeps a
stratified validation/test part for the owner.
"""

from __future__ import annotations

import csv
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fedmarket.errors import DataError

__all__ = [
    "Dataset",
    "load_data",
    "DataOptions",
    "load_digits",
    "load_csv",
    "load_npz",
    "load_image_folder",
    "partition",
    "partition_indices",
    "holdout_split",
    "holdout_indices",
    "BUILTIN_SOURCES",
]

BUILTIN_SOURCES = ("digits",)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features ``x`` (float32, ``[N, ...]``) and integer labels ``y`` (int64, ``[N]``)."""

    x: np.ndarray
    y: np.ndarray
    source: str  # where it came from, for messages

    def __post_init__(self) -> None:
        if self.x.ndim < 2:
            raise DataError(f"{self.source}: features must have shape [N, ...], got {self.x.shape}")
        if self.y.ndim != 1 or len(self.y) != len(self.x):
            raise DataError(
                f"{self.source}: {len(self.x)} samples but labels have shape {self.y.shape}"
            )

    def __len__(self) -> int:
        return len(self.y)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one sample's features."""
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        """Number of classes implied by the largest label (labels are 0 … C-1)."""
        return int(self.y.max()) + 1 if len(self.y) else 0

    def subset(self, indices: np.ndarray) -> Dataset:
        """The samples at ``indices``, in that order."""
        return Dataset(self.x[indices], self.y[indices], self.source)


# -- loaders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataOptions:
    """How to read a file: which column is the label, which the text, how long a sequence.

    ``max_len`` set means the task is text (token sequences of that length, from the spec):
    ``.csv`` and ``.jsonl`` are then read as text and tokenized; otherwise a ``.csv`` is numeric.
    ``label_column`` is a header name, or an index (numeric CSV; digits in a string count as an
    index); None means the last column of a numeric CSV, or ``label`` in text files.
    ``encoder`` tokenizes text (``(texts, max_len) -> ids``, see
    :func:`fedmarket.posted_tokenizer.text_encoder`); None means the built-in byte tokenizer.
    """

    label_column: int | str | None = None
    text_column: str | None = None
    max_len: int | None = None
    encoder: Callable[[Sequence[str], int], np.ndarray] | None = None


def load_data(source: str | Path, options: DataOptions | None = None, *,
              label_column: int | str | None = None) -> Dataset:
    """Load a built-in source by name, or a CSV, ``.npz``, ``.jsonl`` or image folder by path."""
    options = options or DataOptions(label_column=label_column)
    if str(source) in BUILTIN_SOURCES:
        return load_digits()
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"data path '{path}' does not exist (built-in sources: {', '.join(BUILTIN_SOURCES)})"
        )
    if path.is_dir():
        return load_image_folder(path)
    suffix = path.suffix.lower()
    if options.max_len is not None and suffix in (".csv", ".jsonl"):
        from fedmarket.text_data import load_text  # text needs the tokenizer; tables do not

        label = options.label_column
        return load_text(path, options.max_len, text_column=options.text_column,
                         label_column=None if label is None else str(label),
                         encoder=options.encoder)
    if suffix == ".jsonl":
        raise DataError(f"'{path}' holds text, which only a token model reads; post the "
                        "project with --model transformer")
    if suffix == ".csv":
        return load_csv(path, label_column=_column(options.label_column))
    if suffix == ".npz":
        return load_npz(path)
    raise DataError(
        f"data file '{path}' has an unsupported type {suffix or '(no suffix)'}; "
        "use a .csv, an .npz, a .jsonl (text), an image folder or 'digits'"
    )


def _column(label: int | str | None) -> int | str:
    if label is None:
        return -1
    if isinstance(label, str) and label.lstrip("-").isdigit():
        return int(label)
    return label


def load_digits() -> Dataset:
    """scikit-learn's bundled 8×8 digits, features scaled to [0, 1] and flattened to 64."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    return Dataset(x, np.asarray(bunch.target, dtype=np.int64), "digits")


def load_csv(path: str | Path, *, label_column: int | str = -1) -> Dataset:
    """Numeric CSV, optional header row, label in ``label_column`` (index or header name)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"CSV file '{path}' does not exist")
    try:
        with path.open(newline="") as handle:
            first = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read CSV '{path}': {exc}") from exc
    if not first:
        raise DataError(f"CSV '{path}' is empty")
    has_header = not all(_is_number(cell) for cell in first)
    names = [cell.strip() for cell in first] if has_header else None
    column = _label_index(path, label_column, names, len(first))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below instead
            table = np.loadtxt(
                path, delimiter=",", skiprows=1 if has_header else 0, ndmin=2, dtype=np.float64
            )
    except ValueError as exc:
        raise DataError(f"malformed CSV '{path}': {exc}") from exc
    if table.shape[0] == 0:
        raise DataError(f"CSV '{path}' has a header but no data rows")
    if table.shape[1] < 2:
        raise DataError(f"CSV '{path}' needs at least one feature column and a label column")
    labels = _labels(f"CSV '{path}' label column {column}", table[:, column])
    features = np.delete(table, column, axis=1)
    return Dataset(_features(f"CSV '{path}'", features), labels, str(path))


def load_npz(path: str | Path) -> Dataset:
    """``.npz`` with arrays ``x`` (features) and ``y`` (labels); pickled objects are refused.

    Only a zip archive of ``.npy`` arrays is read: anything else (random bytes, a pickle, a lone
    ``.npy``) is refused before numpy sees it, since numpy would otherwise try it as a pickle
    and advise ``allow_pickle`` — which would run code from the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"npz file '{path}' does not exist")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise DataError(f"cannot read npz '{path}': {exc.strerror or exc}") from exc
    if magic != b"PK\x03\x04":
        raise DataError(f"cannot read npz '{path}': it is not an .npz archive (a zip of .npy "
                        "arrays, as numpy.savez writes it)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                raise DataError(
                    f"npz '{path}' lacks array(s) {missing}; it has {sorted(archive.files)}"
                )
            x, y = _npz_array(path, archive, "x"), _npz_array(path, archive, "y")
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # truncated or corrupt
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read npz '{path}': it is corrupt or truncated ({reason})") from exc
    if x.ndim < 2:
        raise DataError(f"npz '{path}': x must have shape [N, ...], got {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"npz '{path}': x has {len(x)} samples but y has shape {y.shape}")
    if len(x) == 0:
        raise DataError(f"npz '{path}' holds no samples")
    return Dataset(_features(f"npz '{path}' x", x), _labels(f"npz '{path}' y", y), str(path))


def _npz_array(path: Path, archive: Any, key: str) -> np.ndarray:
    try:
        return np.asarray(archive[key])
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        raise DataError(f"cannot read npz '{path}': array {key!r} holds Python objects, which "
                        "are never loaded (they could run code); save numeric arrays") from None


def load_image_folder(path: str | Path) -> Dataset:
    """One subfolder per class of PNG/JPG images, read as C×H×W with their own channels.

    See :func:`fedmarket.image_data.read_image_folder`.
    """
    from fedmarket.image_data import read_image_folder  # Pillow only when images are read

    return read_image_folder(path)


# -- splitting ----------------------------------------------------------------------------------


def partition_indices(
    labels: np.ndarray,
    n_parts: int,
    alpha: float | None = None,
    seed: int = 0,
    *,
    min_size: int = 1,
) -> list[np.ndarray]:
    """Split sample indices into ``n_parts`` disjoint parts covering every sample once.

    ``alpha=None`` gives an IID split (a shuffle cut into near-equal parts). A positive
    ``alpha`` draws, for each class, the parts' shares from Dirichlet(α·1): small α (0.1) gives
    each part few classes, large α (100) approaches IID. Draws are repeated (deterministically)
    until every part has ``min_size`` samples. Each part's indices are sorted.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if isinstance(n_parts, bool) or not isinstance(n_parts, int) or n_parts < 1:
        raise ValueError(f"n_parts must be a positive integer, got {n_parts!r}")
    if n_parts * min_size > n:
        raise DataError(f"cannot give {n_parts} parts {min_size} sample(s) each from {n} samples")
    rng = np.random.default_rng(seed)
    if alpha is None:
        return [np.sort(part) for part in np.array_split(rng.permutation(n), n_parts)]
    if not alpha > 0:
        raise ValueError(f"Dirichlet alpha must be > 0, got {alpha}")
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for _ in range(1000):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_parts)]
        for members in by_class:
            members = rng.permutation(members)
            shares = rng.dirichlet(np.full(n_parts, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
            for part, chunk in zip(parts, np.split(members, cuts), strict=True):
                part.append(chunk)
        merged = [np.sort(np.concatenate(chunks)) for chunks in parts]
        if min(len(p) for p in merged) >= min_size:
            return merged
    raise DataError(
        f"no Dirichlet(alpha={alpha}) split of {n} samples gave all {n_parts} parts "
        f"{min_size} sample(s) in 1000 draws; raise alpha or lower n_parts"
    )


def partition(
    dataset: Dataset, n_parts: int, alpha: float | None = None, seed: int = 0
) -> list[Dataset]:
    """Split a dataset among ``n_parts`` simulated trainers (see :func:`partition_indices`)."""
    return [dataset.subset(idx) for idx in partition_indices(dataset.y, n_parts, alpha, seed)]


def holdout_indices(
    labels: np.ndarray, fraction: float = 0.2, seed: int = 0, source: str = "data"
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (rest, held out) sample indices, each sorted (see :func:`holdout_split`)."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be in (0, 1), got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        held.append(members[: int(round(len(members) * fraction))])
    held_idx = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    rest_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    if len(held_idx) == 0 or len(rest_idx) == 0:
        raise DataError(f"{source}: too few samples ({len(labels)}) to hold out {fraction}")
    return rest_idx, held_idx


def holdout_split(
    dataset: Dataset, fraction: float = 0.2, seed: int = 0
) -> tuple[Dataset, Dataset]:
    """Stratified split into (rest, held out): the owner's validation/test data."""
    rest_idx, held_idx = holdout_indices(dataset.y, fraction, seed, dataset.source)
    return dataset.subset(rest_idx), dataset.subset(held_idx)


# -- helpers ------------------------------------------------------------------------------------


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _label_index(path: Path, label: int | str, names: list[str] | None, width: int) -> int:
    if isinstance(label, str):
        if names is None:
            raise DataError(f"CSV '{path}' has no header row, so label column {label!r} is unknown")
        if label not in names:
            raise DataError(f"CSV '{path}' has no column {label!r}; columns: {names}")
        return names.index(label)
    if not -width <= label < width:
        raise DataError(f"CSV '{path}' has {width} columns; label column {label} is out of range")
    return label % width


def _features(where: str, x: np.ndarray) -> np.ndarray:
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(f"{where} must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{where} has {int(bad.sum())} non-finite value(s), first in sample {row}")
    return x


def _labels(where: str, y: np.ndarray) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.number):
        raise DataError(f"{where}: labels must be integer class ids 0..C-1, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or not np.equal(np.round(y), y).all():
            raise DataError(f"{where}: labels must be integer class ids 0..C-1, found non-integers")
    if y.min() < 0:
        raise DataError(f"{where}: labels must be integer class ids 0..C-1, found {y.min()}")
    return y.astype(np.int64)
