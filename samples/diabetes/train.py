"""Trains the sample's model: ridge regression on scikit-learn's bundled diabetes data (no
download), saved with joblib as model/sklearn_regression_model.pkl, the file score.py loads.
The model is committed, written by scikit-learn 1.2.1 (Debian 12's python3-sklearn), the version
conda.yml pins: a pickle belongs to the scikit-learn version that wrote it. After changing the pin,
rerun with a Python that has that version: `/usr/bin/python3 samples/diabetes/train.py [out]`."""
import os
import sys

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "model", "sklearn_regression_model.pkl")
X, y = load_diabetes(return_X_y=True)
model = Ridge(alpha=0.1).fit(X, y)
os.makedirs(os.path.dirname(out), exist_ok=True)
joblib.dump(model, out)
print(f"wrote {out}")
