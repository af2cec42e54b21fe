"""UI-free engine: specs, data, models, training, search and run records."""
