"""An offline, strict stand-in for CrateDB's HTTP endpoint. A test double, never the product.

from cratedb_emulator import Emulator
with Emulator(port=0) as emulator:   # strict read visibility, CrateDB 6.4.3
    print(emulator.url)
"""

from .cost import CostModel
from .errors import CrateError
from .faults import FaultRule, Faults
from .server import Emulator
from .versions import DEFAULT_VERSION

__all__ = ["DEFAULT_VERSION", "CostModel", "CrateError", "Emulator", "FaultRule", "Faults"]
