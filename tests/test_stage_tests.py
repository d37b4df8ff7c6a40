"""The stage-resolved tests (HypothesisResult.stages): arithmetic against a direct computation with rsatoolbox,
and a case that fails at one stage next to one that does not."""

import warnings

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs, compare

import rsa_lineardyn as rl

STAGES = (1, 2, 3)


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


def _staged(task, *, wrong, n_subjects=6, noise=0.3, seed=0):
    """Per-subject RDMs at 3 stages of an aligned N_h = 4 network (t = 1, 2, 3), with noise.  ``wrong``: stage 1
    is replaced by the RDM of mode 4 with a tenth of mode 1's (the weaker mode learned first: no such network)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        V = rl.LinearNetworkModel(task, n_hidden=4, lam=0.0, init="aligned").predict_times([1.0, 2.0, 3.0], [0.0])
    labels = np.array(task.labels)
    if wrong:
        _, F = rl.feature_rdms(task, RDMs(V[:1], pattern_descriptors={"item": labels}), "modes")
        V = V.copy()
        V[0] = (F[3] / F[3].mean() + 0.1 * F[0] / F[0].mean()) * V[0].mean()
    rng = np.random.default_rng(seed)
    vecs, subj, stage = [], [], []
    for s in range(n_subjects):
        for k, v in enumerate(V):
            vecs.append(v + rng.normal(0, noise * v.std(), v.size))
            subj.append(f"s{s}")
            stage.append(STAGES[k])
    return RDMs(np.array(vecs), rdm_descriptors={"subject": np.array(subj), "stage": np.array(stage)},
                pattern_descriptors={"item": labels})


def _compare(data, task):
    return rl.compare_widths(data, task, widths=[4], init="aligned", n_times=15, n_lam=4)


def _direct_stage_scores(res, data, task):
    """Each subject's crossvalidated score at each stage, recomputed from the fold fits in ``res.folds`` with
    rsatoolbox's own ``compare``: {model: (n_subjects, 3)}."""
    model = rl.LinearNetworkModel(task, n_hidden=4, init="aligned", item_order=data)
    names, F = rl.feature_rdms(task, data, "modes")
    subjects = list(dict.fromkeys(data.rdm_descriptors["subject"]))
    out = {m: np.full((len(subjects), len(STAGES)), np.nan) for m in res.table["model"]}
    for r in res.folds.to_dict("records"):
        u = subjects.index(r["held_out"])
        for k, st in enumerate(STAGES):
            if r["model"].startswith("N_h="):
                pred = model.predict_times([r["rate"] * st], [r["lam"], 0.0])[0]
            else:
                pred = sum(r[f"w[{n}][{st}]"] * F[i] for i, n in enumerate(names))
            held = data.subset("subject", r["held_out"]).subset("stage", st)
            out[r["model"]][u, k] = compare(RDMs(pred[None]), held, method="corr")[0, 0]
    return out


