"""numpy dtype -> swagger type (stand-in for `inference_schema.parameter_types._swagger_from_dtype`)."""

_SIMPLE = {
    **{f"int{b}": {"type": "integer", "format": f"int{b}"} for b in (8, 16, 32, 64)},
    **{f"uint{b}": {"type": "integer", "format": f"uint{b}"} for b in (8, 16, 32, 64)},
    "bool": {"type": "boolean"},
    "float16": {"type": "number", "format": "float"},
    "float32": {"type": "number", "format": "float"},
    "float64": {"type": "number", "format": "double"},
    "object": {"type": "object"},
}


class Dtype2Swagger:
    @staticmethod
    def convert_dtype_to_swagger(dtype):
        if len(dtype) == 0:
            if dtype.subdtype is None:
                return Dtype2Swagger._simple(dtype)
            return Dtype2Swagger.handle_swagger_array(Dtype2Swagger.convert_dtype_to_swagger(dtype.subdtype[0]), dtype.subdtype[1])
        # Structured dtype: one property per field.
        return {"type": "object", "properties": {n: Dtype2Swagger.convert_dtype_to_swagger(dtype[n]) for n in dtype.names}}

    @staticmethod
    def handle_swagger_array(item, shape):
        schema = {"type": "array", "items": item}
        for _ in range(len(shape) - 1):
            schema = {"type": "array", "items": schema}
        return schema

    @staticmethod
    def _simple(dtype):
        name = dtype.name.lower()
        if name in _SIMPLE:
            return dict(_SIMPLE[name])
        if name.startswith("datetime"):
            return {"type": "string", "format": "date-time"}
        if name.startswith("str"):
            return {"type": "string"}
        if name.startswith("bytes") or name.startswith("void"):
            return {"type": "string", "format": "binary"}
        if name.startswith("timedelta"):
            return {"type": "string", "format": "timedelta"}
        raise TypeError(f"We currently do not support extracting schema from data of type {name}")
