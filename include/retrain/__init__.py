"""The retrain pipeline: point-in-time feature pull, data validation, training, gates, registration."""
