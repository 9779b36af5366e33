"""
Stand-in for Microsoft's `inference-schema` package (aks-inference compatibility package): the
`@input_schema` / `@output_schema` decorators, `schema_util` (what the scoring server asks of a
decorated run()), and the standard Python, numpy and pandas parameter types. It is last on
sys.path: a real installed inference-schema wins.
"""
