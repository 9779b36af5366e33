"""Stand-in for `inference_schema.schema_util`: the schemas and swagger versions registered for a function.

Schemas are kept per original function (module + name), the function under all decorators, as
inference-schema keys them.
"""
import copy

from ._constants import ALL_SUPPORTED_VERSIONS, INPUT_SCHEMA_ATTR, OUTPUT_SCHEMA_ATTR

__functions_schema__ = {}
__versions__ = {}


def _original(func):
    """The function under every decorator (functools.wraps chains, ours included)."""
    seen = set()
    while hasattr(func, "__wrapped__") and id(func) not in seen:
        seen.add(id(func))
        func = func.__wrapped__
    return func


def _key(func):
    f = _original(func)
    return f"{getattr(f, '__module__', '<unknown>')}.{getattr(f, '__name__', '<unknown>')}"


def get_input_schema(func):
    return __functions_schema__.get(_key(func), {}).get(INPUT_SCHEMA_ATTR, {"type": "object"})


def get_output_schema(func):
    return __functions_schema__.get(_key(func), {}).get(OUTPUT_SCHEMA_ATTR, {"type": "object"})


def get_supported_versions(func):
    """Versions every decorator of func supports (all versions when none says otherwise)."""
    entry = __versions__.get(_key(func), {})
    inp = entry.get(INPUT_SCHEMA_ATTR, {}).get("versions", [])
    out = entry.get(OUTPUT_SCHEMA_ATTR, {}).get("versions", [])
    if inp and out:
        chosen = set(inp) & set(out)
    else:
        chosen = set(inp or out or ALL_SUPPORTED_VERSIONS)
    return sorted(chosen)


def get_schemas_dict():
    return copy.deepcopy(__functions_schema__)


def is_schema_decorated(func):
    return _key(func) in __functions_schema__
