"""Entrywise closeness, the rule of the notebooks' ``assert_close``: ``|found - expected| <=
atol + rtol * |expected|`` for every entry, in the same shape. The trusted checks of those cells
call the same function, so a cell and its trusted check agree."""
import numpy as np


def close_failure(found, expected, what, rtol, atol=0.0):
    """``None`` when ``found`` equals ``expected`` (same shape, within ``atol + rtol * |expected|``),
    else the sentence naming ``what``, both shapes or the worst entry with both values."""
    found, expected = np.asarray(found, dtype=float), np.asarray(expected, dtype=float)
    if found.shape != expected.shape:
        return f"{what}: expected shape {expected.shape}, found shape {found.shape}"
    bad = ~np.isclose(found, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    with np.errstate(invalid="ignore"):
        excess = np.where(bad, np.abs(found - expected) - rtol * np.abs(expected), -np.inf)
    excess = np.where(np.isnan(excess), np.inf, excess)   # a NaN entry is the worst one
    worst = np.unravel_index(np.argmax(excess), found.shape) if found.ndim else ()
    where = f" at index {tuple(int(i) for i in worst)}" if found.ndim else ""
    return (f"{what}: {int(bad.sum())} of {bad.size} entries differ; worst{where}: expected "
            f"{expected[worst]:.10g}, found {found[worst]:.10g} (tolerance rtol={rtol:g}, atol={atol:g})")
