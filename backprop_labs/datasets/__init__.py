"""Data sets of the labs, each returned as a :class:`LabData` with train and test splits."""
from .base import LabData
from .amazon import load_amazon_books
from .digits import load_digits_data

__all__ = ["LabData", "load_amazon_books", "load_digits_data"]
