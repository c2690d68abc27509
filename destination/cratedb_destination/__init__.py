"""Fivetran partner destination for CrateDB (gRPC server, package `fivetran_sdk.v2`)."""

__version__ = "0.1.0"
