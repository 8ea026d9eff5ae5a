"""``backprop-labs check``: grade every registered gradient exercise of ``labs/`` (or ``--solutions``).

Which ``labs/``: ``--path`` if given; else the current folder when it is a ``labs`` package
or holds one (a student's release folder, or a copy of ``labs/``); else the repository's own.
The folder checked is printed first. A release folder checks only what its assignment asks
(``checks`` in ``grading/course/assignments.py``; the assignment is told by the notebook next to
``labs/``): a shipped module may hold another lab's stub (the GLM ships ``pytorch_mlp.py`` without
asking for 2.4), so the other exercises are listed as skipped, not run. Elsewhere every exercise
is checked, and one whose code is not in the folder is listed as not in it, not as a failure.

For each exercise with a ``build_model``: build a fresh model from the package, take the
first training batch, print the report table, and save tangent plots (first and last
layer's weights, at the entry with the largest derivative) as PNG files. Exits 1 when any
exercise fails, 2 when the data is missing.
"""
import importlib
import pkgutil
import sys
from pathlib import Path

PACKAGE = "labs"


def add_arguments(parser):
    parser.add_argument("--solutions", action="store_true", help="check labs_solutions/ instead of labs/")
    parser.add_argument("--path", default=None,
                        help="the labs/ folder to check, or the folder that holds it (default: the current "
                             "folder if it is or holds labs/, else the repository's labs/)")
    parser.add_argument("--data", choices=["digits", "amazon"], default="digits",
                        help="digits ships with scikit-learn (no download); amazon is the books corpus")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $BACKPROP_LABS_DATA or ./data)")
    parser.add_argument("--exercise", action="append", default=None, metavar="NAME",
                        help="check only this exercise (repeatable); default: all registered")
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="seed of the grader's random choices")
    parser.add_argument("--plots", default="out/check", help="folder for the tangent plots (PNG)")


def run(args):
    """Check, then put the import system back as it was (the ``labs`` modules of the folder checked
    and its import finder are removed), so that a caller in the same process is unaffected."""
    saved_modules = {name: module for name, module in sys.modules.items() if _is_labs(name)}
    saved_finders = list(sys.meta_path)
    try:
        return _run(args)
    finally:
        for name in [name for name in sys.modules if _is_labs(name)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.meta_path[:] = saved_finders


def _is_labs(module_name):
    return module_name == PACKAGE or module_name.startswith(f"{PACKAGE}.")


def _run(args):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed

    from backprop_labs.datasets import load_amazon_books, load_digits_data
    from backprop_labs.paths import MissingDataError

    from grading.gradient_check.registry import registered_exercises

    try:
        package, checked = (importlib.import_module("labs_solutions"), None) if args.solutions else \
            _student_package(args.path)
    except LabsFolderError as error:
        print(error)
        return 2
    try:
        data = load_digits_data() if args.data == "digits" else load_amazon_books(args.data_dir)
    except MissingDataError as error:
        print(error)
        return 2
    exercises = registered_exercises()
    names, assignment = _exercises_to_check(args.exercise, exercises, checked)
    unknown = sorted(set(names) - set(exercises))
    if unknown:
        print(f"unknown exercise(s) {unknown}; registered: {sorted(exercises)}")
        return 2
    skipped = [name for name, exercise in exercises.items() if exercise.build_model and name not in names] \
        if assignment else []
    plots = Path(args.plots)
    plots.mkdir(parents=True, exist_ok=True)
    folder = checked or Path(package.__file__).parent
    print(f"Checking {folder} on {data.name}, batch of {args.batch_size}; plots in {plots}/")
    if assignment:
        print(f"Assignment {assignment}: checking its exercises only ({', '.join(names) or 'none'}); "
              f"skipped, not part of it: {', '.join(skipped)} (--exercise NAME checks one anyway)")
    print()
    if not names:
        print(f"This command checks no exercise of {assignment}: the notebook's test cells check it.")
        return 2
    outcomes = {name: _check_one(exercises[name], package, data, args, plots) for name in names}
    absent = [name for name, ok in outcomes.items() if ok is None]
    print("Summary: " + ", ".join(f"{name} {'passed' if ok else 'FAILED'}" for name, ok in outcomes.items()
                                  if ok is not None)
          + (f"; not in {folder}: {', '.join(absent)}" if absent else "")
          + (f"; skipped (not in assignment {assignment}): {', '.join(skipped)}" if skipped else ""))
    if len(absent) == len(outcomes):
        print(f"{folder} has none of the exercises checked: is it a labs/ folder?")
        return 2
    return 0 if all(ok for ok in outcomes.values() if ok is not None) else 1


def _exercises_to_check(asked, exercises, folder):
    """``(names, assignment)``: the exercises given with ``--exercise``; else, in an assignment's
    folder (``folder`` is its ``labs/``), those the assignment asks for; else every exercise that
    ``check`` can build. ``assignment`` is None unless it chose."""
    from grading.course.assignments import ASSIGNMENTS, assignment_in_folder

    if asked:
        return asked, None
    every = [name for name, exercise in exercises.items() if exercise.build_model]
    assignment = assignment_in_folder(folder.parent) if folder is not None else None
    if assignment is None:
        return every, None
    return [name for name in every if name in ASSIGNMENTS[assignment]["checks"]], assignment


class LabsFolderError(ValueError):
    """The folder to check is not a ``labs`` package."""


class NotInFolder(AttributeError):
    """The checked folder does not have the module an exercise needs (a release ships only its own)."""


class _LabsNamespace:
    """Every public name of a ``labs`` package and its modules, as ``build_model`` reads them
    (``package.NumpyMLP``): a release's ``labs/__init__.py`` imports nothing."""

    def __init__(self, package, folder):
        self.__name__, self.__file__, self._folder, self._names = package.__name__, package.__file__, folder, {}
        for module_info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            module = importlib.import_module(module_info.name)
            self._names.update({name: value for name, value in vars(module).items() if not name.startswith("_")})
        self._names.update({name: value for name, value in vars(package).items() if not name.startswith("_")})

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._names[name]
        except KeyError:
            raise NotInFolder(f"{self._folder} has no {name}") from None


class _FolderOnly:
    """Import finder: ``labs`` and its modules come from ``folder`` only (an installed ``labs``,
    e.g. the repository's in editable mode, would otherwise fill in modules the folder lacks)."""

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, name, path=None, target=None):
        from importlib.machinery import PathFinder

        if not _is_labs(name):
            return None
        spec = PathFinder.find_spec(name, [str(self.folder.parent)] if name == PACKAGE else path)
        if spec is None:
            raise ModuleNotFoundError(f"{self.folder} has no module {name}", name=name)
        return spec


