"""Training, evaluation and conversion of the colorization models (needs the `train` extra)."""
