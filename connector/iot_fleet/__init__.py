"""A deterministic IoT-fleet source for the reference connector: no network, no clock, no extra packages."""
