"""Worked example (docs/extending.md): churn features a scikit-learn pipeline cannot derive
by itself, in a transformer the model YAML uses through an estimator factory.

``include/models/<model>.yaml``::

    estimator:
      class_path: include.extensions.churn_features.churn_pipeline
      preprocessing: false          # the factory builds the whole pipeline
      params: {max_iter: 100}
    skops_trusted_types:
      - include.extensions.churn_features.ChargeRatios

skops refuses to load a type nobody vouched for: training checks that every type the saved
model needs is listed in ``skops_trusted_types`` and scoring loads the model with that list only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

NUMERIC = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_tickets_90d",
    "avg_session_minutes",
    "days_since_last_login",
    "logins_30d",
    "data_usage_gb",
    "late_payments_12m",
    "discount_pct",
]
CATEGORICAL = ["contract_type", "payment_method", "region", "plan_tier"]


class ChargeRatios(TransformerMixin, BaseEstimator):
    """Adds what the customer paid against what the tenure implies, and tickets per month.

    Stateless apart from the column names it was fitted on, so skops stores it as plain data.
    """

    def fit(self, frame: Any, y: Any = None) -> ChargeRatios:
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def transform(self, frame: Any) -> Any:
        out = frame.copy()
        expected = out["tenure_months"].clip(lower=1) * out["monthly_charges"]
        out["paid_ratio"] = (out["total_charges"] / expected.where(expected > 0)).fillna(0.0)
        out["tickets_per_month"] = out["support_tickets_90d"] / 3.0
        return out

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        names = [*self.feature_names_in_, "paid_ratio", "tickets_per_month"]
        return np.asarray(names, dtype=object)


def churn_pipeline(**params: Any) -> Any:
    """ChargeRatios, then impute/scale/one-hot, then gradient boosting (``params`` go to it)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [*NUMERIC, "paid_ratio", "tickets_per_month"]
    encode = ColumnTransformer(
        [
            ("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                CATEGORICAL,
            ),
        ]
    )
    model = HistGradientBoostingClassifier(**params)
    return Pipeline([("ratios", ChargeRatios()), ("encode", encode), ("model", model)])
