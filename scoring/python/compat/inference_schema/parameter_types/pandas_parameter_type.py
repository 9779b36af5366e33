"""Stand-in for `inference_schema.parameter_types.pandas_parameter_type` (needs pandas)."""
import json
from io import StringIO

import pandas as pd

from ._constants import PANDAS_FORMAT
from ._util import check_shape, get_swagger_for_list, get_swagger_for_nested_dict
from .abstract_parameter_type import AbstractParameterType

ORIENTS = ("split", "records", "index", "columns", "values", "table")


class PandasParameterType(AbstractParameterType):
    """A DataFrame parameter: JSON in the given `orient` (default `records`) is read with
    pandas.read_json, columns cast to the sample's dtypes, the column count checked."""

    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True, apply_column_names=False, orient="records"):
        if not isinstance(sample_input, pd.DataFrame):
            raise Exception("Invalid sample input provided, must provide a sample Pandas Dataframe.")
        super().__init__(sample_input)
        if orient not in ORIENTS:
            raise Exception(f"Invalid orient provided, must be one of {ORIENTS}")
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape
        self.apply_column_names = apply_column_names
        self.orient = orient

    def deserialize_input(self, input_data):
        if isinstance(input_data, pd.DataFrame):
            return input_data
        if not isinstance(input_data, (list, dict)):
            raise Exception(f"Error, unable to convert input of type {type(input_data)} into Pandas Dataframe")
        frame = pd.read_json(StringIO(json.dumps(input_data)), orient=self.orient, dtype=False)
        if self.apply_column_names:
            frame.columns = self.sample_input.columns.copy()
        if self.enforce_column_type:
            sample_types = self.sample_input.dtypes.to_dict()
            types = {c: sample_types.get(c, object) for c in frame.columns}
            for c, t in types.items():
                if str(t).startswith("timedelta"):
                    frame[c] = pd.to_timedelta(frame[c])
            frame = frame.astype(dtype=types)
        if self.enforce_shape:
            check_shape(self.sample_input.shape, frame.shape, "data frame", "a")
        return frame

    def input_to_swagger(self):
        sample = json.loads(self.sample_input.to_json(orient=self.orient, date_format="iso"))
        schema = get_swagger_for_list(sample) if self.orient in ("records", "values") else get_swagger_for_nested_dict(sample)
        for column in self.sample_input.columns:
            fmt = _format(str(self.sample_input.dtypes[column]))
            if not fmt:
                continue
            name = str(column)
            if self.orient == "records":
                schema["items"]["properties"][name]["format"] = fmt
            elif self.orient == "index":
                for row in schema["properties"].values():
                    row["properties"][name]["format"] = fmt
            elif self.orient == "columns":
                for cell in schema["properties"][name]["properties"].values():
                    cell["format"] = fmt
            elif self.orient == "table":
                schema["properties"]["data"]["items"]["properties"][name]["format"] = fmt
        schema["format"] = PANDAS_FORMAT.format(self.orient)
        return schema


def _format(dtype_name):
    if dtype_name.startswith("datetime"):
        return "date-time"
    if dtype_name.startswith("timedelta"):
        return "timedelta"
    return None
