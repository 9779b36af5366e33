"""
Stand-in for `azureml.contrib.services.aml_request` (aks-inference compatibility package).

`@rawhttp` on run() asks the server to pass the HTTP request itself instead of the body text, as
azureml-inference-server-http does: the decorator only sets a module flag. `AMLRequest` offers the
parts of Flask's Request that score scripts use: method, headers, args, path, full_path, url,
query_string, data / get_data(), stream, json / get_json(), is_json, mimetype, content_type,
cookies, and the parsed forms `form`, `files` (multipart/form-data, application/x-www-form-urlencoded)
and `values` (args and form).
"""
import codecs
import io
import json
import shutil
from email import policy
from http.cookies import SimpleCookie
from email.parser import BytesParser
from urllib.parse import parse_qsl, quote

# Werkzeug's decoding of query values: bytes that are not UTF-8 stay percent-encoded (`%FF`).
_URL_QUOTE = "aks_inference.url_quote"
codecs.register_error(_URL_QUOTE, lambda exc: (quote(exc.object[exc.start : exc.end], safe=""), exc.end))

FORM_MIMETYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

_rawHttpRequested = False


def rawhttp(func):
    """Applied to run(): run receives an AMLRequest and may return an AMLResponse."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func


class Headers:
    """Case-insensitive, multi-valued header view (what Werkzeug's Headers offers to read)."""

    def __init__(self, pairs=()):
        self._pairs = [(str(k), str(v)) for k, v in pairs]

    def get(self, key, default=None, type=None):
        for k, v in self._pairs:
            if k.lower() == key.lower():
                return type(v) if type else v
        return default

    def getlist(self, key):
        return [v for k, v in self._pairs if k.lower() == key.lower()]

    get_all = getlist

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key):
        return any(k.lower() == key.lower() for k, _ in self._pairs)

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)

    def keys(self):
        return [k for k, _ in self._pairs]

    def values(self):
        return [v for _, v in self._pairs]

    def items(self, multi=True):
        return list(self._pairs)

    def add(self, key, value):
        self._pairs.append((str(key), str(value)))

    add_header = add

    def set(self, key, value):
        self.remove(key)
        self.add(key, value)

    __setitem__ = set

    def remove(self, key):
        self._pairs = [(k, v) for k, v in self._pairs if k.lower() != key.lower()]

    __delitem__ = remove

    def to_wsgi_list(self):
        return list(self._pairs)

    def __repr__(self):
        return f"Headers({self._pairs!r})"


class Args:
    """Query parameters: `args["k"]` / `args.get("k")` give the first value, `getlist` all of them."""

    def __init__(self, pairs):
        self._pairs = pairs

    def get(self, key, default=None, type=None):
        for k, v in self._pairs:
            if k == key:
                try:
                    return type(v) if type else v
                except ValueError:
                    return default
        return default

    def getlist(self, key):
        return [v for k, v in self._pairs if k == key]

    def __getitem__(self, key):
        for k, v in self._pairs:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key):
        return any(k == key for k, _ in self._pairs)

    def __iter__(self):
        return iter(dict.fromkeys(k for k, _ in self._pairs))

    def __len__(self):
        return len(dict.fromkeys(k for k, _ in self._pairs))

    def keys(self):
        return list(self)

    def items(self, multi=False):
        return list(self._pairs) if multi else [(k, self[k]) for k in self]

    def to_dict(self, flat=True):
        return {k: self[k] if flat else self.getlist(k) for k in self}

    def __repr__(self):
        return f"Args({self._pairs!r})"


class FileStorage:
    """An uploaded file of a multipart form (Werkzeug's FileStorage: a readable stream with a name)."""

    def __init__(self, data, filename=None, name=None, content_type=None, headers=()):
        self.stream = io.BytesIO(data)
        self.filename = filename
        self.name = name
        self.content_type = content_type
        self.headers = Headers(headers)

    @property
    def mimetype(self):
        return (self.content_type or "").split(";")[0].strip().lower()

    def save(self, dst, buffer_size=16384):
        if isinstance(dst, str):
            with open(dst, "wb") as f:
                shutil.copyfileobj(self.stream, f, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def __getattr__(self, name):
        # read(), seek(), tell() ... as on the stream, so PIL.Image.open(upload) works.
        return getattr(self.stream, name)

    def __iter__(self):
        return iter(self.stream)

    def __repr__(self):
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"


class AMLRequest:
    """The HTTP request a @rawhttp run() receives."""

    def __init__(self, method="GET", path="/score", query_string="", headers=(), body=b"", host="localhost"):
        self.method = method
        self.path = path
        self.query_string = query_string.encode("latin-1") if isinstance(query_string, str) else query_string
        self.headers = Headers(headers)
        self._body = body
        self.args = Args(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True, errors=_URL_QUOTE))
        self.host = self.headers.get("Host", host)
        self.scheme = "http"
        self._forms = None

    @classmethod
    def _from_worker(cls, req, headers):
        return cls(req.method, req.path, req.query_string, headers.items(), req.body)

    @property
    def full_path(self):
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def url(self):
        qs = self.query_string.decode("latin-1")
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{qs}" if qs else "")

    @property
    def base_url(self):
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def host_url(self):
        return f"{self.scheme}://{self.host}/"

    @property
    def url_root(self):
        # The application's root: the server runs at the host's root, as Azure ML's does.
        return f"{self.scheme}://{self.host}/"

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    @property
    def mimetype(self):
        return (self.content_type or "").split(";")[0].strip().lower()

    @property
    def content_length(self):
        return self.headers.get("Content-Length", type=int)

    @property
    def is_json(self):
        mt = self.mimetype
        return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        # Werkzeug: once a form body is parsed into form/files, the raw data is gone.
        data = b"" if (parse_form_data or self._forms is not None) and self.mimetype in FORM_MIMETYPES else bytes(self._body)
        return data.decode("utf-8", "replace") if as_text else data

    @property
    def data(self):
        return self.get_data(parse_form_data=True)

    def _parse_forms(self):
        if self._forms is None:
            form, files = [], []
            if self.mimetype == "application/x-www-form-urlencoded":
                form = parse_qsl(bytes(self._body).decode("utf-8", "replace"), keep_blank_values=True)
            elif self.mimetype == "multipart/form-data":
                head = f"Content-Type: {self.content_type}\r\n\r\n".encode("latin-1")
                message = BytesParser(policy=policy.HTTP).parsebytes(head + bytes(self._body))
                for part in message.iter_parts() if message.is_multipart() else ():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    if part.get_filename() is not None:
                        files.append((name, FileStorage(payload, part.get_filename(), name, part.get_content_type(), part.items())))
                    else:
                        form.append((name, payload.decode(part.get_content_charset() or "utf-8", "replace")))
            self._forms = (Args(form), Args(files))
        return self._forms

    @property
    def stream(self):
        return io.BytesIO(self.get_data())

    @property
    def cookies(self):
        jar = SimpleCookie()
        jar.load(self.headers.get("Cookie", ""))
        return {k: m.value for k, m in jar.items()}

    @property
    def values(self):
        return Args(list(self.args.items(multi=True)) + list(self.form.items(multi=True)))

    @property
    def form(self):
        return self._parse_forms()[0]

    @property
    def files(self):
        return self._parse_forms()[1]

    def get_json(self, force=False, silent=False, cache=True):
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError("Did not attempt to load JSON data because the request Content-Type was not 'application/json'.")
        try:
            return json.loads(self._body)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self):
        return self.get_json()

    def __repr__(self):
        return f"<AMLRequest '{self.url}' [{self.method}]>"
