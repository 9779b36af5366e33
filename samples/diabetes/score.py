# An Azure ML v1 entry script as users wrote them for AKS web services: init() loads the model
# from AZUREML_MODEL_DIR, run(raw_data) gets the request body as text.
import json
import os

import joblib
import numpy as np


def init():
    global model
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "sklearn_regression_model.pkl")
    model = joblib.load(model_path)


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    result = model.predict(data)
    return result.tolist()
