"""
Stand-in for `azureml.contrib.services.aml_response` (aks-inference compatibility package).

`AMLResponse(message, status_code, response_headers={}, json_str=False)` is returned by run() as
the HTTP answer itself, as with azureml-inference-server-http: with `json_str` the message is
`json.dumps`-ed and sent as application/json; otherwise a str (UTF-8) or bytes is sent as is, with
Flask's default content type unless `response_headers` sets `Content-Type`; a `None` message is
`{}`. Every AMLResponse carries `x-ms-run-function-failed`. A header value with commas becomes one
header per comma-separated value.
"""
import json

from .aml_request import Headers


class AMLResponse:
    def __init__(self, message, status_code, response_headers=None, json_str=False, run_function_failed=False):
        response_headers = response_headers or {}
        self.status_code = int(status_code)
        self.headers = Headers()
        if message is None:
            self._data = b"{}"
            self.headers.add("Content-Type", "application/json")
        elif json_str:
            self._data = json.dumps(message).encode("utf-8")
            self.headers.add("Content-Type", "application/json")
        else:
            self._data = _to_bytes(message)
            # The script's own Content-Type replaces the default (matched as spelled, as upstream does).
            if "Content-Type" not in response_headers:
                self.headers.add("Content-Type", "text/html; charset=utf-8")
        self.headers.add("x-ms-run-function-failed", str(run_function_failed))
        for name, value in response_headers.items():
            for v in str(value).split(","):
                self.headers.add(name, v.strip())

    @property
    def status(self):
        return f"{self.status_code}"

    @property
    def mimetype(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    def get_data(self, as_text=False):
        return self._data.decode("utf-8") if as_text else self._data

    def set_data(self, value):
        self._data = _to_bytes(value)

    data = property(get_data, set_data)

    def get_json(self):
        return json.loads(self._data)

    def __repr__(self):
        return f"<AMLResponse {len(self._data)} bytes [{self.status_code}]>"


def _to_bytes(message):
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message)
    if isinstance(message, str):
        return message.encode("utf-8")
    # Werkzeug iterates any other body and encodes each item.
    return b"".join(m.encode("utf-8") if isinstance(m, str) else bytes(m) for m in message)
