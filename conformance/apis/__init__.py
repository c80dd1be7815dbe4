"""API families: one package per family of LLM APIs (``anthropic``; OpenAI's moves here later)."""
