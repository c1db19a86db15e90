from __future__ import annotations

from pathlib import Path

import pytest

from automem_core.export.recipe import (
    RecipeError,
    TooFewExamplesError,
    check_example_count,
    default_recipe,
    known_games,
    load_recipe,
    peft_target_modules,
)


def test_default_recipes_match_paper_for_each_game() -> None:
    # rank:alpha:dropout:lr:epochs:batch:grad-accum:cutoff:scheduler:warmup:targets, min examples
    attention = ["q_proj", "k_proj", "v_proj", "o_proj"]
    expected = {
        "crafter": (256, 512, 0.0, 5e-5, 4, 2, 8, 16384, "cosine", 0.05, attention, 600),
        "minihack": (128, 256, 0.0, 5e-5, 3, 2, 4, 16384, "cosine", 0.05, "all-linear", 300),
        "nethack": (256, 512, 0.0, 5e-5, 1, 2, 8, 16384, "cosine", 0.05, "all-linear", 800),
    }  # fmt: skip
    assert known_games() == sorted(expected)
    for game, values in expected.items():
        r = default_recipe(game)
        got = (
            r.lora_rank, r.lora_alpha, r.lora_dropout, r.learning_rate, r.epochs, r.batch_size,
            r.gradient_accumulation, r.cutoff_len, r.scheduler, r.warmup_ratio, r.target_modules,
            r.min_examples,
        )  # fmt: skip
        assert got == values, game
        assert r.game == game


def test_default_recipe_unknown_game_names_the_choices() -> None:
    with pytest.raises(RecipeError, match="crafter, minihack, nethack"):
        default_recipe("pong")


def test_load_recipe_bad_field_names_field_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    text = (
        "lora_rank: 0\nlora_alpha: 16\ntarget_modules: all-linear\nlearning_rate: 1.0e-4\n"
        "epochs: 1\nbatch_size: 1\ncutoff_len: 512\n"
    )
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert "\n" not in message
    assert "`lora_rank`" in message and str(path) in message


def test_load_recipe_typo_suggests_the_field(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({**default_recipe("crafter").public_dict(), "lora_rnak": 8}))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).endswith("unknown field `lora_rnak`; did you mean `lora_rank`?")


def test_load_recipe_missing_field_says_required(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("lora_rank: 8\n")
    with pytest.raises(RecipeError, match="field `lora_alpha` is required"):
        load_recipe(path)


def test_load_recipe_round_trips_shipped_default(tmp_path: Path) -> None:
    import yaml

    recipe = default_recipe("nethack")
    path = tmp_path / "nethack.yaml"
    path.write_text(yaml.safe_dump(recipe.public_dict()))
    assert load_recipe(path) == recipe


def test_load_recipe_not_yaml_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match="expected a mapping"):
        load_recipe(path)


def test_replace_validates_changes() -> None:
    recipe = default_recipe("crafter")
    assert recipe.replace(lora_rank=8).lora_rank == 8
    with pytest.raises(RecipeError, match="`warmup_ratio`"):
        recipe.replace(warmup_ratio=1.5)


def test_check_example_count_too_few_names_minimum() -> None:
    recipe = default_recipe("crafter")
    with pytest.raises(TooFewExamplesError, match=r"has 80 examples .* at least 600"):
        check_example_count(80, recipe)
    check_example_count(80, recipe, allow_few_examples=True)
    check_example_count(600, recipe)


def test_peft_target_modules_keeps_all_linear_and_lists() -> None:
    assert peft_target_modules(default_recipe("minihack")) == "all-linear"
    attention = ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert peft_target_modules(default_recipe("crafter")) == attention
