"""A made-up API family, registered by tests/unit/test_families.py only: what adding a family
takes (this package and one registration) and what the engine does with it."""

from conformance.family import ApiFamily, Auth, Endpoint

FAMILY = ApiFamily(
    name="acme",
    title="Acme Completions",
    package=__name__,
    endpoints=(Endpoint("widgets", "POST", "/widgets"),),
    documents=(),
    auth=Auth("x-acme-key", extra=(("acme-version", "7"),)),
    default_model="acme-1",
    model_env="ACME_MODEL",
    key_env="ACME_API_KEY",
    gateway=f"{__name__}.gateway",
)
