"""Notifications to the targets a model config lists."""
