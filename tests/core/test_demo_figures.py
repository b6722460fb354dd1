"""``kreis demo`` ends with an analytics run: the first screens show figures, and the demo's
buying process (BG/NBD with drop-out, Gamma-Gamma spend) gives a plausible CLV fit."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command

from kreis.parties.models import Party

pytestmark = pytest.mark.django_db


def test_small_demo_ends_with_figures_and_a_plausible_clv_fit(capsys, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("demo", "--size", "small", "--seed", "3")
    out = capsys.readouterr().out
    assert "computing the customer figures" in out
    assert "CLV model fitted on" in out  # the fit, printed

    fit = apps.get_model("analytics", "ClvFit").objects.get()
    # Not on a bound: customers do drop out (a > 0), and not at a vanishing rate (b not huge).
    assert 0.05 < fit.a < 20
    assert fit.b < 100
    assert 0.05 < fit.a / (fit.a + fit.b) < 0.8  # mean drop-out probability per purchase
    assert 0.05 < fit.r < 20

    customers = Party.objects.filter(p_alive__isnull=False)
    assert customers.count() >= 50
    assert customers.filter(p_alive__lt=0.9).exists()  # some have probably left
    assert customers.filter(p_alive__gt=0.9).exists()
    assert Party.objects.exclude(abc_class="").exists()  # ABC classes stored for the lists
