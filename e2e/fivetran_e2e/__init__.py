"""End-to-end harness: one connector through `fivetran debug` and through our CrateDB destination.

The two results are compared row by row; the package also holds the scenario runner and its reference model.
"""
