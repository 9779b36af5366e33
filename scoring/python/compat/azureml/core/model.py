"""
Stand-in for `azureml.core.model.Model` inside a scoring replica (aks-inference compatibility
package): `Model.get_model_path(model_name, version=None)` resolves the way azureml-core's
`_get_model_path_local` does, without a workspace:

1. `<models root>/<model_name>/<version, or the highest version present>/` must hold exactly one
   file or folder, which is returned;
2. otherwise `model_name` itself, when it exists relative to the working directory (the script's
   folder);
3. otherwise ModelNotFoundException.

The models root is `$AML_APP_ROOT/azureml-models`, as azureml-core computes it; the scoring server
makes that path lead to the folder it unpacked the models into.
"""
import os

from azureml.exceptions import ModelNotFoundException, WebserviceException


def _models_root():
    return os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")


def _latest(versions):
    numeric = [int(v) for v in versions if v.isdigit()]
    if not numeric:
        raise WebserviceException(f"no numeric version folder among {versions}")
    return max(numeric)


class Model:
    """Only the static path lookup of the SDK's Model is provided; the workspace API is not."""

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int")
        if model_name is None:
            raise WebserviceException("model_name is None")
        root = _models_root()
        named = os.path.join(root, model_name)
        if os.path.exists(named):
            chosen = version if version is not None else _latest(os.listdir(named))
            folder = os.path.join(named, str(chosen))
            if os.path.exists(folder):
                entries = os.listdir(folder)
                if len(entries) != 1:
                    raise WebserviceException(f"Dir {folder} can contain only 1 file or folder. Found {entries}")
                return os.path.join(folder, entries[0])
        if os.path.exists(model_name):
            return model_name
        raise ModelNotFoundException(
            f"Model {model_name} not found in cache at {root} or in current working directory {os.getcwd()}. "
            "For more info, set logging level to DEBUG."
        )
