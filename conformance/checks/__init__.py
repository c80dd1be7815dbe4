"""The checks, one package per endpoint family; each module is one part of the contract."""

from pathlib import Path

CHECKS_DIR = Path(__file__).resolve().parent
