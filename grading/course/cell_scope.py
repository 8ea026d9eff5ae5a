"""Which part of a trusted check one nbgrader test cell scores (no NumPy or torch here: the
assignment table imports it)."""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class CellScope:
    """What one test cell scores of a trusted check, so that the trusted score of an honest
    submission is the in-kernel score of that cell: the cases whose network is of the kinds
    the cell's test uses, and of their gradients only the output layer's when the test checks
    only that layer.

    ``networks``: the allowed tuples of hidden activations (``()`` is a softmax layer alone);
    ``None`` keeps every case, as do cases that are not networks (no ``activations``).
    ``cases``: the keys of the cases the cell scores (``None``: chosen by ``networks``);
    ``arrays``: the names of the results the cell compares (``None``: every one).
    ``all_or_nothing``: the cell's test stops at its first failing assert, so it gets its points only
    when every case of its scope matches (else points x the fraction of matching cases).
    """

    description: str = "every case"
    networks: Optional[tuple] = None
    output_layer_only: bool = False
    cases: Optional[tuple] = None
    arrays: Optional[tuple] = None
    all_or_nothing: bool = True    # every test cell of the course stops at its first failing assert

    def selects(self, case):
        if self.cases is not None:
            return case.key in self.cases
        activations = getattr(case, "activations", None)
        return self.networks is None or activations is None or tuple(activations[:-1]) in self.networks

    def layers(self, case):
        """The layers whose gradients this cell reads: the output layer's alone when asked, else None (all)."""
        return {len(case.geometry) - 2} if self.output_layer_only and hasattr(case, "geometry") else None

    def keep(self, case, arrays):
        """``arrays`` without the gradients of layers below the output layer, when asked, and
        only the named ones when the scope names them."""
        if self.arrays is not None:
            arrays = {name: array for name, array in arrays.items() if name in self.arrays}
        if not self.output_layer_only:
            return arrays
        last = len(case.geometry) - 2
        return {name: array for name, array in arrays.items()
                if not name.startswith(("dW", "db")) or name[2:] == str(last)}


EVERY_CASE = CellScope(all_or_nothing=False)   # a whole check: the fraction of its cases
SIGMOID_NETWORKS = (("sigmoid",),)                        # the lab's network: one sigmoid layer, then softmax
DEEP_NETWORKS = (("tanh", "relu"), ("relu", "sigmoid"))  # three layers with tanh and ReLU
