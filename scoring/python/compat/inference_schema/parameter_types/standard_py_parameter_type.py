"""Stand-in for `inference_schema.parameter_types.standard_py_parameter_type`."""
import base64
import datetime
import json

from ._constants import DATE_FORMAT
from ._util import handle_standard_types
from .abstract_parameter_type import AbstractParameterType


def _parse_datetime(text):
    try:
        from dateutil import parser  # what inference-schema uses, when installed
    except ImportError:
        return datetime.datetime.fromisoformat(text)
    return parser.parse(text)


class StandardPythonParameterType(AbstractParameterType):
    """A parameter shaped like a standard Python sample (int, float, str, bool, bytes, dates, and
    dicts / lists of them, which may hold other parameter types to convert their members)."""

    def __init__(self, sample_input):
        super().__init__(sample_input)
        self.sample_data_type_map = {}
        self.sample_data_type_list = []
        if self.sample_data_type is dict:
            self.sample_data_type_map = {k: v for k, v in sample_input.items() if isinstance(v, AbstractParameterType)}
        elif self.sample_data_type in (list, tuple):
            self.sample_data_type_list = [v for v in sample_input if isinstance(v, AbstractParameterType)]

    def deserialize_input(self, input_data):
        t = self.sample_data_type
        if t is datetime.date:
            input_data = datetime.datetime.strptime(input_data, DATE_FORMAT).date()
        elif t is datetime.datetime:
            input_data = _parse_datetime(input_data)
        elif t is datetime.time:
            input_data = _parse_datetime(input_data).timetz()
        elif t in (bytes, bytearray):
            input_data = t(base64.b64decode(input_data.encode("utf-8")))
        if t is float and type(input_data) is int:
            return input_data  # an int where a float is expected is accepted as is
        if not isinstance(input_data, t):
            raise ValueError(f"Invalid input data type to parse. Expected: {t} but got {type(input_data)}")
        return input_data

    def input_to_swagger(self):
        if self.sample_input is None:
            raise ValueError("Sample input cannot be None")
        schema = handle_standard_types(self.sample_input)
        try:
            json.dumps(schema)
        except TypeError as e:
            raise TypeError(
                "Invalid python data sample provided: ensure that the data is fully JSON serializable to be able "
                f"to generate swagger schema from it. Actual error: {e}"
            ) from None
        return schema
