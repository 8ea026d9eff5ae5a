"""Read back what the sandbox wrote, trusting nothing: schema, token, dtypes, shapes, finiteness.

The student side writes ``status.json`` (the run token and, per check and case, ``ok`` or an
error message) and one ``result-<check>.npz`` per check (plain arrays; loaded with
``allow_pickle=False``, so an object array or a pickle is refused, never unpickled). Any departure raises
:class:`ResultRejected` with a message for the feedback.
"""
import hmac
import io
import json
import secrets
import zipfile

import numpy as np

MAX_ARRAY_BYTES = 8 << 20
MAX_MESSAGE = 600


class ResultRejected(ValueError):
    """The files the sandbox left cannot be used as a result; the message says why."""


def new_nonce():
    """A fresh run token: the status must carry it, so no file made before this run counts."""
    return secrets.token_hex(16)


def read_status(raw, nonce, case_keys):
    """The validated status of a one-check run: ``{'cases': {key: {'ok': bool, 'error': str}},
    'cells': [...], 'import_error': str or None}``."""
    return _clean_section(_parse_status(raw, nonce), case_keys)


def read_check_statuses(raw, nonce, case_keys_by_check):
    """The validated statuses of a run of several checks (``{'nonce', 'checks': {name:
    section}}``): ``{check name: section as read_status returns it}`` for each check that
    finished; a check absent from the file is absent here (its process ended first)."""
    checks = _parse_status(raw, nonce).get("checks")
    if not isinstance(checks, dict):
        raise ResultRejected("the status file has no per-check results")
    return {name: _clean_section(checks[name], case_keys) for name, case_keys in case_keys_by_check.items()
            if name in checks}


def _parse_status(raw, nonce):
    if raw is None:
        raise ResultRejected("no status was written")
    try:
        status = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultRejected(f"the status file is not valid JSON ({error})") from None
    except RecursionError:  # json nests one Python call per level: a deep file exhausts the stack
        raise ResultRejected("the status file is nested too deeply to be a status") from None
    if not isinstance(status, dict) or not isinstance(status.get("nonce"), str):
        raise ResultRejected("the status file does not have the expected fields")
    if not hmac.compare_digest(status["nonce"].encode(), nonce.encode()):
        raise ResultRejected("the status file does not carry this run's token (it was not written by "
                             "this grading run)")
    return status


def _clean_section(status, case_keys):
    cases = status.get("cases") if isinstance(status, dict) else None
    if not isinstance(cases, dict):
        raise ResultRejected("the status file has no per-case results")
    clean = {}
    for key in case_keys:
        entry = cases.get(key)
        if entry is None:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("ok"), bool):
            raise ResultRejected(f"the status of case {key} is malformed")
        clean[key] = {"ok": entry["ok"], "error": _text(entry.get("error"))}
    cells = status.get("cells") if isinstance(status.get("cells"), list) else []
    return {"cases": clean,
            "cells": [{"cell": _text(c.get("cell")), "error": _text(c.get("error"))}
                      for c in cells[:20] if isinstance(c, dict)],
            "import_error": _text(status.get("import_error")) or None}


def _text(value):
    return value[:MAX_MESSAGE] if isinstance(value, str) else ""


def read_arrays(raw, expected_shapes):
    """``(arrays, problems)``: float64 arrays by name, and a message for each unusable one.

    Each member is size-checked before it is loaded (no zip bomb), must be a real number
    array of exactly the expected shape, and finite. Names absent from the archive are in
    neither dict (the status says why they are missing). An archive that cannot be read
    at all raises ``ResultRejected``.
    """
    if raw is None:
        return {}, {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    except zipfile.BadZipFile:
        raise ResultRejected("the result file is not an .npz archive") from None
    arrays, problems = {}, {}
    for name, shape in expected_shapes.items():
        member = f"{name}.npy"
        if member not in sizes:
            continue
        try:
            arrays[name] = _checked_array(archive, member, sizes[member], shape)
        except ResultRejected as problem:
            problems[name] = str(problem)
    return arrays, problems


def _checked_array(archive, member, size, shape):
    if size > MAX_ARRAY_BYTES:
        raise ResultRejected(f"holds {size} bytes, more than a {tuple(shape)} array needs")
    try:
        array = np.lib.format.read_array(io.BytesIO(archive.read(member)), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ResultRejected(f"is not a plain numeric array ({error})") from None
    if array.dtype.kind not in "fiu":
        raise ResultRejected(f"has dtype {array.dtype}, expected real numbers")
    if tuple(array.shape) != tuple(shape):
        raise ResultRejected(f"has shape {tuple(array.shape)}, expected {tuple(shape)}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ResultRejected("contains NaN or infinite values")
    return array
