"""Stand-in for azureml-inference-server-http's script-facing API (`.api.aml_request`, `.api.aml_response`)."""
