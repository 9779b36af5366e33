"""
One Python worker of a scoring replica: loads the service's entry script, runs init() once, then
answers run() requests that the Node scoring server sends over a framed protocol.

It reproduces the request/response contract of Microsoft's azureml-inference-server-http 1.5.x
(the server behind Azure ML v1 web services) for the /score route, so an unchanged score.py
answers the same status, headers and bytes. docs/migrating-from-azure-ml-v1.md, "Python entry scripts:
Azure ML's contract, and ours", lists each rule with where it lives in that server's source.

Protocol (fd 3: Node -> worker, fd 4: worker -> Node, so print() on stdout/stderr cannot corrupt
it): every frame is a 4-byte big-endian length, that many bytes of UTF-8 JSON header, then
`header["size"]` raw body bytes. Bodies are never base64-encoded; the request body is read once
into one buffer.

Standard library only: numpy/pandas are imported by the parameter types that need them.
"""

import codecs
import importlib.util
import inspect
import json
import os
import struct
import sys
import time
import traceback
import types
from urllib.parse import parse_qsl, quote

IN_FD, OUT_FD = 3, 4
HERE = os.path.dirname(os.path.abspath(__file__))

# The fixed messages of the upstream server, kept verbatim: clients match on them.
MSG_RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
MSG_INTERNAL = "An unexpected internal error occurred. Check the logs for more info."
# Flask's default mimetype for a Response built from a str.
TEXT_HTML = "text/html; charset=utf-8"


# ---------------------------------------------------------------------------------------------
# Framing


def _read_exact(stream, n):
    """n bytes from the pipe into one preallocated buffer (no joins of partial reads)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        r = stream.readinto(view[got:])
        if not r:
            raise EOFError("the scoring server closed the pipe")
        got += r
    return buf


def read_frame(stream):
    (length,) = struct.unpack(">I", _read_exact(stream, 4))
    header = json.loads(_read_exact(stream, length))
    return header, _read_exact(stream, header.get("size", 0))


def _write_all(fd, data):
    view = memoryview(data)
    while len(view):
        n = os.write(fd, view)
        view = view[n:]


def write_frame(header, body=b""):
    header["size"] = len(body)
    head = json.dumps(header).encode("utf-8")
    _write_all(OUT_FD, struct.pack(">I", len(head)) + head)
    if body:
        _write_all(OUT_FD, body)


# ---------------------------------------------------------------------------------------------
# Request / response shapes


class Request:
    """What the worker knows of one HTTP request (built from the frame header)."""

    def __init__(self, header, body):
        self.method = header["method"]
        self.path = header.get("path", "/score")
        self.query_string = header.get("query", "")
        self.raw_headers = header.get("headers", [])
        self.body = body


def werkzeug_headers(raw_headers):
    """dict(request.headers) as Flask builds it behind gunicorn: names title-cased from the WSGI
    environ (`content-type` -> `Content-Type`), repeated headers joined with a comma."""
    out = {}
    for name, value in raw_headers:
        key = name.replace("_", "-").title()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def mimetype_of(headers):
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_json_mimetype(mt):
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


class Reply:
    """A response as the worker hands it to Node: status, header pairs, body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


def json_reply(status, obj, run_function_failed=False):
    # AMLResponse(..., json_str=True): json.dumps with its defaults, application/json.
    return Reply(
        status,
        [["Content-Type", "application/json"], ["x-ms-run-function-failed", str(run_function_failed)]],
        json.dumps(obj).encode("utf-8"),
    )


def error_reply(status, message, run_function_failed=False):
    return json_reply(status, {"message": message}, run_function_failed)


def reply_from_response(resp):
    """An AMLResponse (ours) or any Flask/Werkzeug Response the script returned, passed through."""
    status = int(getattr(resp, "status_code", 200))
    # Werkzeug's Headers and ours list every pair, repeats included.
    pairs = list(resp.headers.items())
    # Upstream forces this header to True on a 5xx answer from run().
    if status >= 500:
        pairs = [p for p in pairs if p[0].lower() != "x-ms-run-function-failed"] + [["x-ms-run-function-failed", "True"]]
    body = resp.get_data()
    return Reply(status, [[str(k), str(v)] for k, v in pairs], bytes(body))


def is_response(obj):
    return hasattr(obj, "status_code") and hasattr(obj, "headers") and callable(getattr(obj, "get_data", None))


# ---------------------------------------------------------------------------------------------
# Input parsers (upstream: server/input_parsers.py)


class BadInput(Exception):
    pass


class UnsupportedInput(Exception):
    pass


class UnsupportedMethod(Exception):
    pass


