"""What each RPC does, on top of `client` (CrateDB I/O) and `sql` (statement text)."""
