"""Pure SQL builders (no I/O). Every name goes through `identifiers`; every value is a `?` parameter."""
