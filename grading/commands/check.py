"""``backprop-labs check``: grade every registered gradient exercise of ``labs/`` (or ``--solutions``).

For each exercise with a ``build_model``: build a fresh model from the package, take the
first training batch, print the report table, and save tangent plots (first and last
layer's weights, at the entry with the largest derivative) as PNG files. Exits 1 when any
exercise fails, 2 when the data is missing.
"""
import importlib
from pathlib import Path


def add_arguments(parser):
    parser.add_argument("--solutions", action="store_true", help="check labs_solutions/ instead of labs/")
    parser.add_argument("--data", choices=["digits", "amazon"], default="digits",
                        help="digits ships with scikit-learn (no download); amazon is the books corpus")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $BACKPROP_LABS_DATA or ./data)")
    parser.add_argument("--exercise", action="append", default=None, metavar="NAME",
                        help="check only this exercise (repeatable); default: all registered")
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="seed of the grader's random choices")
    parser.add_argument("--plots", default="out/check", help="folder for the tangent plots (PNG)")


def run(args):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed

    from backprop_labs.datasets import load_amazon_books, load_digits_data
    from backprop_labs.paths import MissingDataError

    from grading.exercises.registry import registered_exercises

    package = importlib.import_module("labs_solutions" if args.solutions else "labs")
    try:
        data = load_digits_data() if args.data == "digits" else load_amazon_books(args.data_dir)
    except MissingDataError as error:
        print(error)
        return 2
    exercises = registered_exercises()
    names = args.exercise or [name for name, exercise in exercises.items() if exercise.build_model]
    unknown = sorted(set(names) - set(exercises))
    if unknown:
        print(f"unknown exercise(s) {unknown}; registered: {sorted(exercises)}")
        return 2
    plots = Path(args.plots)
    plots.mkdir(parents=True, exist_ok=True)
    print(f"Checking {package.__name__}/ on {data.name}, batch of {args.batch_size}; plots in {plots}/\n")
    outcomes = {name: _check_one(exercises[name], package, data, args, plots) for name in names}
    print("Summary: " + ", ".join(f"{name} {'passed' if ok else 'FAILED'}" for name, ok in outcomes.items()))
    return 0 if all(outcomes.values()) else 1


def _check_one(exercise, package, data, args, plots):
    """Print one exercise's report and save its plots; True when it passed."""
    try:
        exercise_data = exercise.load_data(args.data_dir) if exercise.load_data else data
        model = exercise.build_model(package, exercise_data)
        batch = exercise_data.batches("train", args.batch_size)[0]
    except Exception as error:  # noqa: BLE001 - one exercise must not stop the others
        print(f"{exercise.title} [{exercise.name}]: could not build the model: {type(error).__name__}: {error}\n")
        return False
    return print_report(exercise, model, batch, args.seed, plots)


def print_report(exercise, model, batch, seed=0, plots=None):
    """Print the grader's report of ``model`` on ``batch`` (and save tangent plots into the folder
    ``plots`` unless it is None); True when every check passed. Also used by ``backprop-labs demo``."""
    import grading

    try:
        report = grading.check_backpropagation(model, batch["input"], batch["output"], exercise=exercise, seed=seed)
    except Exception as error:  # noqa: BLE001 - a broken exercise description is reported, not raised
        print(f"{exercise.title} [{exercise.name}]: the grader failed: {type(error).__name__}: {error}\n")
        return False
    print(report)
    if plots is not None:
        for line in _tangent_plots(grading, exercise, model, batch, plots):
            print("  " + line)
    print()
    return report.passed


def _tangent_plots(grading, exercise, model, batch, plots):
    specs = exercise.parameter_specs(model)
    layers = sorted({spec.layer for spec in specs if spec.layer is not None and spec.role == "weight"})
    if not layers or any(len(spec.path) != 2 for spec in specs):
        return ["tangent plots: not available for this exercise's parameter layout"]
    lines = []
    for layer in sorted({layers[0], layers[-1]}):
        path = plots / f"{exercise.name}_layer{layer}_weight.png"
        try:
            result = grading.tangent_check(model, batch, layer, False, exercise=exercise, path=path)
        except Exception as error:  # noqa: BLE001 - e.g. the student's forward pass raises
            lines.append(f"tangent plot of layer {layer} weight skipped: {type(error).__name__}: {error}")
            continue
        lines.append(f"tangent: {result} -> {path}")
    return lines
