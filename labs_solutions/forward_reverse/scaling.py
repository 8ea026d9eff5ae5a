"""How forward and reverse mode scale with the input size ``d``, the width ``m`` and the
depth ``L``: counted operations next to the estimates ``2 L m^2 d`` and ``2 L m^2 + 2 m d``,
and measured times, in a table of measurements and a figure.
"""
import timeit

from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from .modes import (OperationCounter, chain_forward, forward_mode_estimate, forward_mode_gradient,
                    loss_jacobian, make_chain, reverse_mode_estimate, reverse_mode_gradient)

MODES = {"forward": forward_mode_gradient, "reverse": reverse_mode_gradient}
BASE_SIZES = {"d": 256, "m": 64, "num_layers": 8}
SWEEPS = {"d": [16, 64, 256, 1024], "m": [16, 32, 64, 128], "num_layers": [2, 4, 8, 16]}
AXIS_LABELS = {"d": "input size d", "m": "width m", "num_layers": "depth L"}


def measure(d, m, num_layers, num_outputs=1, repeats=3, number=None, seed=0):
    """One row of measurements for a linear chain of the given sizes.

    Keys: the sizes; ``{mode}_operations`` (counted); ``{mode}_estimate`` (leading terms);
    ``{mode}_seconds``: per call, the best of ``repeats`` timings of ``number`` calls
    (``None``: as many as fill 0.2 s, so that small sizes are not lost in timer noise) of
    the products alone; the forward pass and the Jacobians are shared by both modes and
    built once, outside the timing.
    """
    weights, x, y = make_chain(d, m, num_layers, num_outputs, seed)
    z, jacobians = chain_forward(weights, x)
    row = loss_jacobian(z, y)
    result = {"d": d, "m": m, "num_layers": num_layers, "num_outputs": num_outputs,
              "forward_estimate": forward_mode_estimate(d, m, num_layers),
              "reverse_estimate": reverse_mode_estimate(d, m, num_layers)}
    for name, gradient_by in MODES.items():
        counter = OperationCounter()
        gradient_by(jacobians, row, counter)
        result[f"{name}_operations"] = counter.operations
        # One BLAS thread: on a shared machine a multi-threaded product waits for busy cores,
        # and that wait, not the arithmetic, would dominate the timings.
        with threadpool_limits(limits=1):
            timer = timeit.Timer(lambda: gradient_by(jacobians, row))
            calls = timer.autorange()[0] if number is None else number
            result[f"{name}_seconds"] = min(timer.repeat(repeat=repeats, number=calls)) / calls
    return result


def sweep(sweeps=None, base=None, **measure_options):
    """``{size name: [measure(...) for each value]}``, varying one size at a time from ``base``."""
    sweeps = SWEEPS if sweeps is None else sweeps
    base = BASE_SIZES if base is None else base
    return {name: [measure(**{**base, name: value}, **measure_options) for value in values]
            for name, values in sweeps.items()}


def plot_costs(path, measurements=None, **sweep_options):
    """Save a 2 x 3 figure at ``path``: operations (top) and seconds (bottom) against
    ``d``, ``m`` and ``L``, log-log; returns the measurements it plotted."""
    measurements = sweep(**sweep_options) if measurements is None else measurements
    figure = Figure(figsize=(13, 7.5), layout="constrained")
    axes = figure.subplots(2, len(measurements), squeeze=False)
    for column, (name, rows) in enumerate(measurements.items()):
        sizes = [row[name] for row in rows]
        fixed = ", ".join(f"{key if key != 'num_layers' else 'L'}={rows[0][key]}"
                          for key in ("d", "m", "num_layers") if key != name)
        top, bottom = axes[0][column], axes[1][column]
        for mode, marker in (("forward", "o"), ("reverse", "s")):
            top.plot(sizes, [row[f"{mode}_operations"] for row in rows], marker=marker,
                     label=f"{mode} mode, counted")
            bottom.plot(sizes, [row[f"{mode}_seconds"] for row in rows], marker=marker,
                        label=f"{mode} mode")
        top.plot(sizes, [row["forward_estimate"] for row in rows], "k--", label="2 L m^2 d")
        top.plot(sizes, [row["reverse_estimate"] for row in rows], "k:", label="2 L m^2 + 2 m d")
        top.set_title(f"operations vs {AXIS_LABELS[name]} ({fixed})")
        bottom.set_title(f"measured time vs {AXIS_LABELS[name]}")
        bottom.set_ylabel("seconds (best of repeats)")
        top.set_ylabel("elementary operations")
        for axis in (top, bottom):
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xlabel(AXIS_LABELS[name])
            axis.grid(True, which="major", alpha=0.3)
            axis.legend(fontsize=8)
    figure.savefig(path, dpi=110)
    return measurements