def _json_or_text(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _url_quote_errors(exc):
    """Werkzeug's decoding of query values: bytes that are not UTF-8 stay percent-encoded (`%FF`)."""
    return quote(exc.object[exc.start : exc.end], safe=""), exc.end


URL_QUOTE = "aks_inference.url_quote"
codecs.register_error(URL_QUOTE, _url_quote_errors)


def get_parameters(req):
    """Query parameters parsed as JSON values; a repeated key becomes a list."""
    grouped = {}
    for k, v in parse_qsl(req.query_string, keep_blank_values=True, errors=URL_QUOTE):
        grouped.setdefault(k, []).append(v)
    return {k: _json_or_text(vs[0]) if len(vs) == 1 else [_json_or_text(v) for v in vs] for k, vs in grouped.items()}


class RawParser:
    def __init__(self, name):
        self.name = name

    def __call__(self, req, headers):
        return {self.name: _aml_request_class()._from_worker(req, headers)}


def _aml_request_class():
    """Our AMLRequest even when a real azureml package owns the import name (its class is a Flask
    Request that needs a WSGI environ); loaded once, by file."""
    global _AML_REQUEST
    loaded = sys.modules.get("azureml.contrib.services.aml_request")
    if loaded is not None and hasattr(getattr(loaded, "AMLRequest", None), "_from_worker"):
        return loaded.AMLRequest  # ours, as the script imported it (isinstance checks hold)
    if _AML_REQUEST is None:
        path = os.path.join(HERE, "compat", "azureml", "contrib", "services", "aml_request.py")
        spec = importlib.util.spec_from_file_location("_aks_inference_aml_request", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _AML_REQUEST = module.AMLRequest
    return _AML_REQUEST


_AML_REQUEST = None


class TextParser:
    def __init__(self, name):
        self.name = name

    def __call__(self, req, headers):
        if req.method == "GET":
            return {self.name: json.dumps(get_parameters(req))}
        if req.method != "POST":
            raise UnsupportedMethod(req.method)
        # Flask's request.data: a form body is parsed into request.form/files and data is empty.
        if mimetype_of(headers) in ("multipart/form-data", "application/x-www-form-urlencoded"):
            return {self.name: ""}
        try:
            return {self.name: str(req.body, "utf-8")}
        except UnicodeDecodeError as ex:
            raise BadInput(f"Input cannot be decoded as UTF-8: {ex}") from None


class ObjectParser:
    def __init__(self, params):
        self.params = params

    def __call__(self, req, headers):
        if req.method == "GET":
            return self._extract(get_parameters(req))
        if req.method != "POST":
            raise UnsupportedMethod(req.method)
        if not is_json_mimetype(mimetype_of(headers)):
            raise UnsupportedInput("Expects Content-Type to be application/json")
        try:
            # bytes, as upstream passes them: json picks UTF-8/16/32 itself; invalid UTF-8 is not a
            # JSONDecodeError there either, and ends as the generic 500.
            body = json.loads(req.body)
        except json.JSONDecodeError as ex:
            if req.body:
                raise BadInput(f"POST body could not be decoded as JSON: {ex}") from None
            raise BadInput("POST body is empty. Expecting a JSON dictionary.") from None
        if not isinstance(body, dict):
            raise BadInput("POST body should be a JSON dictionary.")
        return self._extract(body)

    def _extract(self, body):
        out = {}
        for p in self.params:
            value = body.get(p.name, p.default)
            if value is inspect.Parameter.empty:
                raise BadInput(f"A value is not provided for the {p.name!r} parameter.")
            out[p.name] = value
        return out


# ---------------------------------------------------------------------------------------------
# The user script (upstream: server/user_script.py)


def _raw_http_requested():
    """`@rawhttp` sets a module flag; honour it from our stand-in and from a real installed package."""
    for name in ("azureml.contrib.services.aml_request", "azureml_inference_server_http.api.aml_request"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "_rawHttpRequested", False):
            return True
    return False


class UserScript:
    def __init__(self, path):
        self.path = path

    def load(self):
        spec = importlib.util.spec_from_file_location("entry_module", self.path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for fn in ("init", "run"):
            if not hasattr(module, fn):
                raise RuntimeError(f"User script at {module.__file__} does not have a {fn}() function defined.")
        # A generated driver module forwarding to the real score script: call the real run().
        driver = getattr(module, "driver_module", None)
        self.run = driver.run if isinstance(driver, types.ModuleType) and hasattr(driver, "run") else module.run
        self.init = module.init
        self._analyze()

    def _analyze(self):
        from inference_schema.schema_util import is_schema_decorated

        params = list(inspect.signature(self.run).parameters.values())
        if any(p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params):
            raise RuntimeError("run() cannot accept positional-only arguments, *args, or **kwargs.")
        self.wants_headers = any(p.name == "request_headers" for p in params)
        params = [p for p in params if p.name != "request_headers"]
        if not params:
            if self.wants_headers:
                raise RuntimeError('run() needs to accept an argument other than "request_headers".')
            raise RuntimeError("run() needs to accept an argument for input data.")
        decorated = is_schema_decorated(self.run)
        raw = _raw_http_requested()
        if raw and decorated:
            raise RuntimeError("run() cannot be decorated with both @rawhttp and @input_schema")
        if raw:
            self.parser, self.kind = RawParser(params[0].name), "rawhttp"
        elif decorated:
            self.parser, self.kind = ObjectParser(params), "schema"
        else:
            self.parser, self.kind = TextParser(params[0].name), "plain"
        print(f"run() is served as '{self.kind}' with parameters {[p.name for p in params]}", file=sys.stderr)

    def handle(self, req):
        """The /score route (upstream: routes.handle_score), any failure included."""
        headers = werkzeug_headers(req.raw_headers)
        try:
            try:
                kwargs = self.parser(req, headers)
            except BadInput as ex:
                return error_reply(400, ex.args[0])
            except UnsupportedInput as ex:
                return error_reply(415, ex.args[0])
            except UnsupportedMethod:
                if req.method == "OPTIONS":
                    return Reply(200, [["Content-Type", TEXT_HTML], ["x-ms-run-function-failed", "False"]], b"")
                return error_reply(405, "Method not allowed")
            if self.kind != "rawhttp":
                # run() gets its own copy (the text, or the parsed JSON): the body's bytes are freed
                # before it runs, one body's size less at the request's peak.
                req.body = None
            if self.wants_headers:
                kwargs["request_headers"] = headers
            started = time.perf_counter()
            try:
                output = self.run(**kwargs)
            except Exception:
                traceback.print_exc()
                return error_reply(500, MSG_RUN_FAILED, run_function_failed=True)
            elapsed_ms = (time.perf_counter() - started) * 1000
            reply = reply_from_response(output) if is_response(output) else json_reply(200, {} if output is None else output)
            reply.headers.append(["x-ms-run-fn-exec-ms", f"{elapsed_ms:.3f}"])
            return reply
        except Exception:
            # Upstream's catch-all: e.g. a result json.dumps cannot serialise (a numpy array).
            print("Encountered Exception: " + traceback.format_exc(), file=sys.stderr)
            return error_reply(500, MSG_INTERNAL)


# ---------------------------------------------------------------------------------------------
# Swagger (upstream: server/swagger.py and its two templates)

SWAGGER_BUILDERS = (("2", ("2", "2.0")), ("3", ("3", "3.0")), ("3.1", ("3.1",)))


def _swagger_document(major, service, version, prefix, input_schema, output_schema):
    """The document upstream's swagger2/swagger3 templates give, with the script's schemas."""
    error_ref = "#/definitions/ErrorResponse" if major == "2" else "#/components/schemas/ErrorResponse"
    in_ref = error_ref.replace("ErrorResponse", "ServiceInput")
    out_ref = error_ref.replace("ErrorResponse", "ServiceOutput")
    default = {"description": "The service failed to execute due to an error."}

    def body(ref, media="application/json"):
        return {"schema": {"$ref": ref}} if major == "2" else {"content": {media: {"schema": {"$ref": ref}}}}

    def text(example=None):
        schema = {"type": "string"}
        if major == "2":
            return {"schema": schema, **({"examples": {"application/json": example}} if example else {})}
        return {"content": {"text/plain": {"schema": {**schema, **({"example": example} if example else {})}}}}

    payload = "The input payload for executing the real-time machine learning service."
    score = {"operationId": "RunMLService", "description": "Run web service's model and get the prediction output", "security": [{"Bearer": []}]}
    if major == "2":
        score["parameters"] = [{"name": "serviceInputPayload", "in": "body", "description": payload, "schema": {"$ref": in_ref}}]
    else:
        score["requestBody"] = {"description": payload, **body(in_ref)}
    score["responses"] = {
        "200": {"description": "The service processed the input correctly and provided a result prediction, if applicable.", **body(out_ref)},
        "default": {**default, **body(error_ref)},
    }
    version_param = {"name": "version", "in": "query", "required": False}
    enum = {"type": "integer", "enum": [2, 3]}
    version_param.update(enum if major == "2" else {"schema": enum})
    paths = {
        f"{prefix}/": {"get": {"operationId": "ServiceHealthCheck", "description": "Simple health check endpoint to ensure the service is up at any given point.", "responses": {"200": {"description": "If service is up and running, this response will be returned with the content 'Healthy'", **text("Healthy")}, "default": {**default, **body(error_ref)}}}},
        f"{prefix}/score": {"post": score},
        f"{prefix}/swagger.json": {"get": {"operationId": "GetSwaggerSpec", "description": "Get the Swagger specification.", "parameters": [version_param], "responses": {"200": {"description": "The Swagger specification.", **text()}, "default": {**default, **body(error_ref)}}}},
    }
    schemas = {"ServiceInput": input_schema, "ServiceOutput": output_schema, "ErrorResponse": {"type": "object", "properties": {"message": {"type": "string"}}}}
    bearer = {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}
    info = {"title": service, "description": f"API specification for the Azure Machine Learning service {service}", "version": version}
    if major == "2":
        return {"swagger": "2.0", "info": info, "schemes": ["https"], "consumes": ["application/json"], "produces": ["application/json"], "securityDefinitions": {"Bearer": bearer}, "paths": paths, "definitions": schemas}
    return {"openapi": "3.0.3", "info": info, "security": [{"Bearer": []}], "paths": paths, "components": {"schemas": schemas, "securitySchemes": {"Bearer": bearer}}}


def _read_json(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def build_swagger(app_root, run):
    """{alias: document as JSON text} for every swagger version the script supports, and the supported list.
    The project's own swagger.json / swagger2.json / swagger3.json win over the generated one."""
    from inference_schema.schema_util import get_input_schema, get_output_schema, get_supported_versions, is_schema_decorated

    service = os.environ.get("SERVICE_NAME", "ML service")
    version = os.environ.get("SERVICE_VERSION", "1.0")
    prefix_env = os.environ.get("SERVICE_PATH_PREFIX", "")
    prefix = f"/{prefix_env.strip('/')}" if prefix_env else ""
    docs, supported = {}, []
    for major, aliases in SWAGGER_BUILDERS:
        user_files = ["swagger.json", "swagger2.json"] if major == "2" else ["swagger3.json"] if major == "3" else ["swagger3.1.json"]
        doc = next((d for d in (_read_json(os.path.join(app_root, f)) for f in user_files) if d), None)
        if doc is None and any(a in get_supported_versions(run) for a in aliases):
            if is_schema_decorated(run):
                inp, out = get_input_schema(run), get_output_schema(run)
            else:
                inp = out = {"type": "object", "example": {}}
            doc = _swagger_document("2" if major == "2" else "3", service, version, prefix, inp, out)
            if major == "3.1":
                doc["openapi"] = "3.1.0"
        if doc is not None:
            supported.append(major)
            for a in aliases:
                docs[a] = json.dumps(doc)
    return docs, sorted(supported)


# ---------------------------------------------------------------------------------------------
# Main loop


def setup_paths(script_path, app_root):
    script_dir = os.path.dirname(script_path)
    # `python worker.py` put this folder first: the user's modules must not be shadowed by it.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
    sys.path.insert(0, script_dir)
    if app_root not in sys.path:
        sys.path.append(app_root)
    # Last, so a real installed azureml-* or inference-schema package always wins.
    sys.path.append(os.path.join(HERE, "compat"))
    os.chdir(script_dir)


def _die_with_parent():
    """If the scoring server dies (even SIGKILL), this worker dies too, busy or not: a run() stuck
    in native code would otherwise outlive the replica. Linux only (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the server died before prctl took effect
        os._exit(1)


def main():
    _die_with_parent()
    for fd in (IN_FD, OUT_FD):
        os.set_inheritable(fd, False)  # the script's subprocesses must not hold the protocol pipes
    app_root = os.environ.get("AML_APP_ROOT") or os.getcwd()
    entry = os.environ.get("AZUREML_ENTRY_SCRIPT", "score.py")
    script_path = os.path.abspath(os.path.join(app_root, entry))
    setup_paths(script_path, app_root)
    stream = open(IN_FD, "rb", buffering=0, closefd=False)
    script = UserScript(script_path)
    try:
        script.load()
        script.init()
        docs, supported = build_swagger(app_root, script.run)
    except BaseException:
        tb = traceback.format_exc()
        print(tb, file=sys.stderr, flush=True)
        write_frame({"op": "init_failed", "error": tb.rstrip()})
        return 3
    sys.stdout.flush()
    write_frame({"op": "ready", "pid": os.getpid(), "kind": script.kind, "swagger": docs, "supported": supported})
    while True:
        try:
            req = Request(*read_frame(stream))
        except EOFError:
            return 0
        reply = script.handle(req)
        del req  # a large request body is freed before the answer is written, not at the next read
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame({"op": "reply", "status": reply.status, "headers": reply.headers}, reply.body)


if __name__ == "__main__":
    sys.exit(main())
