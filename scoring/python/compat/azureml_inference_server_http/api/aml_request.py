"""Same objects as `azureml.contrib.services.aml_request` (one `@rawhttp` flag for both import paths)."""
from azureml.contrib.services.aml_request import AMLRequest, rawhttp  # noqa: F401
