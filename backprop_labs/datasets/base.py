"""A classification data set split into train and test, served in mini-batches."""
import numpy as np
import scipy.sparse


class LabData:
    """Train and test splits of a classification data set.

    ``splits`` maps a split name to ``(features, labels)``: ``features`` is a
    ``(N, I)`` array or SciPy sparse matrix, ``labels`` an int array ``(N,)``.
    Sparse features stay sparse in memory; each batch is handed out as a dense
    float32 array so that models can use plain NumPy and PyTorch operations.
    """

    def __init__(self, splits, num_classes, feature_names=None, name=""):
        self.splits = dict(splits)
        self.num_classes = num_classes
        self.feature_names = feature_names
        self.name = name
        self.num_features = next(iter(self.splits.values()))[0].shape[1]

    def size(self, split):
        """Number of examples in a split."""
        return self.splits[split][1].shape[0]

    def batches(self, split, batch_size=None, shuffle=False, seed=None):
        """List of batches ``{'input': (B, I) float32, 'output': (B,) int}`` of a split.

        ``batch_size=None`` gives the whole split as one batch; the last batch may be
        smaller. With ``shuffle=True`` the order is a permutation drawn from ``seed``.
        """
        if split not in self.splits:
            raise KeyError(f"unknown split {split!r}; this data set has {sorted(self.splits)}")
        features, labels = self.splits[split]
        num_examples = labels.shape[0]
        order = np.arange(num_examples)
        if shuffle:
            order = np.random.default_rng(seed).permutation(num_examples)
        step = num_examples if batch_size is None else int(batch_size)
        if step <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        return [
            {"input": _dense_float32(features[order[start:start + step]]),
             "output": labels[order[start:start + step]]}
            for start in range(0, num_examples, step)
        ]


def _dense_float32(features):
    if scipy.sparse.issparse(features):
        return features.toarray().astype(np.float32, copy=False)
    return np.asarray(features, dtype=np.float32)
