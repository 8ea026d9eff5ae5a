"""Forward vs reverse mode: counted operations and measured times as d, m and L grow.

    python -m bench.forward_reverse_ops [--plot costs.png] [--repeats 5]

Prints one row per size (one size varied at a time from d=256, m=64, L=8, K=1): counted
operations of both modes and their ratio next to the text's estimates ~2Lm^2d and
~2Lm^2+2md, and the best-of-repeats time of each mode's products with the time ratio,
all measured side by side in this run, with BLAS on one thread (see ``scaling.measure``).
With --plot, also saves the figure.
"""
import argparse

from labs_solutions.forward_reverse.scaling import plot_costs, sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="save the operations/time figure at this path")
    parser.add_argument("--repeats", type=int, default=5, help="timings per mode and size (best is kept)")
    args = parser.parse_args(argv)

    measurements = sweep(repeats=args.repeats)
    header = (f"{'vary':>5} {'d':>5} {'m':>4} {'L':>3} | {'fwd ops':>11} {'~2Lm^2d':>11} {'rev ops':>9} "
              f"{'~2Lm^2+2md':>10} {'fwd/rev':>7} | {'fwd s':>9} {'rev s':>9} {'fwd/rev':>7}")
    print(header)
    print("-" * len(header))
    for name, rows in measurements.items():
        for row in rows:
            print(f"{'L' if name == 'num_layers' else name:>5} {row['d']:>5} {row['m']:>4} {row['num_layers']:>3} | "
                  f"{row['forward_operations']:>11,} {row['forward_estimate']:>11,} {row['reverse_operations']:>9,} "
                  f"{row['reverse_estimate']:>10,} {row['forward_operations'] / row['reverse_operations']:>7.1f} | "
                  f"{row['forward_seconds']:>9.2e} {row['reverse_seconds']:>9.2e} "
                  f"{row['forward_seconds'] / row['reverse_seconds']:>7.1f}")
    if args.plot:
        plot_costs(args.plot, measurements)
        print(f"figure saved to {args.plot}")


if __name__ == "__main__":
    main()
