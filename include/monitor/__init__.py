"""The monitoring pipeline: data quality, feature and prediction drift, live performance, retrain decision."""
