"""Stand-in for the `azureml` namespace of the Azure ML v1 SDK (aks-inference compatibility package).

It sits last on sys.path; a real installed azureml-* package is found first, and this folder is
only added to the namespace for the modules that package does not have.
"""
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
