"""Test-versus-control statistics for a campaign goal (spec/semantics.md, "Goal and uplift").

Plain ``math`` on counts, no scipy: rates per distinct user, the absolute and relative uplift, a Wald
(unpooled) 95% interval for ``p_test - p_control``, the pooled two-proportion z test (two-sided p-value via
``math.erfc``), the minimum detectable effect at 95% confidence and 80% power for the observed group sizes,
and revenue per user (ARPU) with CleverTap's incremental revenue ``(ARPU_test - ARPU_control) x users_sent``.

When a group is empty every comparison is null, but the other group's own rate and ARPU are still reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any, Final

__all__ = [
    "NUMBER_PATTERN",
    "Z_95",
    "Z_POWER_80",
    "Group",
    "Proportions",
    "Revenue",
    "Uplift",
    "compare",
    "rate",
    "revenue_uplift",
    "two_proportions",
]

#: two-sided 95% normal quantile, as the spec fixes it (not recomputed, so every engine agrees)
Z_95: Final = 1.959964
#: one-sided 80% power normal quantile
Z_POWER_80: Final = 0.841621

#: a revenue value counts when its text, trimmed of Unicode white space, matches this (ASCII digits)
NUMBER_PATTERN: Final = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class Group:
    """One side of the comparison: distinct users, how many converted, and their converting revenue.

    ``revenue`` is None when the goal has no ``revenue_property``.
    """

    users: int
    converted: int
    revenue: float | None = None


@dataclass(frozen=True, slots=True)
class Proportions:
    """The conversion-rate comparison; every field is None when a group is empty."""

    uplift_abs: float | None
    uplift_rel: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    mde: float | None


@dataclass(frozen=True, slots=True)
class Revenue:
    """Revenue per user of each group and what the campaign added."""

    arpu_test: float | None
    arpu_control: float | None
    incremental_revenue: float | None
    revenue_boost_pct: float | None


def rate(converted: int, users: int) -> float | None:
    """Share of a group's users who converted; None for an empty group."""
    return converted / users if users else None


def two_proportions(
    converted_test: int, users_test: int, converted_control: int, users_control: int
) -> Proportions:
    """Compare two conversion rates (spec/semantics.md: Wald interval, pooled z test, MDE)."""
    if not users_test or not users_control:
        return Proportions(None, None, None, None, None)
    p_t = converted_test / users_test
    p_c = converted_control / users_control
    diff = p_t - p_c
    spread = 1 / users_test + 1 / users_control
    wald_se = math.sqrt(p_t * (1 - p_t) / users_test + p_c * (1 - p_c) / users_control)
    pooled = (converted_test + converted_control) / (users_test + users_control)
    pooled_se = math.sqrt(pooled * (1 - pooled) * spread)
    # Everyone or no one converted in both groups: z is undefined, not "no difference".
    p_value = math.erfc(abs(diff / pooled_se) / math.sqrt(2)) if pooled_se > 0 else None
    return Proportions(
        uplift_abs=diff,
        uplift_rel=diff / p_c if p_c else None,
        ci95=(diff - Z_95 * wald_se, diff + Z_95 * wald_se),
        p_value=p_value,
        mde=(Z_95 + Z_POWER_80) * math.sqrt(p_c * (1 - p_c) * spread),
    )


def revenue_uplift(test: Group, control: Group) -> Revenue:
    """ARPU of each group (revenue over all its users), incremental revenue and the boost in percent."""
    if test.revenue is None or control.revenue is None:
        return Revenue(None, None, None, None)
    arpu_test = test.revenue / test.users if test.users else None
    arpu_control = control.revenue / control.users if control.users else None
    if arpu_test is None or arpu_control is None:
        return Revenue(arpu_test, arpu_control, None, None)
    gain = arpu_test - arpu_control
    return Revenue(
        arpu_test=arpu_test,
        arpu_control=arpu_control,
        incremental_revenue=gain * test.users,
        revenue_boost_pct=gain / arpu_control * 100 if arpu_control else None,
    )


@dataclass(frozen=True, slots=True)
class Uplift:
    """Everything the JSON summary's ``uplift`` object holds for one campaign, in its key order."""

    users_test: int
    converted_test: int
    rate_test: float | None
    users_control: int
    converted_control: int
    rate_control: float | None
    uplift_abs: float | None
    uplift_rel: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    mde: float | None
    arpu_test: float | None
    arpu_control: float | None
    incremental_revenue: float | None
    revenue_boost_pct: float | None
    revenue_non_numeric: int | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: ``ci95`` as ``[low, high]`` (or null)."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["ci95"] = None if self.ci95 is None else list(self.ci95)
        return data


def compare(test: Group, control: Group, *, revenue_non_numeric: int | None = None) -> Uplift:
    """The full uplift of test over control; ``revenue_non_numeric`` is None without a revenue property."""
    props = two_proportions(test.converted, test.users, control.converted, control.users)
    money = revenue_uplift(test, control)
    return Uplift(
        users_test=test.users,
        converted_test=test.converted,
        rate_test=rate(test.converted, test.users),
        users_control=control.users,
        converted_control=control.converted,
        rate_control=rate(control.converted, control.users),
        uplift_abs=props.uplift_abs,
        uplift_rel=props.uplift_rel,
        ci95=props.ci95,
        p_value=props.p_value,
        mde=props.mde,
        arpu_test=money.arpu_test,
        arpu_control=money.arpu_control,
        incremental_revenue=money.incremental_revenue,
        revenue_boost_pct=money.revenue_boost_pct,
        revenue_non_numeric=revenue_non_numeric,
    )
