"""An offline, strict stand-in for CrateDB's HTTP endpoint. A test double, never the product."""
