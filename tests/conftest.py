"""Shared fixtures: the data sets, loaded once per test session."""
import pytest

from backprop_labs.paths import MissingDataError


def load_shared_data(loader, what):
    """Call a data loader. The data ships in data/, so a missing or corrupt file is a failure
    (never a skip), with the reader's message: which file, and what is wrong with it."""
    try:
        return loader()
    except MissingDataError as error:  # CorruptDataError included
        pytest.fail(f"the {what} cannot be loaded:\n{error}", pytrace=False)


@pytest.fixture(scope="session")
def books():
    """The Amazon books corpus (real data, from the data directory)."""
    from backprop_labs.datasets import load_amazon_books

    return load_shared_data(load_amazon_books, "books corpus")


@pytest.fixture(scope="session")
def advertising():
    """The Advertising data (real data, from the data directory)."""
    from backprop_labs.datasets import load_advertising

    return load_shared_data(load_advertising, "Advertising data")


@pytest.fixture(scope="session")
def digits():
    """The 8x8 digits shipped with scikit-learn (no download)."""
    from backprop_labs.datasets import load_digits_data

    return load_digits_data()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests with one torch thread, restored afterwards. For tiny networks extra
    threads only add overhead, and a lot of it when the cores are shared (4x measured)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class LoopbackListener:
    """A TCP listener on 127.0.0.1 that sandboxed code must not be able to reach."""

    def __init__(self):
        import socket

        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]

    def was_reached(self):
        """Whether anything connected (waits 0.2 s for a pending connection)."""
        import socket

        try:
            self._socket.accept()[0].close()
            return True
        except (socket.timeout, BlockingIOError):
            return False

    def close(self):
        self._socket.close()


@pytest.fixture(scope="module")
def loopback_listener():
    listener = LoopbackListener()
    yield listener
    listener.close()
