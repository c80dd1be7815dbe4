"""The OpenAI family's checks, one package per endpoint; each module is one part of the contract."""
