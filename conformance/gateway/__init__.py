"""The embedded reference gateway: a correct, deterministic server of every registered API
family (each plugs in its ``surface.GatewaySurface``) that can be told to break exactly one
requirement at a time (see ``faults.FAULTS``), and whose model can behave in more than one clean
way (see ``behaviours.BEHAVIOURS``)."""

from .app import create_app
from .behaviours import BEHAVIOURS
from .fault_types import Fault
from .faults import FAULTS
from .server import EmbeddedGateway, serve

__all__ = ["BEHAVIOURS", "FAULTS", "EmbeddedGateway", "Fault", "create_app", "serve"]
