"""Model code shared by the pipelines: training, evaluation, live performance, model cards."""
