"""Data sets of the labs: classification sets as :class:`LabData` (train and test splits), the
Advertising regression data as float64 arrays (:class:`AdvertisingData`)."""
from .base import LabData
from .amazon import load_amazon_books
from .digits import load_digits_data
from .advertising import AdvertisingData, load_advertising
from .mnist import IdxFormatError, load_mnist, read_idx

__all__ = ["LabData", "load_amazon_books", "load_digits_data", "AdvertisingData", "load_advertising",
           "IdxFormatError", "load_mnist", "read_idx"]
