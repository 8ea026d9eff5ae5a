"""``python -m bench``: run the benchmarks and print the table (``--write``: to BENCHMARKS.md)."""
import argparse
import sys
import tempfile
from pathlib import Path

from backprop_labs.threads import ask_child_processes_for

from .runner import BENCHMARKS, carried_rows, failed, in_table_order, make_document, run_benchmarks
from .settings import REPOSITORY_ROOT, Settings
from .timing import limited_threads


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--suite", action="store_true",
                        help="also run the whole test suite (minutes) and record its wall time")
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings on a small made-up corpus: checks the bench runs, figures mean nothing")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per figure (default 7)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS and PyTorch threads for everything timed, child processes included "
                             "(default: the course's policy, 1 unless $BACKPROP_LABS_THREADS says more)")
    parser.add_argument("--data-dir", default=None, help="data directory (default: ./data)")
    parser.add_argument("--write", action="store_true", help="write the table to BENCHMARKS.md")
    parser.add_argument("--output", type=Path, default=None, help="write the table to this markdown file")
    parser.add_argument("--class-size", type=int, default=None,
                        help="submissions in row 7's class (default 40; the 1,000-submission projection follows it)")
    parser.add_argument("--only", default=None,
                        help="comma-separated benchmark keys to run (e.g. 7); with --write or --output, the "
                             "other benchmarks' rows are carried over from the file, marked as such")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        if args.quick:
            from .tiny_corpus import write_tiny_corpus

            settings = Settings.quick_settings(args.data_dir or write_tiny_corpus(Path(scratch)))
        else:
            settings = Settings(data_dir=args.data_dir)
        settings.run_suite = args.suite
        settings.command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
        if args.repeats:
            settings.repeats = args.repeats
        if args.class_size:
            settings.class_submissions = args.class_size
        if args.threads is not None:
            ask_child_processes_for(args.threads)
        import scipy.linalg  # noqa: F401 - loads SciPy's own BLAS now, so that the policy limits it too
        import torch  # noqa: F401 - likewise PyTorch's thread pool
        with limited_threads(args.threads):
            only = [key.strip() for key in args.only.split(",")] if args.only else None
            rows = run_benchmarks(settings, report=lambda line: print(line, file=sys.stderr), only=only)
            output = args.output or (REPOSITORY_ROOT / "BENCHMARKS.md" if args.write else None)
            if only and output is not None and output.exists():
                others = [key for key, _, _ in BENCHMARKS if key not in only]
                rows = in_table_order(rows + carried_rows(output.read_text(encoding="utf-8"), others))
            document = make_document(rows, settings)   # inside: its header names the threads the rows ran with
    print(document)
    if output is not None:
        output.write_text(document, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 1 if failed(rows) else 0


if __name__ == "__main__":
    sys.exit(main())
