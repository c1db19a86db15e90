"""Training recipes: the LoRA SFT hyper-parameters for a memory specialist, read from YAML.

A recipe is a trust boundary (a file a person edits), so it is a pydantic model that rejects
unknown fields and names the bad field in a one-line error. The paper's per-game defaults ship as
``recipes/<game>.yaml`` beside this module; :func:`default_recipe` reads them, so adding a game is
adding a file. An export of several games trains with ``recipes/mixed.yaml`` unless a recipe is
named (:func:`recipe_for_games`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from automem_core.errors import AutoMemError

Scheduler = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
]
ALL_LINEAR = "all-linear"
ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
_RECIPES = "recipes"
MIXED = "mixed"  # the recipe of an export that holds several games


class RecipeError(AutoMemError, ValueError):
    """A recipe that cannot be used; the message is one line naming the field and the fix."""


class TooFewExamplesError(RecipeError):
    """The export is smaller than the recipe's ``min_examples``."""


class Recipe(BaseModel):
    """LoRA SFT settings. ``target_modules`` is a list of module names or ``"all-linear"``."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    game: str | None = None
    base_model: str = "Qwen/Qwen2.5-32B-Instruct"
    template: str = Field(default="qwen", min_length=1)  # LLaMA-Factory's chat template name
    lora_rank: int = Field(ge=1)
    lora_alpha: int = Field(ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: Literal["all-linear"] | list[str]
    learning_rate: float = Field(gt=0.0, lt=1.0)
    epochs: float = Field(gt=0.0)
    batch_size: int = Field(ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    cutoff_len: int = Field(ge=16)
    scheduler: Scheduler = "cosine"
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    min_examples: int = Field(default=1, ge=1)
    held_out_examples: int = Field(default=8, ge=1)
    gradient_checkpointing: bool = True
    bf16: bool | None = None  # None: on where the accelerator supports it
    trust_remote_code: bool = False  # run the model repository's own code (only if it needs it)
    seed: int = 0

    @field_validator("target_modules")
    @classmethod
    def _check_targets(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            names = [name.strip() for name in value]
            if not names or any(not name for name in names):
                raise ValueError(
                    "must be `all-linear` or a non-empty list of module names, "
                    "e.g. [q_proj, v_proj]"
                )
            return names
        return value

    def replace(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied and validated again (``model_copy`` would not)."""
        return parse_recipe({**self.model_dump(), **changes}, source="recipe")

    def public_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def parse_recipe(data: dict[str, Any], *, source: str = "recipe") -> Recipe:
    """Validate already-parsed settings; a problem raises ``RecipeError`` naming the field."""
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise RecipeError(f"{source}: {problems}") from None


def load_recipe(path: Path | str) -> Recipe:
    """Read a recipe from a YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RecipeError(f"{path}: cannot read the recipe ({reason}); check the path") from None
    return _parse_yaml(text, str(path))


def known_games() -> list[str]:
    """Games with a shipped default recipe."""
    folder = resources.files(__package__ or "automem_core.export").joinpath(_RECIPES)
    names = (p.name for p in folder.iterdir())
    found = (name.removesuffix(".yaml") for name in names if name.endswith(".yaml"))
    return sorted(name for name in found if name != MIXED)


def recipe_for_games(games: Sequence[str]) -> Recipe:
    """The default recipe of an export's games: the game's own, or the combined ``mixed``
    recipe when it holds several (or none is known)."""
    if len(games) == 1 and games[0] in known_games():
        return default_recipe(games[0])
    return default_recipe(MIXED)


def default_recipe(game: str) -> Recipe:
    """The paper's recipe for ``game`` (``crafter``, ``minihack``, ``nethack``)."""
    games = known_games()
    if game not in (*games, MIXED):
        raise RecipeError(
            f"no default recipe for game {game!r}; choose one of {', '.join(games)} "
            "or pass a recipe file"
        )
    folder = resources.files(__package__ or "automem_core.export").joinpath(_RECIPES)
    text = folder.joinpath(f"{game}.yaml").read_text(encoding="utf-8")
    return _parse_yaml(text, f"default recipe {game}")


def check_example_count(count: int, recipe: Recipe, *, allow_few_examples: bool = False) -> None:
    """Refuse to train on fewer examples than the recipe's ``min_examples`` unless overridden."""
    if count < recipe.min_examples and not allow_few_examples:
        which = f"the {recipe.game} recipe" if recipe.game else "the recipe"
        raise TooFewExamplesError(
            f"the export has {count} examples but {which} needs at least {recipe.min_examples} "
            "(min_examples); label and export more decisions, or pass --allow-few for a smoke run"
        )


def peft_target_modules(recipe: Recipe) -> str | list[str]:
    """``target_modules`` as PEFT's ``LoraConfig`` takes it."""
    targets = recipe.target_modules
    return targets if isinstance(targets, str) else list(targets)


def _parse_yaml(text: str, source: str) -> Recipe:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise RecipeError(f"{source}: not valid YAML ({detail}); fix the syntax") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise RecipeError(f"{source}: expected a mapping of fields, got {kind}; write field: value")
    return parse_recipe(data, source=source)


def _describe(err: Any) -> str:
    loc = ".".join(str(part) for part in err.get("loc", ())) or "(top level)"
    if err.get("type") == "extra_forbidden":
        field = str(err["loc"][0]) if err.get("loc") else loc
        close = difflib.get_close_matches(field, list(Recipe.model_fields), n=1)
        hint = f"did you mean `{close[0]}`?" if close else "remove it"
        return f"unknown field `{loc}`; {hint}"
    if err.get("type") == "missing":
        return f"field `{loc}` is required; add it"
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"field `{loc}`: {msg}; fix the value"
