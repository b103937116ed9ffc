"""P.530-18 planning statistics: rain below 0.001 % (extrapolated, continuous) and
multipath for any fade depth (§2.3.2, §2.3.4), against hand-worked values and ``itur``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nettwin.radio.p530 import (
    geoclimatic_conversion_db,
    multipath_fade_exceeded,
    multipath_occurrence_factor,
    multipath_time_exceeded,
    rain_attenuation_exceeded,
    rain_beyond_method,
    rain_scaling_c0,
    rain_time_exceeded,
)


def _hand_c(f: float) -> tuple[float, float, float]:
    c0 = 0.12 + 0.4 * math.log10((f / 10) ** 0.8) if f >= 10 else 0.12
    return (0.07**c0 * 0.12 ** (1 - c0), 0.855 * c0 + 0.546 * (1 - c0),
            0.139 * c0 + 0.043 * (1 - c0))


def test_c0_reads_the_exponent_inside_the_logarithm() -> None:
    # P.530-18 eq. 35: C0 = 0.12 + 0.4 [log10 (f/10)^0.8]; 23 GHz: 0.12 + 0.32 log10 2.3
    assert float(rain_scaling_c0(23.0)) == pytest.approx(0.12 + 0.32 * math.log10(2.3))
    assert float(rain_scaling_c0(7.0)) == 0.12
    assert float(rain_scaling_c0(10.0)) == pytest.approx(0.12)  # continuous at 10 GHz


def test_rain_matches_itur_where_the_methods_agree() -> None:
    itu530 = pytest.importorskip("itur.models.itu530")
    model = itu530.__model.instance  # type: ignore[attr-defined]
    # below 10 GHz both read C0 = 0.12: the same eq. 34. A0.01 (eq. 33) from itur's own
    # eq. 34 at p = 0.01 % (which is A0.01 times C1 0.01^-(C2 - 2 C3), not 1 exactly)
    c1, c2, c3 = _hand_c(8.0)
    a001 = float(model.rain_attenuation(48.1, 11.6, 15.0, 8.0, 0.0, 0.01, 0, R001=40.0)) \
        / (c1 * 0.01 ** -(c2 - 2 * c3))
    for p in (0.001, 0.003, 0.01, 0.1, 1.0):
        ours = float(rain_attenuation_exceeded(a001, 8.0, p))
        assert ours == pytest.approx(
            float(model.rain_attenuation(48.1, 11.6, 15.0, 8.0, 0.0, p, 0, R001=40.0)),
            rel=1e-9)
    # above 10 GHz itur reads (log10 f/10)^0.8: A0.01 agrees, the scaling differs
    c0_itur = 0.12 + 0.4 * math.log10(2.3) ** 0.8
    c1 = 0.07**c0_itur * 0.12 ** (1 - c0_itur)
    c2 = 0.855 * c0_itur + 0.546 * (1 - c0_itur)
    c3 = 0.139 * c0_itur + 0.043 * (1 - c0_itur)
    a001 = float(model.rain_attenuation(48.1, 11.6, 10.0, 23.0, 0.0, 0.01, 0, R001=40.0)) \
        / (c1 * 0.01 ** -(c2 - 2 * c3))
    theirs = float(model.rain_attenuation(48.1, 11.6, 10.0, 23.0, 0.0, 0.001, 0, R001=40.0))
    assert theirs == pytest.approx(a001 * c1 * 0.001 ** -(c2 + c3 * -3), rel=1e-9)
    assert float(rain_attenuation_exceeded(a001, 23.0, 0.001)) != pytest.approx(theirs, rel=1e-3)


def test_rain_extension_below_0001_percent_is_the_log_log_tangent() -> None:
    a001, f = 25.0, 18.0
    c1, c2, c3 = _hand_c(f)
    a_min = a001 * c1 * 0.001 ** -(c2 + c3 * -3)  # eq. 34 at 0.001 %
    slope = c2 - 6 * c3  # -dlog A / dlog p there
    for p in (1e-4, 1e-5):
        hand = a_min * (p / 0.001) ** -slope
        assert float(rain_attenuation_exceeded(a001, f, p)) == pytest.approx(hand, rel=1e-12)
        assert float(rain_time_exceeded(a001, f, hand)) == pytest.approx(p, rel=1e-9)
        assert bool(rain_beyond_method(a001, f, hand))
    assert not bool(rain_beyond_method(a001, f, 0.99 * a_min))
    # never below the power law continued (the curve bends down): errs on the long side
    p = np.array([5e-4, 1e-4, 3e-5])
    continued = a001 * c1 * p ** -(c2 + c3 * np.log10(p))
    assert np.all(rain_attenuation_exceeded(a001, f, p) >= continued)


@pytest.mark.parametrize("f", [8.0, 18.0, 23.0, 38.0, 80.0])
def test_rain_outage_is_continuous_and_monotonic_in_the_margin(f: float) -> None:
    a001 = 22.0
    a_min = float(rain_attenuation_exceeded(a001, f, 0.001))
    margins = np.linspace(0.5 * a001, 3 * a001, 20001)
    p = rain_time_exceeded(a001, f, margins)
    assert np.all(np.diff(p) <= 0) and np.all(p > 0)
    # no cliff at the 0.001 % point: both sides meet, slopes agree (C1 continuity)
    eps = 1e-6 * a_min
    lo, at, hi = rain_time_exceeded(a001, f, np.array([a_min - eps, a_min, a_min + eps]))
    assert at == pytest.approx(0.001, rel=1e-9)
    assert lo == pytest.approx(hi, rel=1e-4)
    assert (lo - at) == pytest.approx(at - hi, rel=1e-3)
    # the largest jump between neighbouring margins is where the curve is steepest, not at
    # the 0.001 % point: relative steps shrink smoothly
    rel_step = -np.diff(np.log(p))
    assert rel_step.max() < 5 * np.median(rel_step)


def test_multipath_deep_fades_by_hand_and_against_itur(monkeypatch: pytest.MonkeyPatch) -> None:
    d, f, dn1, h_l, eps, lat = 20.0, 18.0, -250.0, 300.0, 2.0, 48.0
    k = 10 ** (-4.6 - 0.0027 * dn1)
    p0 = k * d**3.1 * (1 + eps) ** -1.29 * f**0.8 * 10 ** (-0.00089 * h_l)
    assert float(multipath_occurrence_factor(d, f, dn1, h_l, eps)) == pytest.approx(p0)
    at = 25 + 1.2 * math.log10(p0)
    a = 40.0
    assert a > at  # the deep range: eq. 13
    assert float(multipath_fade_exceeded(a, p0)) == pytest.approx(p0 * 10 ** (-a / 10))
    dg = (10.5 - 5.6 * math.log10(1.1 - abs(math.cos(math.radians(96.0))) ** 0.7)
          - 2.7 * math.log10(d) + 1.7 * math.log10(1 + eps))
    assert float(geoclimatic_conversion_db(d, eps, lat)) == pytest.approx(min(dg, 10.8))
    assert float(multipath_time_exceeded(a, d, f, dn1, h_l, eps, lat)) == pytest.approx(
        10 ** (-dg / 10) * p0 * 10 ** (-a / 10))
    # itur's P.530 deep-fade branch of §2.3.2 (its eq. 13) from the same p0
    itu530 = pytest.importorskip("itur.models.itu530")
    model = itu530.__model.instance  # type: ignore[attr-defined]
    # (its own p0 comes from the P.530-17 maps: fed ours instead, the method is compared)
    monkeypatch.setattr(type(model), "multipath_loss_for_A",
                        classmethod(lambda cls, *args: p0 * 10 ** (-args[-1] / 10)))
    theirs = float(model.multipath_loss(lat, 11.0, h_l, h_l + eps * d, d, f, a))
    assert float(multipath_fade_exceeded(a, p0)) == pytest.approx(theirs, rel=1e-12)


def test_multipath_shallow_fades_by_hand() -> None:
    # §2.3.2 step 3b written out for p0 = 50 %, A = 10 dB (At = 27.04 dB)
    p0, a = 50.0, 10.0
    at = 25 + 1.2 * math.log10(p0)
    pt = p0 * 10 ** (-at / 10)
    qa_t = -20 * math.log10(-math.log((100 - pt) / 100)) / at
    qt = (qa_t - 2) / ((1 + 0.3 * 10 ** (-at / 20)) * 10 ** (-0.016 * at)) \
        - 4.3 * (10 ** (-at / 20) + at / 800)
    qa = 2 + (1 + 0.3 * 10 ** (-a / 20)) * 10 ** (-0.016 * a) \
        * (qt + 4.3 * (10 ** (-a / 20) + a / 800))
    hand = 100 * (1 - math.exp(-(10 ** (-qa * a / 20))))
    assert float(multipath_fade_exceeded(a, p0)) == pytest.approx(hand, rel=1e-12)
    # the deep formula overstates shallow fades: p0 10^-1 = 5 %
    assert hand < p0 * 10 ** (-a / 10)


@pytest.mark.parametrize("p0", [1e-3, 0.3, 5.0, 120.0, 1500.0])
def test_multipath_continuous_at_the_transition_and_monotonic(p0: float) -> None:
    at = 25 + 1.2 * math.log10(p0)
    for dg in (0.0, 6.0):
        below, above = multipath_fade_exceeded(np.array([at - 1e-7, at]), p0, dg)
        assert below == pytest.approx(above, rel=1e-5)
        depth = np.linspace(0.01, 60, 6001)
        p = multipath_fade_exceeded(depth, p0, dg)
        assert np.all(np.diff(p) < 0) and np.all((p > 0) & (p <= 100))
