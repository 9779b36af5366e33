"""Stand-in for `inference_schema.parameter_types.abstract_parameter_type`."""
import base64
import datetime as dt
from abc import ABC, abstractmethod


class AbstractParameterType(ABC):
    """A parameter described by a sample value: converts JSON input to the sample's type and
    describes it as a swagger schema (with the sample as its example)."""

    def __init__(self, sample_input):
        self.sample_input = sample_input
        self.sample_data_type = type(sample_input)

    def supported_versions(self):
        # Swagger 2 cannot describe arrays whose items differ in type.
        versions = ["3.0", "3.1"]
        if _uniform(self.input_to_swagger()["example"]):
            versions.append("2.0")
        return sorted(versions)

    @abstractmethod
    def deserialize_input(self, input_data):
        """JSON-like input -> the concrete object."""

    @abstractmethod
    def input_to_swagger(self):
        """The swagger schema of the sample, with an `example`."""

    @classmethod
    def _get_swagger_sample(cls, records, count, item_schema):
        return [cls._get_data_record_swagger_sample(item_schema, records[i]) for i in range(count)]

    @classmethod
    def _get_data_record_swagger_sample(cls, schema, item):
        kind = schema["type"]
        if kind == "object":
            if "properties" in schema:
                return {f: cls._get_data_record_swagger_sample(schema["properties"][f], item[f]) for f in schema["properties"]}
            if "additionalProperties" in schema:
                return {f: cls._get_data_record_swagger_sample(schema["additionalProperties"], item[f]) for f in item}
            return str(item)
        if kind == "array":
            return [cls._get_data_record_swagger_sample(schema["items"], item[i]) for i in range(len(item))]
        if kind == "number":
            return float(item)
        if kind == "integer":
            return int(item)
        if kind == "bool":
            return bool(item)
        fmt = schema.get("format") if kind == "string" else None
        if fmt == "date":
            return item.astype(dt.datetime).strftime("%Y-%m-%d")
        if fmt == "date-time":
            return _timestamp(item)
        if fmt == "binary":
            return base64.b64encode(item).decode("utf-8")
        return str(item)


def _timestamp(item):
    if type(item).__name__ == "Timestamp":  # pandas
        return item.strftime("%Y-%m-%d %H:%M:%S,%f")
    return item.astype(dt.datetime).strftime("%Y-%m-%d %H:%M:%S,%f")


def _uniform(obj):
    if type(obj) is list and obj:
        first = type(obj[0])
        for e in obj:
            if type(e) is not first or (type(e) is list and not _uniform(e)):
                return False
    elif type(obj) is dict:
        return all(_uniform(v) for v in obj.values())
    return True
