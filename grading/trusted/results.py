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
        if "session" in entry:
            clean[key]["session"] = clean_session(entry["session"], key)
        if isinstance(entry.get("raised"), dict):
            clean[key]["raised"] = {field: _text(entry["raised"].get(field)) for field in RAISED_FIELDS}
    cells = status.get("cells") if isinstance(status.get("cells"), list) else []
    return {"cases": clean,
            "cells": [{"cell": _text(c.get("cell")), "error": _text(c.get("error"))}
                      for c in cells[:20] if isinstance(c, dict)],
            "import_error": _text(status.get("import_error")) or None}


RAISED_FIELDS = ("type", "message", "where", "inside")   # grading.policy.errors.raised
MAX_SKELETON_NODES = 4096



def clean_skeleton(skeleton, key):
    """The structure of a returned value (``student_side.Returned``), checked form by form: ``None``,
    booleans, ``{"number": float}``, ``{"array": name, "kind": ...}``, ``{"object": type name}``, and
    ``{"list"|"tuple": [...]}`` / ``{"dict": [[key, ...], ...]}`` of those; raises ``ResultRejected``."""
    count = [0]

    def clean(node, depth):
        count[0] += 1
        if count[0] > MAX_SKELETON_NODES or depth > 16:
            raise ResultRejected(f"the returned value of case {key} is larger than a result can be")
        if node is None or isinstance(node, bool):
            return node
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise ResultRejected(f"the returned value of case {key} is malformed")
        if isinstance(node.get("number"), (int, float)) and len(node) == 1:
            return {"number": float(node["number"])}
        if isinstance(node.get("array"), str) and node.get("kind") in ARRAY_KINDS and len(node) == 2:
            return {"array": node["array"][:40], "kind": node["kind"]}
        if isinstance(node.get("ref"), int) and not isinstance(node["ref"], bool) and len(node) == 1:
            return {"ref": node["ref"]}
        if isinstance(node.get("object"), str) and len(node) == 1:
            return {"object": node["object"][:80]}
        for kind in ("list", "tuple"):
            if isinstance(node.get(kind), list) and len(node) == 1:
                return {kind: [clean(item, depth + 1) for item in node[kind]]}
        if isinstance(node.get("dict"), list) and len(node) == 1 and all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int)) for pair in node["dict"]):
            return {"dict": [[name, clean(item, depth + 1)] for name, item in node["dict"]]}
        raise ResultRejected(f"the returned value of case {key} is malformed")

    return clean(skeleton, 0)


ARRAY_KINDS = ("array", "tensor", "matrix", "list", "scalar")


MAX_CALLS = 32


def clean_session(session, key):
    """A recorded session (``student_side.Session``): ``{'calls': {name: {'returned': skeleton} or
    {'raised': fields}}, 'modified': {'parameters': [index], 'batch': [name]}}``, checked; raises
    ``ResultRejected``."""
    calls = session.get("calls") if isinstance(session, dict) else None
    modified = session.get("modified", {}) if isinstance(session, dict) else None
    if not isinstance(calls, dict) or len(calls) > MAX_CALLS or not isinstance(modified, dict):
        raise ResultRejected(f"the recorded calls of case {key} are malformed")
    clean = {}
    for name, call in calls.items():
        if not isinstance(name, str) or len(name) > 40 or not isinstance(call, dict):
            raise ResultRejected(f"the recorded calls of case {key} are malformed")
        if "raised" in call and isinstance(call["raised"], dict):
            clean[name] = {"raised": {field: _text(call["raised"].get(field)) for field in RAISED_FIELDS}}
        else:
            clean[name] = {"returned": clean_skeleton(call.get("returned"), key)}
    parameters = modified.get("parameters", [])
    batch = modified.get("batch", [])
    if not (isinstance(parameters, list) and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 64
                                                  for i in parameters)
            and isinstance(batch, list) and all(name in ("input", "output") for name in batch)):
        raise ResultRejected(f"the recorded changes of case {key} are malformed")
    try:
        localised = _plain_json(session.get("localised"), [MAX_PROBE_VALUES])
    except ValueError:
        localised = None   # the probe is advice: a record too large or of other kinds loses it, not the case
    return {"calls": clean, "modified": {"parameters": parameters[:64], "batch": batch[:2]}, "localised": localised}


MAX_PROBE_VALUES = 20_000   # numbers, strings and containers in the record of an exercise's probe
MAX_PROBE_DEPTH = 8


