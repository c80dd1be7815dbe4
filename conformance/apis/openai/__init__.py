"""The OpenAI family: Chat Completions (`POST /v1/chat/completions`), Responses
(`POST /v1/responses`, `GET /v1/responses/{id}`) and the model list (`GET /v1/models`)."""

from conformance.family import ApiFamily, Auth, Endpoint

FAMILY = ApiFamily(
    name="openai",
    title="OpenAI",
    package=__name__,
    endpoints=(
        Endpoint("chat", "POST", "/chat/completions"),
        Endpoint("responses", "POST", "/responses"),
        Endpoint("models", "GET", "/models"),
    ),
    documents=("chat.yaml", "responses.yaml"),
    auth=Auth("Authorization", "Bearer"),
    default_model="gpt-4o-mini",
    model_env="CONFORMANCE_MODEL",
    key_env="OPENAI_API_KEY",
    gateway=f"{__name__}.gateway.surface",
)
