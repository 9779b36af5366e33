"""
Stand-in for `azureml.monitoring` (azureml-monitoring) inside a scoring replica: v1 AKS scripts
create `ModelDataCollector(...)` objects in init() and call `.collect(data)` in run(). Here the
service's `collectModelData` setting records every request's input and output, so the script's
collectors accept every call and keep nothing.
"""


class ModelDataCollector:
    def __init__(self, model_name, designation="default", feature_names=None, **kwargs):
        self.model_name = model_name
        self.designation = designation
        self.feature_names = feature_names

    def collect(self, input_data, user_correlation_id=""):
        return None

    def add_correlations(self, input_data, correlations):
        return input_data
