"""Training sets and their use: recipes, trainer configs, LoRA SFT, fine-tuning jobs."""
