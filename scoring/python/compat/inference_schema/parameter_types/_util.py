"""Swagger schemas of standard Python samples (stand-in for `inference_schema.parameter_types._util`)."""
import base64
from datetime import date, datetime, time, timezone

from ._constants import DATE_FORMAT, DATETIME_FORMAT, TIME_FORMAT
from .abstract_parameter_type import AbstractParameterType


def handle_standard_types(sample):
    t = type(sample)
    if t is int:
        return {"type": "integer", "format": "int64", "example": sample}
    if t in (bytes, bytearray):
        return {"type": "string", "format": "byte", "example": base64.b64encode(sample).decode("utf-8")}
    if t is str:
        return {"type": "string", "example": sample}
    if t is float:
        return {"type": "number", "format": "double", "example": sample}
    if t is bool:
        return {"type": "boolean", "example": sample}
    if t is date:
        return {"type": "string", "format": "date", "example": sample.strftime(DATE_FORMAT)}
    if t is datetime:
        # A naive sample is taken as UTC.
        aware = sample if sample.tzinfo else sample.replace(tzinfo=timezone.utc)
        return {"type": "string", "format": "date-time", "example": aware.strftime(DATETIME_FORMAT)}
    if t is time:
        aware = sample if sample.tzinfo else sample.replace(tzinfo=timezone.utc)
        return {"type": "string", "format": "time", "example": aware.strftime(TIME_FORMAT)}
    if t in (list, tuple, range):
        return get_swagger_for_list(sample)
    if t is dict:
        return get_swagger_for_nested_dict(sample)
    return {"type": "object", "example": sample}


def _item_schema(item):
    return item.input_to_swagger() if isinstance(item, AbstractParameterType) else handle_standard_types(item)


def get_swagger_for_list(data):
    example, items = [], {"type": "object"}
    if data:
        # The items' schema is the last item's (inference-schema's rule); examples keep every item.
        typed = isinstance(data[0], AbstractParameterType)
        for d in data:
            items = d.input_to_swagger() if typed else handle_standard_types(d)
            example.append(items.pop("example"))
    return {"type": "array", "items": items, "example": example}


def get_swagger_for_nested_dict(data):
    properties, examples = {}, {}
    for key, value in data.items():
        schema = _item_schema(value)
        examples[key] = schema.pop("example")
        properties[key] = schema
    return {"type": "object", "required": list(data), "properties": properties, "example": examples}


def check_shape(expected, got, noun, article):
    """Upstream's shape check of numpy and pandas inputs: same dimensions, same size on every one but the first."""
    if len(got) != len(expected):
        raise ValueError(f"Invalid input {noun}: {article} {noun} with {len(expected)} dimensions is expected; input has {len(got)} [shape {got}]")
    for dim in range(1, len(expected)):
        if got[dim] != expected[dim]:
            raise ValueError(f"Invalid input {noun}: {noun} has size {got[dim]} on dimension #{dim}, while expected value is {expected[dim]}")
