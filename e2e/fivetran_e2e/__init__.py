"""End-to-end harness: one connector through `fivetran debug` and through the CrateDB destination, compared."""
