"""The 8x8 handwritten digits that scikit-learn ships: real data that needs no download."""
import numpy as np

from .base import LabData


def load_digits_data(test_fraction=0.2, seed=0):
    """Digits 0-9 as 64 pixel intensities scaled to [0, 1], split by a seeded permutation."""
    from sklearn.datasets import load_digits  # imported here: scikit-learn is slow to import

    digits = load_digits()
    features = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(labels.shape[0])
    num_test = int(round(test_fraction * labels.shape[0]))
    test, train = order[:num_test], order[num_test:]
    return LabData(
        {"train": (features[train], labels[train]), "test": (features[test], labels[test])},
        num_classes=10,
        name="digits",
    )