def _labs_folder(path):
    """The ``labs`` package folder meant by ``path`` (itself or its ``labs/`` child), or None."""
    path = Path(path).resolve()
    for candidate in (path, path / PACKAGE):
        if candidate.name == PACKAGE and (candidate / "__init__.py").is_file():
            return candidate
    return None


def _student_package(path=None):
    """``(package, folder)``: the ``labs`` package to check, imported from its folder."""
    if path is not None:
        folder = _labs_folder(path)
        if folder is None:
            raise LabsFolderError(f"{Path(path).resolve()} is not a labs/ package (no labs/__init__.py there "
                                  f"or in it): give --path the labs/ folder or the folder that holds it")
    else:
        folder = _labs_folder(Path.cwd())
    if folder is None:
        from backprop_labs.paths import REPOSITORY_ROOT

        folder = REPOSITORY_ROOT / PACKAGE
        print(f"No labs/ in the current folder: checking the repository's {folder} (use --path for another)")
    for name in [name for name in sys.modules if _is_labs(name)]:
        del sys.modules[name]  # an earlier import may come from another folder
    sys.meta_path.insert(0, _FolderOnly(folder))
    package = importlib.import_module(PACKAGE)
    return _LabsNamespace(package, folder), folder


def _check_one(exercise, package, data, args, plots):
    """Print one exercise's report and save its plots; True when it passed, None when its code
    is not in the folder checked."""
    try:
        exercise_data = exercise.load_data(args.data_dir) if exercise.load_data else data
        model = exercise.build_model(package, exercise_data)
        batch = exercise_data.batches("train", args.batch_size)[0]
    except (NotInFolder, ModuleNotFoundError) as error:
        missing = isinstance(error, NotInFolder) or (error.name or "").startswith(f"{PACKAGE}.")
        if missing:
            print(f"{exercise.title} [{exercise.name}]: not checked: {error}\n")
            return None
        print(f"{exercise.title} [{exercise.name}]: could not build the model: {type(error).__name__}: {error}\n")
        return False
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
