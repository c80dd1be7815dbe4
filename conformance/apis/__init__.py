"""API families: one package per family of LLM APIs, registered here.

Adding a family is a new package beside these (its `FAMILY` record, `checks/`, reference
gateway routes and faults) and one line below (README, "Adding an API family"). The first
family is the default one: `--model VALUE` without `FAMILY=` names its model.
"""

from conformance.apis import anthropic, gemini, openai

FAMILIES = (openai.FAMILY, anthropic.FAMILY, gemini.FAMILY)
