"""Traffic forecasts with intervals and, through the twin, time to exhaustion per link
under normal routing and under the worst single failure."""

from nettwin.forecast.capacity import (
    DemandForecast,
    LinkOutlook,
    forecast_demands,
    growth_per_day,
    link_outlook,
)
from nettwin.forecast.seasonal import ForecastError, SeasonalModel, Skill, evaluate, fit_seasonal

__all__ = ["DemandForecast", "ForecastError", "LinkOutlook", "SeasonalModel", "Skill",
           "evaluate", "fit_seasonal", "forecast_demands", "growth_per_day", "link_outlook"]
