"""A small made-up corpus in the books format, for ``--quick`` runs and the smoke test."""
import numpy as np

from backprop_labs.datasets.amazon import CLASSES, TRAIN_PER_CLASS


def write_tiny_corpus(directory, reviews_per_class=TRAIN_PER_CLASS + 10, vocabulary_size=300,
                      pairs_per_review=20, seed=0):
    """Write ``sentiment/books/<class>.review`` files under ``directory`` and return it.

    Every review has ``pairs_per_review`` distinct ``word:count`` pairs; each class
    prefers its own half of the vocabulary, so a model can learn something.
    """
    rng = np.random.default_rng(seed)
    books = directory / "sentiment" / "books"
    books.mkdir(parents=True, exist_ok=True)
    half = vocabulary_size // 2
    for label, label_name in enumerate(CLASSES):
        preference = np.ones(vocabulary_size)
        preference[label * half:(label + 1) * half] = 3.0
        preference /= preference.sum()
        lines = []
        for _ in range(reviews_per_class):
            words = rng.choice(vocabulary_size, size=pairs_per_review, replace=False, p=preference)
            pairs = [f"word{word}:{count}" for word, count in zip(words, rng.integers(1, 4, pairs_per_review))]
            lines.append(" ".join(pairs + [f"#label#:{label_name}"]))
        (books / f"{label_name}.review").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
