"""
Stand-in for `inference_schema.schema_decorators`.

`@input_schema(param_name, param_type, convert_to_provided_type=True, optional=False)` records the
parameter's swagger schema and, when the function is called, converts that argument from its
JSON form into the type of the sample (numpy array, DataFrame, ...). A value that cannot be
converted raises inside run(), which the scoring server answers with a 500 as upstream does.
`@output_schema(output_type)` only records the output schema.
"""
import copy
import functools
import inspect

from ._constants import INPUT_SCHEMA_ATTR, OUTPUT_SCHEMA_ATTR
from .parameter_types.abstract_parameter_type import AbstractParameterType
from .schema_util import __functions_schema__, __versions__, _key, _original


def _check_type(param_type):
    if not isinstance(param_type, AbstractParameterType):
        raise Exception("Error, provided param_type must be a subclass of the AbstractParameterType.")


def _register_versions(func, attr, versions):
    __versions__.setdefault(_key(func), {})[attr] = {"type": "object", "versions": versions}


def input_schema(param_name, param_type, convert_to_provided_type=True, optional=False):
    _check_type(param_type)
    item = param_type.input_to_swagger()
    versions = param_type.supported_versions()

    def decorate(func):
        original = _original(func)
        arg_names = inspect.getfullargspec(original).args
        entry = __functions_schema__.setdefault(_key(func), {})
        if INPUT_SCHEMA_ATTR not in entry:
            # Every argument is listed; the decorated ones get their schema and example below.
            entry[INPUT_SCHEMA_ATTR] = {"type": "object", "properties": {n: {} for n in arg_names}, "example": {n: "" for n in arg_names}}
        schema = copy.deepcopy(item)
        entry[INPUT_SCHEMA_ATTR]["example"][param_name] = schema.pop("example")
        entry[INPUT_SCHEMA_ATTR]["properties"][param_name] = schema
        _register_versions(func, INPUT_SCHEMA_ATTR, versions)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            # Hugging Face "v2" payloads ({"input_string", "parameters"}) are passed through untouched.
            hf_v2 = bool(args) and type(args[0]) is dict and set(args[0]) == {"parameters", "input_string"}
            if convert_to_provided_type and not hf_v2:
                if param_name in kwargs:
                    if not (optional and not kwargs[param_name]):
                        kwargs[param_name] = _deserialize(kwargs[param_name], param_type)
                elif not optional:
                    if param_name not in arg_names:
                        raise Exception(f'Error, provided param_name "{param_name}" is not in the decorated function.')
                    pos = arg_names.index(param_name)
                    args = list(args)
                    args[pos] = _deserialize(args[pos], param_type)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def output_schema(output_type):
    _check_type(output_type)
    schema = output_type.input_to_swagger()
    versions = output_type.supported_versions()

    def decorate(func):
        entry = __functions_schema__.setdefault(_key(func), {})
        if OUTPUT_SCHEMA_ATTR in entry:
            raise Exception(f"Error, output schema already defined for function: {_key(func)}.")
        entry[OUTPUT_SCHEMA_ATTR] = schema
        _register_versions(func, OUTPUT_SCHEMA_ATTR, versions)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        return wrapper

    return decorate


def _deserialize(value, param_type):
    """JSON value -> the sample's type; nested standard dict/list samples convert their typed members."""
    expected = param_type.sample_data_type
    if expected is dict:
        if not isinstance(value, dict):
            raise ValueError(f"Invalid input data type to parse. Expected: {expected} but got {type(value)}")
        for k, sub in param_type.sample_data_type_map.items():
            if k in value:
                value[k] = _deserialize(value[k], sub)
        return value
    if expected in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"Invalid input data type to parse. Expected: {expected} but got {type(value)}")
        if param_type.sample_data_type_list:
            return [_deserialize(v, param_type.sample_data_type_list[0]) for v in value]
        return value
    return value if isinstance(value, expected) else param_type.deserialize_input(value)
