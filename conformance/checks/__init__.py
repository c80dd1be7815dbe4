"""The checks, one package per endpoint family; each module is one part of the contract."""
