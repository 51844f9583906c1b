"""Great Expectations validation of a dataset in storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_airflow.hooks.storage import MlopsStorageHook
from mlops_airflow.operators.base import MlopsBaseOperator


class DataValidationOperator(MlopsBaseOperator):
    """Validate the parquet file ``dataset_key`` against the suite derived from the model config.

    Like the Great Expectations provider: the full result goes to XCom (key
    ``validation_result``) first, then a failure raises with every failed expectation listed.
    Failures are not retried (``DataValidationError`` is ``NotRetryable``): the same data fails
    the same way.

    :param model_name: model config to derive the expectations from (templated)
    :param dataset_key: key of the parquet file under the data root (templated)
    :param data_root: storage root; default ``$MLOPS_DATA_ROOT`` (templated)
    :param aws_conn_id: AWS connection for ``s3://`` roots
    """

    template_fields: Sequence[str] = ("model_name", "dataset_key", "data_root")
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        model_name: str,
        dataset_key: str,
        data_root: str | None = None,
        aws_conn_id: str | None = MlopsStorageHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.dataset_key = dataset_key
        self.data_root = data_root
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from include.config import get_config
        from include.retrain.validation import raise_for_failures, validate_dataset

        storage = MlopsStorageHook(data_root=self.data_root, aws_conn_id=self.aws_conn_id).get_conn()
        report = validate_dataset(storage, get_config(self.model_name), self.dataset_key)
        context["ti"].xcom_push(key="validation_result", value=report.result)
        self.log.info("%s", report.summary())
        raise_for_failures(report, f"{self.model_name} training data ({storage.uri(self.dataset_key)})")
        return report.to_dict()
