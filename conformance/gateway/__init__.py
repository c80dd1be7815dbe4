"""The embedded reference gateway: a correct, deterministic OpenAI-compatible server that can
be told to break exactly one requirement at a time (see ``faults.FAULTS``)."""

from .app import create_app
from .fault_types import Fault
from .faults import FAULTS
from .server import EmbeddedGateway, serve

__all__ = ["FAULTS", "EmbeddedGateway", "Fault", "create_app", "serve"]
