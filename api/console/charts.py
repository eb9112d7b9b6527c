"""ECharts options for the console's charts, built from the same service results the API serves, so a chart,
its data table and its CSV/XLSX download show the same numbers. Every chart has the toolbox's "save as image"
(PNG). Amounts are 万元; ratios are fractions (0.08 = 8 %)."""

from __future__ import annotations

from typing import Any

PALETTE = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490", "#be123c"]


def _base(title: str) -> dict[str, Any]:
    return {
        "color": PALETTE,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 64, "right": 24, "top": 48, "bottom": 64, "containLabel": True},
        "toolbox": {"feature": {"saveAsImage": {"title": "下载 PNG", "pixelRatio": 2}}, "right": 8},
        "animation": False,
    }


def bar(
    title: str, labels: list[str], series: dict[str, list[float | None]], *, axis: str = "", integers: bool = False
) -> dict[str, Any]:
    """A bar chart: one bar per label per series (name → values; None draws no bar); ``integers`` keeps the
    value axis to whole numbers (counts). Long labels are cut to fit (the tooltip shows them whole)."""
    option = _base(title)
    option.update(
        {
            "legend": {"bottom": 0} if len(series) > 1 else {"show": False},
            "xAxis": {
                "type": "category",
                "data": labels,
                "axisLabel": {
                    "interval": 0,
                    "rotate": 30 if len(labels) > 6 else 0,
                    "width": 110,
                    "overflow": "truncate",
                },
            },
            "yAxis": {"type": "value", "name": axis, "minInterval": 1 if integers else 0},
            "series": [{"type": "bar", "name": name, "data": values} for name, values in series.items()],
        }
    )
    return option


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def om_boxes(stats: dict[str, Any], *, measure: str) -> dict[str, Any]:
    """Box plots per O&M category of the census (:func:`mdm.projects.census.om_statistics`).

    ``measure`` ``cost``: contract amounts (万元) — box min/P25/median/P75/max; ``share``: each declaration's
    contract / construction cost, with the proposed expenditure standard (the median ratio) drawn as a line and
    declarations above it marked as outliers."""
    categories = stats["categories"]
    labels = [c["title"] for c in categories]
    if measure == "cost":
        boxes = [[_num(c[k]) for k in ("min_wan", "p25_wan", "median_wan", "p75_wan", "max_wan")] for c in categories]
        points = [
            [i, float(d["contract_wan"])]
            for i, c in enumerate(categories)
            for d in c["declarations"]
            if d["above_standard"]
        ]
        title, axis, point_name = f"{stats['year']} 年运维合同金额（万元）", "万元", "高于支出标准的申报"
        line = None
    else:
        boxes = [
            [_num(c[k]) for k in ("ratio_min", "ratio_p25", "ratio_median", "ratio_p75", "ratio_max")]
            for c in categories
        ]
        points = [
            [i, float(d["ratio"])]
            for i, c in enumerate(categories)
            for d in c["declarations"]
            if d["above_standard"] and d["ratio"] is not None
        ]
        title, axis, point_name = f"{stats['year']} 年运维费占建设成本比例", "比例", "高于支出标准的申报"
        line = [_num(c["standard_ratio"]) for c in categories]
    option = _base(title)
    option["tooltip"] = {"trigger": "item"}
    series: list[dict[str, Any]] = [
        {"name": "分布（最小、P25、中位数、P75、最大）", "type": "boxplot", "data": boxes},
        {"name": point_name, "type": "scatter", "data": points, "symbolSize": 9, "itemStyle": {"color": "#be123c"}},
    ]
    if line is not None:
        series.append(
            {
                "name": "拟定支出标准（比例中位数）",
                "type": "line",
                "data": line,
                "step": "middle",
                "symbol": "none",
                "lineStyle": {"type": "dashed", "width": 2, "color": "#15803d"},
            }
        )
    option.update(
        {
            "legend": {"bottom": 0},
            "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 20}},
            "yAxis": {"type": "value", "name": axis, "scale": True},
            "series": series,
        }
    )
    return option


def om_growth(stats: dict[str, Any]) -> dict[str, Any]:
    """Growth of each category's total on the previous year (fraction; none without a previous year)."""
    categories = stats["categories"]
    option = bar(
        f"{stats['year']} 年运维费用同比增长",
        [c["title"] for c in categories],
        {"同比增长": [_num(c["growth"]) for c in categories]},
        axis="增长率",
    )
    return option


def om_review_ratio(review: dict[str, Any]) -> dict[str, Any]:
    """One O&M project's ratio contract / construction cost beside its category's expenditure standard
    (:func:`mdm.projects.om.om_review`): two bars, the project's red when it is not within."""
    comparison = review["comparison"]
    ratio, standard = _num(comparison["ratio"]), _num(comparison["standard_ratio"])
    colour = PALETTE[0] if comparison["outcome"] == "within" else "#be123c"
    option = bar(
        f"运维费占建设成本比例与 {comparison['census_year']} 年支出标准",
        ["本项目", "支出标准"],
        {"比例": [ratio, standard]},
        axis="比例",
    )
    option["series"][0]["data"] = [
        {"value": ratio, "itemStyle": {"color": colour}},
        {"value": standard, "itemStyle": {"color": "#15803d"}},
    ]
    return option


def om_system_growth(review: dict[str, Any]) -> dict[str, Any]:
    """The O&M contract total of one system by year (bars, 万元) and its growth on the year before (line, right
    axis; none without a previous year)."""
    history = review["history"]
    option = _base("同一系统各年度运维费用及同比增长")
    option.update(
        {
            "legend": {"bottom": 0},
            "xAxis": {"type": "category", "data": [str(h["year"]) for h in history]},
            "yAxis": [{"type": "value", "name": "万元"}, {"type": "value", "name": "增长率"}],
            "series": [
                {"type": "bar", "name": "运维合同金额（万元）", "data": [_num(h["contract_wan"]) for h in history]},
                {
                    "type": "line",
                    "name": "同比增长",
                    "yAxisIndex": 1,
                    "data": [_num(h["growth"]) for h in history],
                    "connectNulls": False,
                },
            ],
        }
    )
    return option
