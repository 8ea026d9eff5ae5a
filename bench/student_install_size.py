"""Where a student's install goes on disk: ``python bench/student_install_size.py VENV [ROOT ...]``.

Reads the ``*.dist-info/RECORD`` files of VENV's site-packages (nothing is imported from VENV) and
prints each installed distribution's size (the files its RECORD lists, which with pip include the
``.pyc`` files compiled at install), then, for each ROOT requirement (default: what the README's "What students
install" asks for) and each of its direct requirements, how much leaving it out would save (what
nothing else installed needs), and the whole venv as ``du``
counts it. Sizes are apparent sizes in MiB (2**20 bytes).
"""
import argparse
import email.parser
import os
import re
import sys
from pathlib import Path

MIB = 2 ** 20
STUDENT_ROOTS = ("backprop-labs-student", "jupyterlab")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(metadata, extras=()):
    """Canonical names of a distribution's ``Requires-Dist`` (an ``email.message.Message``): those
    without an ``extra ==`` marker, and those of the ``extras`` asked for (optional extras nobody
    asked for are not installed)."""
    names = set()
    for requirement in metadata.get_all("Requires-Dist") or ():
        name, _, marker = requirement.partition(";")
        wanted = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if not wanted or set(map(canonical, wanted)) & set(map(canonical, extras)):
            names.add(canonical(re.match(r"[A-Za-z0-9._-]+", name.strip()).group(0)))
    return names


def installed(site):
    """``{name: (bytes, required names)}`` for every distribution in the site-packages folder ``site``."""
    distributions = {}
    for info in site.glob("*.dist-info"):
        if not (info / "METADATA").is_file() or not (info / "RECORD").is_file():
            print(f"{info.name}: no METADATA or RECORD, left out", file=sys.stderr)
            continue
        metadata = email.parser.Parser().parsestr((info / "METADATA").read_text(encoding="utf-8", errors="replace"))
        requires = requirement_names(metadata)
        size = 0
        for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
            path = site / line.rsplit(",", 2)[0]
            if path.is_file():
                size += path.stat().st_size
        distributions[canonical(metadata["Name"])] = (size, requires)
    return distributions


def closure(roots, distributions):
    seen, stack = set(), [canonical(root) for root in roots]
    while stack:
        name = stack.pop()
        if name in seen or name not in distributions:
            continue
        seen.add(name)
        stack.extend(distributions[name][1])
    return seen


def disk_size(folder):
    return sum(os.path.getsize(os.path.join(top, name)) for top, _, names in os.walk(folder) for name in names
               if not os.path.islink(os.path.join(top, name)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("venv", type=Path)
    parser.add_argument("roots", nargs="*", default=STUDENT_ROOTS, help="top-level requirements to attribute to")
    arguments = parser.parse_args(argv)
    sites = sorted(arguments.venv.glob("lib/python3*/site-packages"))
    if not sites:
        parser.error(f"{arguments.venv}: no lib/python3*/site-packages (not a virtual environment?)")
    site = sites[0]
    distributions = installed(site)
    print(f"{'distribution':32} {'MiB':>7}")
    for name, (size, _) in sorted(distributions.items(), key=lambda item: -item[1][0]):
        print(f"{name:32} {size / MIB:7.1f}")
    print(f"{'all distributions':32} {sum(size for size, _ in distributions.values()) / MIB:7.1f}")
    print(f"{'the whole venv':32} {disk_size(arguments.venv) / MIB:7.1f}")
    print()
    everything = closure(arguments.roots, distributions)
    total = sum(distributions[name][0] for name in everything)
    print(f"the roots {', '.join(arguments.roots)}: {total / MIB:.1f} MiB; what leaving out one requirement saves:")
    for root in arguments.roots:
        if canonical(root) not in distributions:
            print(f"  {root}: not installed")
            continue
        direct = sorted(distributions[canonical(root)][1] & set(distributions))
        for requirement in [canonical(root), *direct]:
            kept = [other for other in arguments.roots if canonical(other) != canonical(root)]
            if requirement != canonical(root):
                kept += [root_direct for root_direct in direct if root_direct != requirement]
            without = closure(kept, distributions)
            if requirement != canonical(root):
                without.add(canonical(root))
            saved = sum(distributions[name][0] for name in everything - without)
            label = root if requirement == canonical(root) else f"  {requirement}"
            print(f"  {label:30} {saved / MIB:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
