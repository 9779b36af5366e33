"""Script-facing API of the stand-in: the same objects as azureml.contrib.services."""