def test_stage_table_equals_direct_computation(tree):
    """score_a / score_b / mean_diff from the fold fits and rsatoolbox's corr; sem from leaving each subject out."""
    data = _staged(tree, wrong=False, n_subjects=5, seed=3)
    res = _compare(data, tree)
    net, base = res.table["model"]
    st = res.stages
    assert list(st.columns[:3]) == ["model_a", "model_b", "stage"] and len(st) == 3
    assert list(st.stage) == list(STAGES) and (st.model_a == net).all() and (st.model_b == base).all()
    direct = _direct_stage_scores(res, data, tree)
    diff = direct[net] - direct[base]
    np.testing.assert_allclose(st.score_a, direct[net].mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(st.score_b, direct[base].mean(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(st.mean_diff, diff.mean(axis=0), rtol=0, atol=1e-9)
    subjects = list(dict.fromkeys(data.rdm_descriptors["subject"]))
    jack = np.array([_compare(data.subset("subject", [s for s in subjects if s != drop]), tree).stages.mean_diff
                     for drop in subjects])  # (n, 3): the stage differences with each subject left out entirely
    n = len(subjects)
    se = np.sqrt((n - 1) / n * ((jack - jack.mean(axis=0)) ** 2).sum(axis=0))
    np.testing.assert_allclose(st["sem"], se, rtol=1e-9, atol=1e-12)
    from scipy import stats

    p = 2 * stats.t.sf(np.abs(diff.mean(axis=0) / se), n - 1)
    np.testing.assert_allclose(st.p, p, rtol=1e-7)
    m = len(p)  # Holm over the whole family (here one pair x 3 stages)
    order = np.argsort(p)
    holm = np.empty(m)
    holm[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    np.testing.assert_allclose(st.p_corrected, holm, rtol=1e-9)
    assert (st.correction == "holm").all()


def test_wrong_order_fails_at_its_stage_and_the_network_truth_does_not(tree):
    bad = _compare(_staged(tree, wrong=True, n_subjects=8, seed=0), tree)
    st = bad.stages.set_index("stage")
    assert st.loc[1, "significant"] and st.loc[1, "mean_diff"] < -0.3  # stage 1: weaker mode first
    assert not st.loc[2, "significant"] and not st.loc[3, "significant"]  # later stages are the network's own
    assert any("fails at stage(s) 1:" in m for m in bad.messages)
    good = _compare(_staged(tree, wrong=False, n_subjects=8, seed=0), tree)
    assert not good.stages.significant.any()
    assert not any("fails at stage" in m for m in good.messages)


def test_one_stage_has_no_stage_table(tree):
    data = _staged(tree, wrong=False, n_subjects=5, seed=1)
    res = _compare(data.subset("stage", 3), tree)
    assert res.stages is None and res.settings["n_stages"] == 1


def test_separate_scoring_stage_scores_are_the_rdm_scores(tree):
    """stage_scale='separate': each stage's score is the RDM's own score, so a unit's whole-trajectory score is the
    mean of its stage scores (one RDM per stage)."""
    data = _staged(tree, wrong=True, n_subjects=6, seed=2)
    res = rl.compare_widths(data, tree, widths=[4], init="aligned", n_times=15, n_lam=4, stage_scale="separate")
    assert res.settings["stage_scale"] == "separate"
    net, base = res.table["model"]
    for model, per in ((net, res.stages.score_a), (base, res.stages.score_b)):
        whole = res.table.set_index("model").loc[model, "mean"]
        assert whole == pytest.approx(per.mean(), abs=1e-12)
    assert res.stages.set_index("stage").loc[1, "significant"]


def test_plot_stage_tests_marks_the_significant_column(tree):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rsa_lineardyn.plotting import plot_stage_tests
    from rsa_lineardyn.plotting.hypotheses import STAGE_MARK_GID

    res = _compare(_staged(tree, wrong=True, n_subjects=6, seed=0), tree)
    fig, ax = plot_stage_tests(res)
    marked = [ln for ln in ax.lines if ln.get_gid() == STAGE_MARK_GID]
    n_marked = sum(len(ln.get_xdata()) for ln in marked)
    assert n_marked == int(res.stages["significant"].sum()) >= 1
    plt.close(fig)
    with pytest.raises(ValueError, match="one stage"):
        plot_stage_tests(_compare(_staged(tree, wrong=False, n_subjects=5, seed=1).subset("stage", 3), tree))


def test_cli_compare_prints_and_writes_the_stage_table(tmp_path, capsys):
    import json

    from rsa_lineardyn.cli.app import main
    from rsa_lineardyn.cli.inputs import load_data_rdms

    task = rl.load_semantic_task()
    V = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([1.5, 3.0, 4.5], [0.0])
    rng = np.random.default_rng(0)
    vecs = [np.abs(v + 0.3 * v.std() * rng.standard_normal(v.size)) for _ in range(5) for v in V]
    data = RDMs(np.array(vecs), dissimilarity_measure="squared euclidean",
                rdm_descriptors={"subject": np.repeat([f"p{i}" for i in range(5)], 3), "stage": np.tile(STAGES, 5)},
                pattern_descriptors={"item": np.array(task.labels)})
    path = tmp_path / "staged.hdf5"
    data.save(str(path), file_type="hdf5")
    out = tmp_path / "o"
    assert main(["compare", str(path), "--task", "semantic", "--widths", "2", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "per stage (each pair at each stage" in printed and "score_a" in printed
    info = json.loads((out / "staged_hdf5_compare_widths.json").read_text())
    lib = rl.compare_widths(load_data_rdms(str(path)), task, widths=[2], progress=False)
    assert [r["stage"] for r in info["stages"]] == list(STAGES) == list(lib.stages.stage)
    np.testing.assert_allclose([r["mean_diff"] for r in info["stages"]], lib.stages.mean_diff, rtol=1e-12)
    np.testing.assert_allclose([r["p_corrected"] for r in info["stages"]], lib.stages.p_corrected, rtol=1e-12)


def test_shaffer_request_is_holm_over_pairs_and_stages(tree):
    from rsa_lineardyn.inference.multiplicity import correct_pvalues

    data = _staged(tree, wrong=True, n_subjects=6, seed=4)
    res = rl.compare_widths(data, tree, widths=[2, 4], init="aligned", n_times=15, n_lam=4, correction="shaffer")
    st = res.stages
    assert len(st) == 3 * 3 and (st.correction == "holm").all()  # 3 pairs x 3 stages, one family
    np.testing.assert_array_equal(st.p_corrected, correct_pvalues(st.p.to_numpy(), "holm"))
    assert (res.pairwise.correction == "shaffer").all()  # the whole-trajectory table keeps the requested method
