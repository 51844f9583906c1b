"""A model's own Python code: feature transformers and estimator factories that a model YAML
names in ``estimator.class_path``. It runs on every worker that trains or scores the model, so
it lives in the project (on the PYTHONPATH of the scheduler, the workers and the image) and is
reviewed like the rest of the code. See docs/extending.md, "A model with its own feature
transformer"."""
