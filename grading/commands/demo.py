"""``backprop-labs demo``: the main job.

Trains the reference log-linear model and the NumPy and PyTorch MLPs, printing test
accuracy after every epoch, then checks the NumPy MLP's backpropagation against
PyTorch autograd and prints the gradient check table. Runs on the 8x8 digits that
scikit-learn ships (no download) unless ``--data amazon`` is given.
"""
import importlib

from backprop_labs.paths import MissingDataError


def add_arguments(parser):
    parser.add_argument("--data", choices=["digits", "amazon"], default="digits",
                        help="digits needs no download; amazon reads the books corpus")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $BACKPROP_LABS_DATA or ./data)")
    parser.add_argument("--package", choices=["labs_solutions", "labs"], default="labs_solutions",
                        help="labs_solutions for the reference code, labs for the student's")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per model")


SETTINGS = {  # per data set: hidden layer size, learning rate, batch size, epochs
    "digits": dict(hidden=32, learning_rate=0.5, batch_size=30, epochs=5),
    "amazon": dict(hidden=20, learning_rate=0.05, batch_size=30, epochs=3),
}


def run(args):
    from backprop_labs.datasets import load_amazon_books, load_digits_data
    from backprop_labs.training import train

    settings = SETTINGS[args.data]
    epochs = args.epochs or settings["epochs"]
    try:
        data = load_digits_data() if args.data == "digits" else load_amazon_books(args.data_dir)
    except MissingDataError as error:
        print(error)
        return 2
    package = importlib.import_module(args.package)
    print(f"Data: {data.name}, {data.size('train')} train / {data.size('test')} test, "
          f"{data.num_features} features, {data.num_classes} classes; code from {args.package}/")
    geometry = [data.num_features, settings["hidden"], data.num_classes]
    models = {
        "NumpyLogLinear": lambda: package.NumpyLogLinear(
            input_size=data.num_features, num_classes=data.num_classes,
            learning_rate=settings["learning_rate"]),
        "NumpyMLP": lambda: package.NumpyMLP(geometry, ["sigmoid", "softmax"], settings["learning_rate"]),
        "PytorchMLP": lambda: package.PytorchMLP(geometry, ["sigmoid", "softmax"], settings["learning_rate"]),
    }
    status = 0
    for name, make_model in models.items():
        print(f"\n{name} {geometry if 'MLP' in name else ''}".rstrip())
        try:
            train(make_model(), data, epochs, settings["batch_size"])
        except NotImplementedError as error:
            print(f"  stopped: {error}")
            status = 1
    status = max(status, _gradient_check(package, data, geometry))
    return status


def _gradient_check(package, data, geometry):
    """Print the grader's table for a fresh NumPy MLP (the ``check`` command's report); 0 when it passes."""
    from grading.gradient_check.registry import get_exercise

    from .check import print_report

    print("\nGradient check of NumpyMLP.backpropagation against PyTorch autograd")
    batch = data.batches("train", batch_size=30)[0]
    model = package.NumpyMLP(geometry, ["sigmoid", "softmax"], 0.1)
    return 0 if print_report(get_exercise("numpy_mlp"), model, batch) else 1