def _plain_json(value, budget, depth=0):
    """``value`` (an exercise probe's record, untrusted) rebuilt from plain JSON kinds only: dicts with string
    keys, lists, strings (cut to MAX_MESSAGE), finite or not floats, ints, booleans, None; ValueError past the
    size budget (a one-item list, spent as it goes) or the depth limit, or on any other kind."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_PROBE_DEPTH:
        raise ValueError("too large")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_MESSAGE]
    if isinstance(value, list):
        return [_plain_json(item, budget, depth + 1) for item in value]
    if isinstance(value, dict) and all(isinstance(name, str) and len(name) <= 40 for name in value):
        return {name: _plain_json(item, budget, depth + 1) for name, item in value.items()}
    raise ValueError(f"a {type(value).__name__}")


def session_arrays(key, session):
    """The archive members a checked session refers to: each call's arrays and the changed values."""
    names = [f"{key}.{call}.{name}" for call, entry in session["calls"].items() if "returned" in entry
             for name in skeleton_arrays(entry["returned"])]
    names += [f"{key}.after.parameter{index}" for index in session["modified"]["parameters"]]
    return names + [f"{key}.after.{name}" for name in session["modified"]["batch"]]


def skeleton_arrays(skeleton):
    """The array names a checked skeleton refers to."""
    if isinstance(skeleton, dict):
        if "array" in skeleton:
            return [skeleton["array"]]
        items = skeleton.get("list") or skeleton.get("tuple") or [item for _, item in skeleton.get("dict", [])]
        return [name for item in items for name in skeleton_arrays(item)]
    return []


def _text(value):
    return value[:MAX_MESSAGE] if isinstance(value, str) else ""


def read_arrays(raw, expected_shapes):
    """``(arrays, problems)``: arrays by name, and a message for each unusable one.

    Each member is size-checked before it is loaded (no zip bomb) and must be a real number
    array. With an expected shape it must have exactly that shape and be finite, and it comes
    back float64; with the shape ``None`` (an array of a returned value, judged by the comparison
    policy) any shape, dtype and value is kept as it is. Names absent from the archive are in
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
        raise ResultRejected(f"holds {size} bytes, more than a result array may hold")
    try:
        array = np.lib.format.read_array(io.BytesIO(archive.read(member)), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise ResultRejected(f"is not a plain numeric array ({error})") from None
    if array.dtype.kind not in "fiub":
        raise ResultRejected(f"has dtype {array.dtype}, expected real numbers")
    if shape is None:
        return array
    if tuple(array.shape) != tuple(shape):
        raise ResultRejected(f"has shape {tuple(array.shape)}, expected {tuple(shape)}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ResultRejected("contains NaN or infinite values")
    return array


class _Returned:
    """Stands for a returned object that is not array-like; named as the student's type, so the judgement's
    sentences name it as they would the object itself."""


def rebuilt_value(skeleton, arrays, key, containers=None):
    """The value a gradient function returned, rebuilt from its checked skeleton and the arrays read for
    case ``key`` (``{'<key>.<name>': array}``): lists, tuples and dicts as they were (one object where the
    student's code returned one object twice), each array as the kind it was (NumPy array, ``np.matrix``,
    PyTorch tensor, Python list, NumPy scalar); an array the archive lacks comes back as ``None``."""
    containers = [] if containers is None else containers   # in the order the skeleton numbers them
    if skeleton is None or isinstance(skeleton, bool):
        return skeleton
    if "number" in skeleton:
        return skeleton["number"]
    if "ref" in skeleton:
        return containers[skeleton["ref"]] if 0 <= skeleton["ref"] < len(containers) else None
    if "object" in skeleton:
        return type(skeleton["object"] or "object", (_Returned,), {})()
    if "array" in skeleton:
        return _rebuilt_array(skeleton, arrays.get(f"{key}.{skeleton['array']}"))
    if "dict" in skeleton:
        built = {}
        containers.append(built)
        built.update({name: rebuilt_value(item, arrays, key, containers) for name, item in skeleton["dict"]})
        return built
    if "list" in skeleton:
        built = []
        containers.append(built)
        built.extend(rebuilt_value(item, arrays, key, containers) for item in skeleton["list"])
        return built
    slot = len(containers)
    containers.append(None)   # numbered before its items, as the skeleton numbers it
    containers[slot] = tuple(rebuilt_value(item, arrays, key, containers) for item in skeleton["tuple"])
    return containers[slot]


def _rebuilt_array(skeleton, array):
    if array is None:
        return None
    if skeleton["kind"] == "tensor":
        import torch

        return torch.from_numpy(np.array(array))
    convert = {"matrix": np.asmatrix, "list": lambda a: a.tolist(), "scalar": lambda a: a[()]}.get(
        skeleton["kind"], lambda a: a)
    try:
        return convert(array)
    except ValueError:   # e.g. a "matrix" of three axes: only a forged result says so
        return array
