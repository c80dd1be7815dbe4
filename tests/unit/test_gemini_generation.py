"""Gemini's generated cases: sent to the model's own path, valid (or not) as promised, cheap,
and drawn from a request schema whose conditional rule names no discriminator."""

from __future__ import annotations

from conformance import generated
from conformance.apis.gemini.generation import GENERATE, TOP_K
from conformance.config import Config
from conformance.generated import MAX_OUTPUT_TOKENS, NEGATIVE, POSITIVE

MODEL = "gemini-2.0-flash"
SEED = 20261122


def test_cases_go_to_the_model_in_the_path() -> None:
    config = Config(base_url=None, cases=2, seed=SEED)
    paths = {request.path for _, request in generated.requests(GENERATE, POSITIVE, config, MODEL)}
    assert paths == {f"/models/{MODEL}:generateContent"}


def test_positive_cases_are_valid_and_cheap() -> None:
    cases = generated.draw_cases(GENERATE, POSITIVE, seed=SEED, count=8, model=MODEL)
    assert len(cases) == 8
    for case in cases:
        assert GENERATE.violations(case.body) == []
        config = case.body["generationConfig"]
        assert config["maxOutputTokens"] <= MAX_OUTPUT_TOKENS
        assert config.get("topK", 0) <= TOP_K
        assert not {"thinkingConfig", "candidateCount", "responseSchema"} & set(config)
        assert all(set(part) == {"text"} for turn in case.body["contents"]
                   for part in turn["parts"])


def test_negative_cases_break_the_schema() -> None:
    cases = generated.draw_cases(GENERATE, NEGATIVE, seed=SEED, count=8, model=MODEL)
    assert cases[0].mutation == "required `contents` removed"
    assert all(case.violations for case in cases)


def test_a_conditional_rule_without_discriminator_is_kept() -> None:
    """GenerationConfig's rule (a response schema needs a JSON mime type) is no union: the
    view keeps it as it is instead of splitting it into branches."""
    schema = {"type": "object", "properties": {"a": {}, "b": {}, "m": {"enum": ["x", "y"]}},
              "allOf": [{"if": {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
                         "then": {"required": ["m"]}}]}
    view = generated.generation_view({"components": {"schemas": {}}}, "/p", schema)
    body = view["paths"]["/p"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "anyOf" not in body and body["allOf"][0]["then"] == {"required": ["m"]}
