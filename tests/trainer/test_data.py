import sys
from pathlib import Path

import numpy as np
import pytest

from fedmarket.datasets import load_csv, load_data, load_image_folder, load_npz
from fedmarket.errors import DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_digits_is_builtin_and_scaled(digits) -> None:
    assert digits.x.shape == (1797, 64) and digits.x.dtype == np.float32
    assert 0.0 <= digits.x.min() and digits.x.max() == 1.0
    assert digits.num_classes == 10


def test_load_data_resolves_digits_by_name() -> None:
    assert load_data("digits").source == "digits"


def test_csv_label_defaults_to_last_column(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path / "d.csv", "1,2,0\n3,4,1\n"))

    assert data.x.tolist() == [[1, 2], [3, 4]]
    assert data.y.tolist() == [0, 1]


def test_csv_label_by_header_name(tmp_path: Path) -> None:
    data = load_data(
        write(tmp_path / "d.csv", "label,a,b\n2,0.5,1.5\n1,2.5,3.5\n"), label_column="label"
    )

    assert data.y.tolist() == [2, 1]
    assert data.x.tolist() == [[0.5, 1.5], [2.5, 3.5]]


def test_csv_label_by_index(tmp_path: Path) -> None:
    data = load_csv(write(tmp_path / "d.csv", "1,9,9\n0,8,8\n"), label_column=0)

    assert data.y.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "is empty"),
        ("a,b,label\n", {}, "has a header but no data rows"),
        ("1,2,0\n3,x,1\n", {}, "malformed CSV .*could not convert string 'x'"),
        ("1,2,0\n3,1\n", {}, "malformed CSV .*number of columns changed"),
        ("1,2,0.5\n", {}, "labels must be integer class ids 0..C-1, found non-integers"),
        ("1,2,-1\n", {}, "labels must be integer class ids 0..C-1, found -1"),
        ("a,b,y\n1,2,0\n", {"label_column": "label"}, "has no column 'label'"),
        ("1,2,0\n", {"label_column": "label"}, "has no header row"),
        ("1,2,0\n", {"label_column": 5}, "has 3 columns; label column 5 is out of range"),
        ("1,nan,0\n", {}, "1 non-finite value"),
    ],
)
def test_csv_errors_name_the_problem(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)

    with pytest.raises(DataError, match=message):
        load_csv(path, **kwargs)


def test_npz_loads_x_and_y(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 1, 2, 2)), y=np.array([0, 1, 2, 3]))

    data = load_data(path)

    assert data.feature_shape == (1, 2, 2) and data.y.tolist() == [0, 1, 2, 3]


def test_npz_without_y_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 2)), labels=np.zeros(4))

    with pytest.raises(DataError, match=r"lacks array\(s\) \['y'\]"):
        load_npz(path)


def test_npz_length_mismatch_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.ones((4, 2)), y=np.zeros(3, dtype=int))

    with pytest.raises(DataError, match=r"x has 4 samples but y has shape \(3,\)"):
        load_npz(path)


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.zeros(2, dtype=int))

    with pytest.raises(DataError, match="cannot read npz"):
        load_npz(path)


def test_corrupt_npz_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read npz"):
        load_npz(write(tmp_path / "d.npz", "not a zip"))


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data path '.*nowhere.csv' does not exist"):
        load_data(tmp_path / "nowhere.csv")


def test_unsupported_file_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unsupported type \.parquet"):
        load_data(write(tmp_path / "d.parquet", "x"))


def test_image_folder_without_class_folders_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="has no class subfolders"):
        load_image_folder(tmp_path)


def test_image_folder_needs_pillow_when_missing(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # what an environment without Pillow sees
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "a.png").write_bytes(b"\x89PNG")

    with pytest.raises(DataError, match="needs Pillow"):
        load_data(tmp_path)


def test_image_folder_reads_grayscale_classes(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    for label in ("0", "1"):
        (tmp_path / label).mkdir()
        image.fromarray(np.full((8, 8), 255 * int(label), dtype=np.uint8)).save(
            tmp_path / label / "a.png"
        )

    data = load_image_folder(tmp_path)

    assert data.x.shape == (2, 1, 8, 8) and data.y.tolist() == [0, 1]
    assert data.x[1].max() == 1.0


def test_image_folder_keeps_rgb_channels_and_size(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)  # H=12, W=20, RGB
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        image.fromarray(pixels).save(tmp_path / label / "a.png")

    data = load_image_folder(tmp_path)

    assert data.x.shape == (2, 3, 12, 20)
    assert np.array_equal(data.x[0], np.transpose(pixels, (2, 0, 1)) / np.float32(255.0))


def test_image_folder_with_mixed_channel_counts_is_refused(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    (tmp_path / "0").mkdir()
    image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "0" / "a.png")
    image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "0" / "b.png")

    with pytest.raises(DataError, match=r"b.png' is 3x8x8 .* the others are 1x8x8; images are "
                                        "never converted"):
        load_image_folder(tmp_path)
