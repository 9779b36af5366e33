"""Same object as `azureml.contrib.services.aml_response`."""
from azureml.contrib.services.aml_response import AMLResponse  # noqa: F401
