import pytest

from automem_core.analysis.agreement import cohen_kappa, score_verdict


def test_kappa_matches_a_worked_example():
    # 20 items: both good 10, both bad 5, a good / b bad 3, a bad / b good 2.
    pairs = [("good", "good")] * 10 + [("bad", "bad")] * 5 + [("good", "bad")] * 3
    pairs += [("bad", "good")] * 2
    found = cohen_kappa(pairs)
    # p_o = 15/20 = .75; p_e = (13*12 + 7*8) / 400 = .53; kappa = .22 / .47
    assert found.pairs == 20 and found.agreed == 15
    assert found.kappa == pytest.approx(0.22 / 0.47)
    assert found.table[("good", "bad")] == 3


def test_kappa_is_undefined_without_pairs_or_with_one_verdict():
    assert cohen_kappa([]).kappa is None and cohen_kappa([]).observed is None
    assert cohen_kappa([("good", "good")] * 4).kappa is None
    assert cohen_kappa([("good", None), (None, "bad")]).pairs == 0


def test_score_implies_a_verdict():
    assert score_verdict(0.5) == "good" and score_verdict(0.0) == "bad"
