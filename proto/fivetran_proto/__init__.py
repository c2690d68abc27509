"""Generated Python for Fivetran's partner SDK protocol (package `fivetran_sdk.v2`).

Regenerate with `python proto/generate.py`; never edit the `*_pb2*` modules by hand.
"""
