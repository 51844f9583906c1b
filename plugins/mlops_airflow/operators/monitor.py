"""Monitoring operators: feature drift of a model's data against its champion's reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from include.monitor.payloads import DriftResult
from mlops_airflow.hooks.registry import MlflowHook
from mlops_airflow.hooks.storage import MlopsStorageHook
from mlops_airflow.operators.base import MlopsBaseOperator


class DriftCheckOperator(MlopsBaseOperator):
    """Compare a day's feature partitions of a model with its champion's reference profile.

    Per feature, the test evidently 0.7 would choose (or the one set in the model's
    ``monitoring.stattests``), with evidently's verdicts; dataset drift when the share of drifted
    features reaches ``monitoring.drift_share``; prediction drift of the published scores against
    the champion's hold-out scores. The drifted columns are logged with their tests and scores.
    Returns ``include.monitor.payloads.DriftResult`` (to XCom), or None when ``quality`` says the
    window's data quality failed (nothing is compared then).

    :param model_name: model config whose features are checked (templated)
    :param ds: the day to check, YYYY-MM-DD; the window is ``monitoring.window_days`` days
        ending with it (templated)
    :param reference: the champion to compare with, as ``include.monitor.reference.load_reference``
        gives it (templated, e.g. an upstream task's XCom); default: the current champion
    :param quality: the same window's data quality result (templated); when it failed, the
        check is skipped and None returned
    :param fail_on_drift: fail the task (``DataError``, not retried) on dataset drift
    :param mlflow_conn_id: MLflow connection of the registry holding the champion
    :param data_root: storage root of the feature partitions; default ``$MLOPS_DATA_ROOT``
    :param aws_conn_id: AWS connection for ``s3://`` roots
    """

    template_fields: Sequence[str] = ("model_name", "ds", "reference", "quality")
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        model_name: str,
        ds: str = "{{ ds }}",
        reference: Any = None,
        quality: Any = None,
        fail_on_drift: bool = False,
        mlflow_conn_id: str | None = MlflowHook.default_conn_name,
        data_root: str | None = None,
        aws_conn_id: str | None = MlopsStorageHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.ds = ds
        self.reference = reference
        self.quality = quality
        self.fail_on_drift = fail_on_drift
        self.mlflow_conn_id = mlflow_conn_id
        self.data_root = data_root
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> DriftResult | None:
        from include.config import get_config
        from include.monitor.drift_check import check_drift_of_day, drift_lines, raise_for_dataset_drift

        storage = MlopsStorageHook(data_root=self.data_root, aws_conn_id=self.aws_conn_id).get_conn()
        registry = MlflowHook(mlflow_conn_id=self.mlflow_conn_id).get_conn()
        config = get_config(self.model_name)
        result = check_drift_of_day(storage, registry, config, self.ds, reference=self.reference, quality=self.quality)
        for line in drift_lines(result) if result else ["data quality failed: drift not checked"]:
            self.log.info("%s", line)
        if result and self.fail_on_drift:
            raise_for_dataset_drift(result)
        return result
