"""Stand-in for `azureml.exceptions`: the two errors `Model.get_model_path` raises."""


class AzureMLException(Exception):
    def __init__(self, exception_message="", **kwargs):
        super().__init__(exception_message)
        self.message = exception_message


class WebserviceException(AzureMLException):
    pass


class ModelNotFoundException(AzureMLException):
    pass
