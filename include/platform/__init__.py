"""Shared services of every pipeline: storage and partitions, the MLflow registry, the audit
trail, the lifecycle table."""
