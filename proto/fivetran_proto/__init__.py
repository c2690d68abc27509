"""Generated Python for Fivetran's partner SDK protocol (package `fivetran_sdk.v2`). Regenerate with proto/generate.py."""
