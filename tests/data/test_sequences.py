"""The generated sequence tasks: labels follow their definitions."""

import numpy as np
import pytest

from layerorder.data import load_dataset
from layerorder.data.base import DatasetError
from layerorder.data.sequences import dyck_word, make_brackets, make_modsum


def _balanced(word) -> bool:
    depth = np.cumsum(np.where(word == 1, 1, -1))
    return depth.min() >= 0 and depth[-1] == 0


def test_brackets_labels_say_whether_the_string_is_balanced():
    x, y = make_brackets(400, 16, seed=3)
    assert x.shape == (400, 2, 16) and set(y) == {0, 1}
    assert (x.sum(axis=1) == 1).all()  # one token per position
    for sample, label in zip(x, y):
        assert _balanced(sample[0]) == bool(label)
    rng = np.random.default_rng(0)
    assert all(_balanced(dyck_word(10, rng)) for _ in range(100))


def test_modsum_labels_are_the_digit_sum_modulo():
    x, y = make_modsum(300, 9, 7, seed=1)
    digits = x.argmax(axis=1)
    assert (digits.sum(axis=1) % 7 == y).all() and x.shape == (300, 7, 9)


def test_sequence_data_sets_load_with_options_and_reject_odd_lengths():
    d = load_dataset("modsum", num_samples=200, length=5, modulus=3)
    assert d.in_shape == (3, 5) and d.num_classes == 3 and len(d.x_train) == 160
    assert load_dataset("brackets", num_samples=100, length=8).in_shape == (2, 8)
    with pytest.raises(DatasetError, match="even"):
        load_dataset("brackets", length=7)
