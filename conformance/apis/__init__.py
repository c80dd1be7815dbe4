"""API families: one package per family of LLM APIs, registered here.

Adding a family is a new package beside these (its `FAMILY` record, `checks/`, reference
gateway routes and faults) and one line below (README, "Adding an API family").
"""

from conformance.apis import openai

# Anthropic Messages (`conformance/apis/anthropic`) joins once its checks exist (issue 11): until
# then only the reference gateway serves it.
FAMILIES = (openai.FAMILY,)
