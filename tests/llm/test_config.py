"""``ModelConfig`` from YAML/TOML files: defaults, inference, one-line errors, public view."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from automem_core.llm.base import LLMConfigError
from automem_core.llm.config import ModelConfig, load_model_config, parse_model_config


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_embedded_backend():
    config = ModelConfig()
    assert config.backend == "embedded"
    assert config.api_key_env == "OPENAI_API_KEY"
    assert (config.max_tokens, config.max_retries, config.extra_body) == (512, 4, {})


def test_load_yaml_reads_every_field(tmp_path):
    path = write(
        tmp_path,
        "model.yaml",
        "backend: openai\n"
        "base_url: http://localhost:8000/v1/\n"
        "model: qwen2.5-32b\n"
        "temperature: 0.7\n"
        "top_p: 0.9\n"
        "max_tokens: 256\n"
        "timeout_s: 30\n"
        "extra_body:\n"
        "  top_k: 20\n",
    )
    config = load_model_config(path)
    assert config.backend == "openai"
    assert config.base_url == "http://localhost:8000/v1"
    assert config.model == "qwen2.5-32b"
    assert (config.temperature, config.top_p, config.max_tokens) == (0.7, 0.9, 256)
    assert config.timeout_s == 30.0
    assert config.extra_body == {"top_k": 20}


def test_load_toml_reads_every_field(tmp_path):
    path = write(
        tmp_path,
        "model.toml",
        'base_url = "https://api.example.com/v1"\n'
        'model = "gpt-4o-mini"\n'
        'api_key_env = "EXAMPLE_KEY"\n'
        "max_retries = 2\n"
        "[extra_body]\n"
        "seed = 7\n",
    )
    config = load_model_config(path)
    assert config.backend == "openai"
    assert config.api_key_env == "EXAMPLE_KEY"
    assert config.max_retries == 2
    assert config.extra_body == {"seed": 7}


def test_base_url_implies_openai_unless_backend_given():
    assert ModelConfig(base_url="http://127.0.0.1:9/v1").backend == "openai"
    assert ModelConfig(base_url="http://127.0.0.1:9/v1", backend="replay").backend == "replay"
    assert ModelConfig().backend == "embedded"


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_typo_field_gives_one_line_error_naming_it_and_the_fix(tmp_path, suffix):
    text = "tempreature: 0.5\n" if suffix == ".yaml" else "tempreature = 0.5\n"
    path = write(tmp_path, f"model{suffix}", text)
    with pytest.raises(LLMConfigError) as info:
        load_model_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "`tempreature`" in message
    assert "did you mean `temperature`" in message


def test_wrong_type_names_the_field(tmp_path):
    path = write(tmp_path, "model.yaml", "max_tokens: lots\n")
    with pytest.raises(LLMConfigError, match="`max_tokens`") as info:
        load_model_config(path)
    assert "\n" not in str(info.value)


def test_out_of_range_value_names_the_field():
    with pytest.raises(LLMConfigError, match="`temperature`"):
        parse_model_config({"temperature": -1})


def test_base_url_without_scheme_is_rejected():
    with pytest.raises(LLMConfigError, match=r"`base_url`.*http://"):
        parse_model_config({"base_url": "localhost:8000/v1"})


def test_a_key_pasted_into_api_key_env_is_rejected_without_echoing_it():
    secret = "sk-proj-abc123-def456"
    with pytest.raises(LLMConfigError) as info:
        parse_model_config({"api_key_env": secret})
    assert "`api_key_env`" in str(info.value)
    assert secret not in str(info.value)


def test_unsupported_suffix_is_rejected(tmp_path):
    path = write(tmp_path, "model.json", "{}")
    with pytest.raises(LLMConfigError, match=r"\.yaml, \.yml or \.toml"):
        load_model_config(path)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(LLMConfigError, match=r"absent\.yaml"):
        load_model_config(path)


@pytest.mark.parametrize(
    ("name", "text"), [("bad.yaml", "model: [unclosed\n  x: 1\n"), ("bad.toml", "model = \n")]
)
def test_syntax_error_is_one_line(tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(LLMConfigError, match="fix the syntax") as info:
        load_model_config(path)
    assert "\n" not in str(info.value)


def test_top_level_list_is_rejected(tmp_path):
    path = write(tmp_path, "model.yaml", "- openai\n- embedded\n")
    with pytest.raises(LLMConfigError, match="mapping"):
        load_model_config(path)


def test_empty_file_gives_defaults(tmp_path):
    assert load_model_config(write(tmp_path, "model.yml", "")) == ModelConfig()


def test_public_dict_drops_secret_looking_keys_and_keeps_the_rest():
    config = ModelConfig(
        base_url="http://localhost:8000/v1",
        model="m",
        extra_body={
            "api_key": "k1",
            "apiKey": "k2",
            "Authorization": "Bearer k3",
            "access_token": "k4",
            "nested": {"client_secret": "k5", "top_k": 5},
            "top_k": 20,
        },
    )
    public = config.public_dict()
    assert public["api_key_env"] == "OPENAI_API_KEY"
    assert public["max_tokens"] == 512
    assert public["model"] == "m"
    assert public["extra_body"] == {"nested": {"top_k": 5}, "top_k": 20}
    assert not any(f"k{i}" in str(public) for i in range(1, 6))


@pytest.mark.parametrize(
    "url", ["http://user:sk-secret@localhost:8000/v1", "http://localhost:8000/v1?key=sk-secret"]
)
def test_base_url_with_credentials_is_refused_without_echoing_them(url):
    with pytest.raises(ValidationError) as err:
        ModelConfig(base_url=url, model="m")
    assert "credentials" in str(err.value) and "sk-secret" not in str(err.value)
