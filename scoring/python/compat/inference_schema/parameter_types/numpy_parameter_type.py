"""Stand-in for `inference_schema.parameter_types.numpy_parameter_type` (needs numpy)."""
import numpy as np

from ._constants import NUMPY_FORMAT
from ._swagger_from_dtype import Dtype2Swagger
from ._util import check_shape
from .abstract_parameter_type import AbstractParameterType

_TIME_UNITS = {
    "years": "Y", "months": "M", "weeks": "W", "days": "D", "hours": "h", "minutes": "m", "seconds": "s",
    "milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns", "picoseconds": "ps", "femtoseconds": "fs",
    "attoseconds": "as",
}


class NumpyParameterType(AbstractParameterType):
    """A numpy array parameter: input lists become an array of the sample's dtype, and (unless
    disabled) every dimension but the first must match the sample's shape."""

    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True):
        if not isinstance(sample_input, np.ndarray):
            raise Exception("Invalid sample input provided, must provide a sample Numpy array.")
        super().__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape

    def deserialize_input(self, input_data):
        if isinstance(input_data, np.ndarray):
            return input_data
        if not isinstance(input_data, list):
            raise ValueError("Invalid input format: expected an array of items.")
        if self.enforce_column_type:
            dtype = self.sample_input.dtype
            array = np.array([_prepare(item, dtype) for item in input_data], dtype=dtype)
        else:
            array = np.array(input_data)
        if self.enforce_shape:
            check_shape(self.sample_input.shape, array.shape, "array", "an")
        return array

    def input_to_swagger(self):
        dtype, shape = self.sample_input.dtype, self.sample_input.shape
        schema = Dtype2Swagger.handle_swagger_array(Dtype2Swagger.convert_dtype_to_swagger(dtype), shape)
        schema["example"] = self._get_swagger_sample(self.sample_input, len(self.sample_input), schema["items"])
        schema["format"] = NUMPY_FORMAT
        return schema


def _prepare(item, dtype):
    """One JSON item -> what np.array accepts for `dtype` (tuples for structured rows, parsed dates)."""
    if len(dtype) > 0:
        return tuple(_prepare(item[dtype.names[i]] if type(item) is dict else item[i], dtype[i]) for i in range(len(dtype)))
    name = dtype.name.lower()
    if name.startswith("datetime"):
        return np.datetime64(item)
    if name.startswith("timedelta"):
        parts = item.split(None, 1)
        if len(parts) != 2 or parts[1].lower() not in _TIME_UNITS:
            raise ValueError(f"Invalid numpy.timestamp64 value specified: {item}. Format should be <value> <time_unit_code>")
        return np.timedelta64(int(parts[0]), _TIME_UNITS[parts[1].lower()])
    return item
