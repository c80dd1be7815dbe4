"""POST /v1/widgets of the made-up family: one declared exchange."""

from conformance import plan
from conformance.http import Request, post


@plan.exchange
def acme_widget(model: str) -> Request:
    return post("/widgets", {"model": model, "size": 3})
